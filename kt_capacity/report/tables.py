"""Rich renderables of a search summary: the trial table and the recommendation."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kt_capacity.records import trial_label
from kt_capacity.scoring import cost_efficiency, format_efficiency

VERDICT_STYLE = {
    "underfit": "yellow",
    "still_improving": "cyan",
    "balanced": "green",
    "overfit": "red",
}


def _count(value: float) -> str:
    """Compact count: 950, 174k, 1.23M."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.0f}k" if value >= 1e4 else f"{int(value)}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _efficiencies(trials: list[dict], cost: str) -> dict[str, str]:
    """Cost-efficiency of each completed trial from the cheaper neighbour it grew from.

    The step is taken from the most accurate completed trial of the same family
    that is strictly cheaper (the anchor the policy would have grown from).
    """
    done = [t for t in trials if t["status"] == "COMPLETED"]
    out = {}
    for t in done:
        cheaper = [
            s
            for s in done
            if s["family"] == t["family"] and s["metrics"][cost] < t["metrics"][cost]
        ]
        if not cheaper:
            out[t["trial_id"]] = "base"
            continue
        a = max(cheaper, key=lambda s: s["metrics"]["val_accuracy"])
        eff = cost_efficiency(
            a["metrics"]["val_accuracy"],
            a["metrics"][cost],
            t["metrics"]["val_accuracy"],
            t["metrics"][cost],
        )
        out[t["trial_id"]] = format_efficiency(eff)
    return out


def trial_table(summary: dict) -> Table:
    """Every trial of a search: configuration, cost, accuracies, verdict, efficiency.

    The efficiency column is the step from the most accurate cheaper trial of the
    same family; the recommended trial is marked with a star.
    """
    cost = summary.get("cost", "params")
    table = Table(
        title="Capacity trials",
        box=box.SIMPLE_HEAVY,
        header_style="bold",
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        caption=f"train/val accuracy in %, gap in pts; d depth, w width; eff. = val "
        f"pts gained per % {cost} growth from the best cheaper trial of the family",
    )
    for name, justify in [
        ("#", "right"),
        ("family", "left"),
        ("d", "right"),
        ("w", "right"),
        ("params", "right"),
        ("train", "right"),
        ("val", "right"),
        ("gap", "right"),
        ("diagnosis", "left"),
        ("eff.", "right"),
        ("s", "right"),
    ]:
        table.add_column(
            name,
            justify=justify,
            no_wrap=True,
            max_width=24 if name == "diagnosis" else None,
            overflow="ellipsis",
        )
    rec = (summary.get("recommendation") or {}).get("trial_id")
    effs = _efficiencies(summary["trials"], cost)
    for t in summary["trials"]:
        m = t["metrics"]
        mark = "*" if t["trial_id"] == rec else ""
        if t["status"] != "COMPLETED":
            table.add_row(
                f"{t['trial_id']}{mark}",
                t["family"],
                str(t["depth"]),
                str(t["width"]),
                "-",
                "-",
                "-",
                "-",
                Text(f"failed: {t.get('message') or 'unknown error'}", style="red"),
                "-",
                "-",
            )
            continue
        verdict = t["verdict"] or "-"
        table.add_row(
            f"{t['trial_id']}{mark}",
            t["family"],
            str(t["depth"]),
            str(t["width"]),
            _count(m["params"]),
            _pct(m.get("accuracy")),
            _pct(m.get("val_accuracy")),
            f"{100 * m['gap']:+.1f}",
            Text(verdict.replace("still_", ""), style=VERDICT_STYLE.get(verdict, "")),
            effs[t["trial_id"]],
            f"{m['seconds']:.0f}",
            style="bold" if mark else None,
        )
    return table


def recommendation_panel(summary: dict) -> Panel:
    """Which configuration to use and why, with its diagnosis and next move."""
    rec = summary.get("recommendation")
    if rec is None:
        return Panel(
            "No trial has completed yet: nothing to recommend.",
            title="Recommendation",
            border_style="yellow",
        )
    trial = next(t for t in summary["trials"] if t["trial_id"] == rec["trial_id"])
    best = next(t for t in summary["trials"] if t["trial_id"] == summary["best"])
    cost = summary.get("cost", "params")
    lines = [
        Text.assemble(
            ("Use ", ""),
            (rec["label"], "bold green"),
            (
                f": val accuracy {100 * rec['val_accuracy']:.1f} % with "
                f"{int(rec[cost]):,} {cost} (trial {rec['trial_id']}).",
                "",
            ),
        ),
        Text(f"Why: {rec['reason']}"),
    ]
    if best["trial_id"] != trial["trial_id"]:
        bm = best["metrics"]
        lines.append(
            Text(
                f"The most accurate trial, {trial_label(best)}, reaches "
                f"{100 * bm['val_accuracy']:.1f} % with {int(bm[cost]):,} {cost}: "
                "more cost than its accuracy is worth at this threshold "
                f"({summary['threshold']:g}).",
                style="dim",
            )
        )
    verdict = trial["verdict"]
    lines.append(
        Text.assemble(
            ("Fit: ", ""),
            (verdict, VERDICT_STYLE.get(verdict, "")),
            (f" ({trial['evidence'][0]})" if trial["evidence"] else "", ""),
        )
    )
    if trial["next_moves"]:
        lines.append(Text(f"Next move: {trial['next_moves'][0]}"))
    if summary.get("stop_reason"):
        lines.append(Text(f"Search stopped: {summary['stop_reason']}.", style="dim"))
    return Panel(Group(*lines), title="Recommendation", border_style="green")
