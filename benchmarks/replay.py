"""Replay any Keras Tuner Oracle against a capacity table, without training.

A table (made by `benchmarks.capacity_table`) holds, for every configuration of a
grid, the per-epoch train/val accuracy and loss of one training run. The harness
drives an Oracle the way `BaseTuner.search` does (`create_trial`, `update_trial`,
`end_trial`, in a temporary project directory, verbose off) and answers each
trial by lookup: a trial asking for `e` epochs (the table's epochs, or
`tuner/epochs` for multi-fidelity oracles) gets the metrics of the epoch prefix
`[:e]`: best val accuracy (the objective, as `CapacityTuner` reports it), final
train/val accuracy and loss, params, FLOPs and the fit verdict of `diagnose()`
on that prefix.

Epoch accounting: a trial costs `e` epochs, or `e - tuner/initial_epoch` when it
names a `tuner/trial_id` to continue from (Keras Tuner's Hyperband reloads that
trial's checkpoint; the same rule applies to every oracle). Regret is the table's
best val accuracy minus the best val accuracy the search has seen so far, as a
function of the epochs spent; the knee distance is the number of grid steps
(|depth index| + |width index|) from the knee of the configurations seen to the
knee of the whole table (`kt_capacity.scoring.knee`, cost = params).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module

from kt_capacity.diagnosis import diagnose, verdict_code
from kt_capacity.oracle import CapacityOracle
from kt_capacity.scoring import DEFAULT_THRESHOLD, Candidate, knee
from kt_capacity.space import Config

STRATEGIES = ("capacity", "capacity_knee", "random", "bayesian", "hyperband", "grid")
OBJECTIVE = kt.Objective("val_accuracy", "max")


@dataclass
class Table:
    """A capacity table: per-configuration training records of one protocol.

    Attributes:
        name: the table's name.
        epochs: epochs every cell was trained for.
        cells: {Config: record} with params, flops, seconds and history.
        protocol: how the table was made.
    """

    name: str
    epochs: int
    cells: dict
    protocol: dict

    @classmethod
    def load(cls, path) -> Table:
        """Read a table written by `benchmarks.capacity_table`.

        Raises:
            ValueError: if the table holds no cell.
        """
        raw = json.loads(Path(path).read_text())
        cells = {Config(c["family"], c["depth"], c["width"]): c for c in raw["cells"]}
        if not cells:
            raise ValueError(f"Invalid table {path}: it holds no cell.")
        return cls(raw["name"], raw["protocol"]["epochs"], cells, raw["protocol"])

    @property
    def families(self) -> list[str]:
        return sorted({c.family for c in self.cells})

    @property
    def depths(self) -> list[int]:
        return sorted({c.depth for c in self.cells})

    @property
    def widths(self) -> list[int]:
        return sorted({c.width for c in self.cells})

    def complete(self) -> Table:
        """The largest full sub-grid: all depths x the widths every depth has."""
        widths = [
            w
            for w in self.widths
            if all(
                Config(f, d, w) in self.cells
                for f in self.families
                for d in self.depths
            )
        ]
        cells = {c: r for c, r in self.cells.items() if c.width in widths}
        return Table(self.name, self.epochs, cells, self.protocol)

    def val_acc(self, config: Config, epochs: int | None = None) -> float:
        """Best val accuracy of `config` over its first `epochs` epochs."""
        hist = self.cells[config]["history"]["val_accuracy"]
        return max(hist[: epochs or self.epochs])

    @property
    def best_val(self) -> float:
        return max(self.val_acc(c) for c in self.cells)

    @property
    def best_config(self) -> Config:
        return max(self.cells, key=self.val_acc)

    @property
    def grid_epochs(self) -> int:
        """The grid's budget: every cell trained for the table's epochs."""
        return len(self.cells) * self.epochs

    def knee_config(self, threshold: float = DEFAULT_THRESHOLD) -> Config:
        """The knee of the whole table (cost = params)."""
        return knee_of({c: self.val_acc(c) for c in self.cells}, self, threshold)

    def metrics(self, config: Config, epochs: int) -> dict:
        """The trial metrics `CapacityTuner` would report after `epochs` epochs."""
        cell = self.cells[config]
        hist = {k: v[:epochs] for k, v in cell["history"].items()}
        verdict = diagnose(hist, depth=config.depth, width=config.width).verdict
        return {
            "val_accuracy": max(hist["val_accuracy"]),
            "final_val_accuracy": hist["val_accuracy"][-1],
            "accuracy": hist["accuracy"][-1],
            "loss": hist["loss"][-1],
            "val_loss": hist["val_loss"][-1],
            "gap": hist["accuracy"][-1] - hist["val_accuracy"][-1],
            "params": float(cell["params"]),
            "flops": float(cell["flops"]),
            "fit_verdict": verdict_code(verdict),
        }

    def hyperparameters(self) -> kt.HyperParameters:
        """The space as `CapacityHyperModel.declare_hyperparameters` declares it."""
        hp = kt.HyperParameters()
        hp.Choice("family", self.families, default=self.families[0])
        hp.Choice("depth", self.depths, default=self.depths[0])
        hp.Choice("width", self.widths, default=self.widths[0])
        return hp


def knee_of(seen: dict, table: Table, threshold: float = DEFAULT_THRESHOLD) -> Config:
    """Knee configuration of {Config: val_acc} with the table's params as cost."""
    cands = [Candidate(c, acc, table.cells[c]["params"]) for c, acc in seen.items()]
    return knee(cands, threshold).candidate.key


