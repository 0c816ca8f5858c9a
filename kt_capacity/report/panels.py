"""Rich renderable of one fit diagnosis: verdict, evidence, next moves, gradients."""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kt_capacity.diagnosis import Diagnosis
from kt_capacity.report.tables import VERDICT_STYLE

FLAG_STYLE = {"vanishing": "yellow", "exploding": "red", "nonfinite": "bold red"}


def _flag_dicts(flags) -> list[dict]:
    return [
        f
        if isinstance(f, Mapping)
        else {"kind": f.kind, "layers": list(f.layers), "evidence": f.evidence}
        for f in flags
    ]


def _fields(diagnosis: Diagnosis | Mapping) -> tuple:
    if isinstance(diagnosis, Diagnosis):
        return (
            diagnosis.verdict,
            list(diagnosis.evidence),
            list(diagnosis.next_moves),
            _flag_dicts(diagnosis.gradient_flags),
            {},
        )
    if not isinstance(diagnosis, Mapping) or not diagnosis.get("verdict"):
        raise ValueError(
            "Invalid value for argument `diagnosis`. Expected a Diagnosis or a "
            "record dict with a 'verdict'. Received "
            f"diagnosis={type(diagnosis).__name__}"
            + ("" if not isinstance(diagnosis, Mapping) else " without a verdict")
            + "."
        )
    return (
        diagnosis["verdict"],
        list(diagnosis.get("evidence") or []),
        list(diagnosis.get("next_moves") or []),
        _flag_dicts(diagnosis.get("gradient_flags") or []),
        dict(diagnosis.get("metrics") or {}),
    )


def _metrics_line(metrics: Mapping, epochs: int) -> Text | None:
    if "accuracy" not in metrics or "val_accuracy" not in metrics:
        return None
    train = metrics["accuracy"]
    val = metrics.get("final_val_accuracy", metrics["val_accuracy"])
    parts = [f"train {100 * train:.1f} %", f"val {100 * val:.1f} %"]
    parts.append(f"gap {100 * (train - val):+.1f} pts")
    if "params" in metrics:
        parts.append(f"{int(metrics['params']):,} params")
    if epochs:
        parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''}")
    if "seconds" in metrics:
        parts.append(f"{metrics['seconds']:.0f} s")
    return Text("After training: " + ", ".join(parts), style="dim")


def _bullets(items: list[Text], numbered: bool = False) -> Table:
    """A list with a hanging indent: wrapped lines align after the marker."""
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    for i, item in enumerate(items or [Text("(none)", style="dim")], 1):
        grid.add_row(f"  {i}." if numbered and items else "  -", item)
    return grid


def _gradient_spread(diagnosis) -> str | None:
    """Range of the latest per-layer mean |g| of a record, or None without stats."""
    if not isinstance(diagnosis, Mapping):
        return None
    means = {
        layer: stats["mean_abs"]
        for layer, stats in (diagnosis.get("gradients") or {}).items()
        if math.isfinite(stats.get("mean_abs", math.nan))
    }
    if not means:
        return None
    lo = min(means, key=means.__getitem__)
    hi = max(means, key=means.__getitem__)
    return (
        f"mean |g| per layer spans {means[lo]:.1e} ({lo}) to {means[hi]:.1e} ({hi}) "
        f"over {len(means)} layers"
    )


def diagnosis_panel(diagnosis: Diagnosis | Mapping, label: str) -> Panel:
    """The fit diagnosis of one model: verdict, evidence, gradient findings, next moves.

    Args:
        diagnosis: a `kt_capacity.diagnosis.Diagnosis`, or a trial record dict
            (keys verdict, evidence, next_moves, gradient_flags and optionally
            metrics and history, as in a search summary or `run_diagnosis`).
        label: the model's name, shown in the title.

    Returns:
        A `rich.panel.Panel` bordered in the verdict's colour.

    Raises:
        ValueError: if `diagnosis` is neither a Diagnosis nor a record with a
            verdict.
    """
    verdict, evidence, moves, flags, metrics = _fields(diagnosis)
    style = VERDICT_STYLE.get(verdict, "")
    epochs = 0
    if isinstance(diagnosis, Mapping):
        epochs = len((diagnosis.get("history") or {}).get("val_accuracy") or [])
    lines: list = [
        Text.assemble(
            ("Verdict: ", "bold"), (verdict.replace("_", " "), f"bold {style}")
        )
    ]
    metrics_line = _metrics_line(metrics, epochs)
    if metrics_line is not None:
        lines.append(metrics_line)
    # The diagnosis repeats each gradient flag as evidence: show it once, below.
    shown = {
        f"{f['kind']} gradients in {', '.join(f['layers'])}: {f['evidence']}"
        for f in flags
    }
    evidence = [e for e in evidence if e not in shown]
    lines.append(Text("Evidence:", style="bold"))
    lines.append(_bullets([Text(e) for e in evidence]))
    lines.append(Text("Gradient findings:", style="bold"))
    findings = [
        Text.assemble(
            (f["kind"], FLAG_STYLE.get(f["kind"], "")),
            f" in {', '.join(f['layers'])}: {f['evidence']}",
        )
        for f in flags
    ] or [Text("no vanishing, exploding or non-finite gradients")]
    spread = _gradient_spread(diagnosis)
    if spread is not None:
        findings.append(Text(spread, style="dim"))
    lines.append(_bullets(findings))
    lines.append(Text("Next moves:", style="bold"))
    lines.append(_bullets([Text(m) for m in moves], numbered=True))
    return Panel(
        Group(*lines), title=f"Diagnosis: {label}", border_style=style or "none"
    )
