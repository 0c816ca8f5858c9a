"""Rich renderable of gradient health: per-layer latest stats, trend, flags."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from kt_capacity.gradient_health import GradientFlag

BLOCKS = "▁▂▃▄▅▆▇█"
FLAG_STYLE = {"vanishing": "yellow", "exploding": "red", "nonfinite": "bold red"}


def sparkline(values: Sequence[float], length: int = 16) -> str:
    """Unicode-block trend of the last `length` values, on a log10 scale.

    Gradient magnitudes span decades, so the blocks map log10(value) between the
    smallest and largest positive finite value shown. A constant series is drawn at
    mid height; a non-finite value is drawn as "!", a value <= 0 as "_".

    Args:
        values: the series, oldest first.
        length: how many of the latest values to draw, >= 1.

    Returns:
        A string of at most `length` characters.

    Raises:
        ValueError: if `length` < 1.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(
            "Invalid value for argument `length`. Expected an integer >= 1. "
            f"Received length={length!r}"
        )
    shown = list(values)[-length:]
    logs = [math.log10(v) for v in shown if math.isfinite(v) and v > 0]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
    chars = []
    for v in shown:
        if not math.isfinite(v):
            chars.append("!")
        elif v <= 0:
            chars.append("_")
        elif hi == lo:
            chars.append(BLOCKS[len(BLOCKS) // 2])
        else:
            level = (math.log10(v) - lo) / (hi - lo)
            chars.append(BLOCKS[min(int(level * len(BLOCKS)), len(BLOCKS) - 1)])
    return "".join(chars)


def _records(stats) -> list[Mapping]:
    return list(stats.history if hasattr(stats, "history") else stats)


def gradient_table(
    stats,
    flags: Iterable[GradientFlag] | None = None,
    *,
    trend_length: int = 12,
) -> Table:
    """Per-layer table of the latest gradient statistics, a trend and the flags.

    Args:
        stats: a `GradientStats` callback, or its `history` (records with "layer",
            "step", "mean_abs", "rms", "max_abs", "frac_tiny", "nonfinite").
        flags: findings to show; by default `stats.flags()` when `stats` has it.
        trend_length: how many recorded steps the mean |g| sparkline covers.

    Returns:
        A `rich.table.Table` (layers in model order; flags in the caption).
    """
    records = _records(stats)
    if flags is None:
        flags = stats.flags() if hasattr(stats, "flags") else []
    flags = list(flags)
    flagged = {}
    for flag in flags:
        for layer in flag.layers:
            flagged.setdefault(layer, []).append(flag.kind)

    series: dict[str, list[float]] = {}
    latest: dict[str, Mapping] = {}
    for r in records:
        series.setdefault(r["layer"], []).append(float(r["mean_abs"]))
        latest[r["layer"]] = r
    last_step = records[-1]["step"] if records else None

    table = Table(
        title=f"Gradient health (step {last_step})" if records else "Gradient health",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        caption_justify="left",
    )
    table.add_column("layer", no_wrap=True, max_width=16, overflow="ellipsis")
    for name in ("mean|g|", "rms", "max|g|", "tiny%", "nonfin"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("mean|g| trend", no_wrap=True)
    table.add_column("flag", no_wrap=True)
    for layer, r in latest.items():
        kinds = flagged.get(layer, [])
        style = FLAG_STYLE.get(kinds[0]) if kinds else None
        table.add_row(
            layer,
            f"{r['mean_abs']:.1e}",
            f"{r['rms']:.1e}",
            f"{r['max_abs']:.1e}",
            f"{100 * r['frac_tiny']:.1f}",
            f"{r['nonfinite']:.0f}",
            sparkline(series[layer], trend_length),
            ", ".join(kinds),
            style=style,
        )
    if flags:
        caption = Text()
        for i, flag in enumerate(flags):
            if i:
                caption.append("\n")
            caption.append(f"{flag.kind}: ", style=FLAG_STYLE.get(flag.kind))
            caption.append(f"{', '.join(flag.layers)}; {flag.evidence}")
        table.caption = caption
    else:
        table.caption = "no gradient flags" if records else "no gradient records"
    return table
