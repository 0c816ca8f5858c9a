"""Search efficiency: every strategy replayed on a capacity table, over seeds.

For each strategy (CapacityOracle and Keras Tuner's RandomSearch, Bayesian
optimisation, Hyperband and GridSearch oracles) it replays `--seeds` searches on
the table (`benchmarks.replay`, no training) with the full grid's epoch budget
(cells x epochs) and prints the median [quartiles] over seeds of: the epochs
spent to get within 0.5 point of the table's best val accuracy, the regret
(points) at 10 %, 30 % and 100 % of the grid's budget, and the grid steps from
the knee of what was seen to the table's knee. A partial table is cut to its
largest full sub-grid.

    python -m benchmarks.search_efficiency --table benchmarks/data/fmnist_plain_2k.json
    python -m benchmarks.search_efficiency --smoke
"""

from __future__ import annotations

import argparse
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np

from benchmarks.replay import STRATEGIES, Table, replay_strategy

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "fmnist_plain_2k.json"
FRACTIONS = (0.1, 0.3, 1.0)
WITHIN_POINTS = 0.5


def quartiles(values) -> tuple[float, float, float]:
    """(25th, 50th, 75th) percentiles; inf values (never reached) sort last."""
    arr = np.asarray(values, dtype=float)
    q = np.percentile(arr, [25, 50, 75], method="lower")
    return tuple(float(v) for v in q)


def evaluate(table: Table, strategies=STRATEGIES, seeds: int = 10) -> dict:
    """Replay each strategy `seeds` times on `table`.

    Returns:
        {strategy: {"to_within": [...], "regret@f": [...], "knee": [...],
        "epochs": [...], "stopped": [...]}}, regrets in points, inf when the
        search never got within the target.
    """
    out = {}
    for strategy in strategies:
        rows = {"to_within": [], "knee": [], "epochs": [], "stopped": []}
        rows.update({f"regret@{f:g}": [] for f in FRACTIONS})
        for seed in range(seeds):
            run = replay_strategy(strategy, table, seed)
            reached = run.epochs_to_within(table, WITHIN_POINTS)
            rows["to_within"].append(math.inf if reached is None else reached)
            for f in FRACTIONS:
                regret = run.regret_at(table, f * table.grid_epochs)
                rows[f"regret@{f:g}"].append(100 * regret)
            rows["knee"].append(run.knee_distance(table))
            rows["epochs"].append(run.epochs)
            rows["stopped"].append(run.stopped)
        out[strategy] = rows
    return out


def _fmt(q, digits=1) -> str:
    def one(v):
        return "never" if math.isinf(v) else f"{v:.{digits}f}"

    return f"{one(q[1])} [{one(q[0])}-{one(q[2])}]"


def report(table: Table, results: dict, seeds: int) -> str:
    """The results as a plain-text table (median [25th-75th percentile])."""
    best = table.best_config
    lines = [
        f"table {table.name}: {len(table.cells)} cells x {table.epochs} epochs = "
        f"grid budget {table.grid_epochs} epochs; best val "
        f"{100 * table.best_val:.2f} % at {best.label}; knee "
        f"{table.knee_config().label}; {seeds} seeds; median [25th-75th pct]",
        f"{'strategy':<13} {'epochs to <=0.5 pt':>20} "
        + " ".join(f"{f'regret@{int(100 * f)}% (pt)':>18}" for f in FRACTIONS)
        + f" {'knee dist':>11} {'epochs used':>13}",
    ]
    for strategy, rows in results.items():
        within = _fmt(quartiles(rows["to_within"]), 0)
        regrets = " ".join(
            f"{_fmt(quartiles(rows[f'regret@{f:g}']), 2):>18}" for f in FRACTIONS
        )
        knees = [k if k is not None else math.inf for k in rows["knee"]]
        lines.append(
            f"{strategy:<13} {within:>20} {regrets} "
            f"{_fmt(quartiles(knees), 0):>11} "
            f"{_fmt(quartiles(rows['epochs']), 0):>13}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="build the capacity_table smoke table in a tmp dir, 2 seeds",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, received {args.seeds}")
    strategies = tuple(args.strategies.split(","))
    # The Bayesian oracle's GP warns about length scales on this small lattice.
    warnings.filterwarnings("ignore", module="sklearn")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.table
        if args.smoke:
            from benchmarks import capacity_table

            path = Path(tmp) / "smoke.json"
            capacity_table.main(["--smoke", "--out", str(path)])
            args.seeds = min(args.seeds, 2)
        table = Table.load(path).complete()
        results = evaluate(table, strategies, args.seeds)
    print(report(table, results, args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