def grid_distance(a: Config, b: Config, table: Table) -> int:
    """Steps along the grid's axes between two configurations (L1 on indices)."""
    d, w = table.depths, table.widths
    return (
        abs(d.index(a.depth) - d.index(b.depth))
        + abs(w.index(a.width) - w.index(b.width))
        + (a.family != b.family)
    )


def make_oracle(strategy: str, table: Table, seed: int, max_trials: int = 1000):
    """A fresh Oracle of `strategy` for the table's space.

    Raises:
        ValueError: for an unknown strategy.
    """
    hp = table.hyperparameters()
    common = dict(objective=OBJECTIVE, seed=seed, hyperparameters=hp)
    if strategy in ("capacity", "capacity_knee"):
        return CapacityOracle(
            max_trials=max_trials,
            seed=seed,
            explore=strategy == "capacity",
            hyperparameters=hp,
        )
    if strategy == "random":
        return kt.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if strategy == "bayesian":
        return kt.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    if strategy == "grid":
        return kt.oracles.GridSearchOracle(max_trials=max_trials, **common)
    if strategy == "hyperband":
        return kt.oracles.HyperbandOracle(
            max_epochs=table.epochs, factor=3, hyperband_iterations=1000, **common
        )
    raise ValueError(
        f"Invalid value for argument `strategy`. Expected one of {list(STRATEGIES)}. "
        f"Received strategy={strategy!r}."
    )


@dataclass
class Run:
    """One replayed search.

    Attributes:
        strategy: the oracle's name.
        seed: the oracle's seed.
        trials: (config, epochs asked, epochs charged, val acc seen, epochs spent)
            per trial.
        trace: (epochs spent, best val acc so far) after each trial.
        stopped: whether the oracle stopped by itself before the budget.
    """

    strategy: str
    seed: int
    trials: list = field(default_factory=list)
    trace: list = field(default_factory=list)
    stopped: bool = False

    @property
    def epochs(self) -> int:
        return self.trace[-1][0] if self.trace else 0

    def best_at(self, budget: float) -> float | None:
        """Best val acc seen within `budget` epochs (None before any trial)."""
        best = None
        for spent, acc in self.trace:
            if spent > budget:
                break
            best = acc
        return best

    def regret_at(self, table: Table, budget: float) -> float:
        """Table best minus best seen within `budget` epochs (1.0 before any)."""
        best = self.best_at(budget)
        return table.best_val - (best if best is not None else 0.0)

    def epochs_to_within(self, table: Table, points: float) -> int | None:
        """Epochs spent when the best seen got within `points` of the table best."""
        for spent, acc in self.trace:
            if table.best_val - acc <= points / 100 + 1e-12:
                return spent
        return None

    def knee_distance(self, table: Table, budget: float | None = None) -> int | None:
        """Grid steps from the knee of what was seen within `budget` to the table's."""
        seen = {}
        for config, _, _, acc, spent in self.trials:
            if budget is not None and spent > budget:
                break
            seen[config] = max(acc, seen.get(config, 0.0))
        if not seen:
            return None
        return grid_distance(knee_of(seen, table), table.knee_config(), table)


def replay(oracle, table: Table, budget: float, *, strategy="", seed=0) -> Run:
    """Drive `oracle` against `table` until it stops or `budget` epochs are spent.

    A trial that would end past the budget is not charged nor shown to the oracle.

    Returns:
        The `Run`.
    """
    logging.getLogger("tensorflow").setLevel("ERROR")
    run = Run(strategy, seed)
    best = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        oracle._set_project_dir(tmp, "replay")
        oracle.verbose = 0
        oracle._display.verbose = 0
        idle = 0
        while True:
            trial = oracle.create_trial("replay")
            if trial.status == trial_module.TrialStatus.STOPPED:
                run.stopped = True
                break
            if trial.status == trial_module.TrialStatus.IDLE:
                idle += 1
                if idle > 10:
                    raise RuntimeError(f"{strategy} oracle stays IDLE")
                continue
            idle = 0
            values = trial.hyperparameters.values
            config = Config(
                values["family"], int(values["depth"]), int(values["width"])
            )
            epochs = int(values.get("tuner/epochs", table.epochs))
            epochs = max(1, min(epochs, table.epochs))
            charged = epochs
            if values.get("tuner/trial_id") is not None:
                charged = epochs - int(values.get("tuner/initial_epoch", 0))
            if run.epochs + charged > budget:
                break
            if config not in table.cells:
                trial.status = trial_module.TrialStatus.FAILED
                trial.message = f"{config.label} is not in the table"
                oracle.end_trial(trial)
                continue
            metrics = table.metrics(config, epochs)
            oracle.update_trial(trial.trial_id, metrics, step=0)
            trial.status = trial_module.TrialStatus.COMPLETED
            oracle.end_trial(trial)
            best = max(best, metrics["val_accuracy"])
            spent = run.epochs + charged
            run.trials.append((config, epochs, charged, metrics["val_accuracy"], spent))
            run.trace.append((spent, best))
    return run


def replay_strategy(strategy: str, table: Table, seed: int, budget=None) -> Run:
    """Replay a fresh `strategy` oracle with `seed` (default budget: the grid's)."""
    budget = table.grid_epochs if budget is None else budget
    oracle = make_oracle(strategy, table, seed)
    return replay(oracle, table, budget, strategy=strategy, seed=seed)
