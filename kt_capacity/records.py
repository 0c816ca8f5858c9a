"""Trial records and the search summary, as JSON in the tuner's project folder.

Everything a report needs is read back from the folder alone (Keras Tuner's
`oracle.json` and `trial_*/trial.json`, plus this module's `capacity.json` per
trial), so a finished or interrupted search can be re-rendered without training.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kt_capacity.diagnosis import verdict_code
from kt_capacity.scoring import DEFAULT_THRESHOLD, Candidate, knee, pareto_front
from kt_capacity.space import Config

RECORD_FILE = "capacity.json"
SUMMARY_FILE = "summary.json"


@dataclass
class TrialRecord:
    """What one finished trial measured and concluded."""

    trial_id: str
    family: str
    depth: int
    width: int
    status: str
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    verdict: str | None = None
    evidence: list[str] = field(default_factory=list)
    next_moves: list[str] = field(default_factory=list)
    gradients: dict[str, dict[str, float]] = field(default_factory=dict)
    gradient_flags: list[dict] = field(default_factory=list)
    message: str | None = None

    @property
    def label(self) -> str:
        return Config(self.family, self.depth, self.width).label


def trial_label(trial: dict) -> str:
    """The configuration label ("plain d3 w32") of a trial dict from a summary."""
    return Config(trial["family"], trial["depth"], trial["width"]).label


def fit_metrics(
    history: dict, verdict: str, params: float, flops: float, seconds: float
) -> dict[str, float]:
    """The trial metrics of one fit: objective (best val accuracy), final figures,
    gap, cost and the verdict code, all plain floats (they travel over gRPC)."""
    metrics = {
        "val_accuracy": max(history["val_accuracy"]),
        "final_val_accuracy": history["val_accuracy"][-1],
        "accuracy": history["accuracy"][-1],
        "loss": history["loss"][-1],
        "val_loss": history["val_loss"][-1],
        "gap": history["accuracy"][-1] - history["val_accuracy"][-1],
        "params": params,
        "flops": flops,
        "fit_verdict": verdict_code(verdict),
        "seconds": seconds,
    }
    return {k: float(v) for k, v in metrics.items()}


def flag_dicts(flags) -> list[dict]:
    """Gradient flags as JSON-ready dicts."""
    return [
        {"kind": f.kind, "layers": list(f.layers), "evidence": f.evidence}
        for f in flags
    ]


def _write_json(path: Path, data) -> None:
    """Write atomically (a kill never leaves a half-written file), with a temporary
    name of this process's own, so parallel workers never collide."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=True))
    os.replace(tmp, path)


def save_trial_record(trial_dir: str | os.PathLike, record: TrialRecord) -> None:
    """Write `record` as `capacity.json` in `trial_dir`."""
    path = Path(trial_dir)
    path.mkdir(parents=True, exist_ok=True)
    _write_json(path / RECORD_FILE, asdict(record))


def save_summary(project_dir: str | os.PathLike, summary: dict) -> None:
    """Write `summary.json` in the project folder."""
    _write_json(Path(project_dir) / SUMMARY_FILE, summary)


def find_project_dir(directory: str | os.PathLike) -> Path:
    """The Keras Tuner project folder at or directly below `directory`.

    Raises:
        FileNotFoundError: when neither holds an `oracle.json`.
    """
    root = Path(directory)
    if (root / "oracle.json").is_file():
        return root
    found = sorted(p.parent for p in root.glob("*/oracle.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise FileNotFoundError(
            f"no search found in '{directory}': expected an oracle.json in it or in "
            "one of its sub-folders"
        )
    raise FileNotFoundError(
        f"several searches in '{directory}': pass one of {[str(p) for p in found]}"
    )


def load_trials(project_dir: str | os.PathLike) -> list[TrialRecord]:
    """Every trial of the project with a known outcome, in trial-id order.

    Completed trials come from their `capacity.json`; failed ones from Keras
    Tuner's `trial.json` (with its message). Trials still running are left out.
    """
    out = []
    for trial_json in sorted(Path(project_dir).glob("trial_*/trial.json")):
        kt_trial = json.loads(trial_json.read_text())
        values = kt_trial["hyperparameters"]["values"]
        status = kt_trial.get("status")
        record_path = trial_json.parent / RECORD_FILE
        if status == "COMPLETED" and record_path.is_file():
            out.append(TrialRecord(**json.loads(record_path.read_text())))
        elif status in ("FAILED", "INVALID"):
            message = (kt_trial.get("message") or "").strip().splitlines()
            out.append(
                TrialRecord(
                    trial_id=kt_trial["trial_id"],
                    family=values.get("family", "?"),
                    depth=int(values.get("depth", 0)),
                    width=int(values.get("width", 0)),
                    status="FAILED",
                    message=message[-1] if message else None,
                )
            )
    return out


def summarize(project_dir: str | os.PathLike, oracle_state: dict | None = None) -> dict:
    """The search summary: trials, Pareto front, best trial and the recommended knee.

    Args:
        project_dir: the Keras Tuner project folder.
        oracle_state: the CapacityOracle state; read from `oracle.json` when None.
    """
    project_dir = Path(project_dir)
    if oracle_state is None:
        oracle_file = project_dir / "oracle.json"
        oracle_state = (
            json.loads(oracle_file.read_text()) if oracle_file.is_file() else {}
        )
    threshold = oracle_state.get("threshold", DEFAULT_THRESHOLD)
    cost = oracle_state.get("cost", "params")
    reasons = oracle_state.get("reasons", {})
    trials = load_trials(project_dir)
    for t in trials:
        t.reason = t.reason or reasons.get(t.trial_id)
    done = [t for t in trials if t.status == "COMPLETED"]
    candidates = [
        Candidate(t.label, t.metrics["val_accuracy"], t.metrics[cost]) for t in done
    ]
    summary = {
        "project_dir": str(project_dir),
        "threshold": threshold,
        "cost": cost,
        "stop_reason": oracle_state.get("stop_reason"),
        "excluded": oracle_state.get("excluded", {}),
        "trials": [asdict(t) for t in trials],
        "pareto": [],
        "best": None,
        "recommendation": None,
    }
    if candidates:
        by_label = {t.label: t for t in done}
        best = max(candidates, key=lambda c: c.val_acc)
        k = knee(candidates, threshold)
        summary["pareto"] = [by_label[c.key].trial_id for c in pareto_front(candidates)]
        summary["best"] = by_label[best.key].trial_id
        summary["recommendation"] = {
            "trial_id": by_label[k.candidate.key].trial_id,
            "label": k.candidate.key,
            "val_accuracy": k.candidate.val_acc,
            cost: k.candidate.cost,
            "reason": k.reason,
        }
    return summary


def load_summary(directory: str | os.PathLike) -> dict:
    """Rebuild the summary of the search in `directory` from its files."""
    return summarize(find_project_dir(directory))
