"""PNG plots of a capacity search or of one diagnosed fit (matplotlib, Agg backend).

Every plot function takes a summary dict (`kt_capacity.records.summarize`) or one
trial record dict, draws one figure and writes it; none prints. A plot that has
too little to show is skipped, and the skip reason is returned in its place.

Example:
    >>> from kt_capacity.records import load_summary
    >>> write_plots(load_summary("kt_runs"), "kt_runs/kt_capacity")
    {'accuracy_by_depth': PosixPath('kt_runs/kt_capacity/accuracy_by_depth.png'), ...}
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from kt_capacity.records import trial_label  # noqa: E402

PLOT_NAMES = (
    "accuracy_by_depth",
    "accuracy_by_width",
    "depth_width_heatmap",
    "pareto_front",
    "learning_curves",
    "gradient_health",
)
RECORD_PLOT_NAMES = ("learning_curves", "gradient_health")
TOP_TRIALS = 4
DPI = 100


class Skip(Exception):
    """A plot has too little to show; the message says why."""


def _completed(summary: dict) -> list[dict]:
    return [t for t in summary.get("trials", []) if t.get("status") == "COMPLETED"]


def _recommended(summary: dict) -> dict:
    rec = summary.get("recommendation")
    if not rec:
        raise Skip("no completed trial: nothing is recommended yet")
    for t in summary["trials"]:
        if t["trial_id"] == rec["trial_id"]:
            return t
    raise Skip(f"the recommended trial {rec['trial_id']} is not among the trials")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _sweep(summary: dict, path: Path, axis: str) -> Path:
    """Train and val accuracy against `axis` with the other knob fixed."""
    rec = _recommended(summary)
    fixed = "width" if axis == "depth" else "depth"
    points: dict[int, dict] = {}
    for t in _completed(summary):
        if t["family"] != rec["family"] or t[fixed] != rec[fixed]:
            continue
        best = points.get(t[axis])
        if (
            best is None
            or t["metrics"]["val_accuracy"] > best["metrics"]["val_accuracy"]
        ):
            points[t[axis]] = t
    if len(points) < 2:
        raise Skip(
            f"fewer than 2 {rec['family']} trials at {fixed} {rec[fixed]} "
            f"(found {len(points)}): no {axis} sweep to draw"
        )
    xs = sorted(points)
    train = [100 * points[x]["metrics"]["accuracy"] for x in xs]
    val = [100 * points[x]["metrics"]["val_accuracy"] for x in xs]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, train, "o-", label="train")
    ax.plot(xs, val, "s-", label="val")
    ax.axvline(rec[axis], color="grey", ls=":", label="recommended")
    if axis == "width":
        ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel(axis)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Accuracy by {axis} ({rec['family']}, {fixed} {rec[fixed]})")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_accuracy_by_depth(summary: dict, path: Path) -> Path:
    """Train vs val accuracy against depth, at the recommended family and width."""
    return _sweep(summary, path, "depth")


def plot_accuracy_by_width(summary: dict, path: Path) -> Path:
    """Train vs val accuracy against width, at the recommended family and depth."""
    return _sweep(summary, path, "width")


def plot_depth_width_heatmap(summary: dict, path: Path) -> Path:
    """Val accuracy on the depth x width grid of the recommended family.

    Cells that were not tried are blank; a cell tried twice shows its best run.
    """
    rec = _recommended(summary)
    cells: dict[tuple[int, int], float] = {}
    for t in _completed(summary):
        if t["family"] == rec["family"]:
            key = (t["depth"], t["width"])
            cells[key] = max(cells.get(key, -math.inf), t["metrics"]["val_accuracy"])
    if len(cells) < 2:
        raise Skip(f"fewer than 2 {rec['family']} cells (found {len(cells)})")
    depths = sorted({d for d, _ in cells})
    widths = sorted({w for _, w in cells})
    grid = np.full((len(depths), len(widths)), np.nan)
    for (d, w), v in cells.items():
        grid[depths.index(d), widths.index(w)] = 100 * v
    fig, ax = plt.subplots(figsize=(1.2 * len(widths) + 3, 0.6 * len(depths) + 2.5))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto")
    for i, j in zip(*np.where(np.isfinite(grid)), strict=True):
        bold = (depths[i], widths[j]) == (rec["depth"], rec["width"])
        ax.text(
            j,
            i,
            f"{grid[i, j]:.1f}" + ("*" if bold else ""),
            ha="center",
            va="center",
            color="white" if grid[i, j] < np.nanmean(grid) else "black",
            fontweight="bold" if bold else "normal",
        )
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set_yticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlabel("width")
    ax.set_ylabel("depth")
    ax.set_title(f"Val accuracy (%), {rec['family']} (* recommended)")
    fig.colorbar(image, ax=ax, label="val accuracy (%)")
    return _save(fig, path)


def plot_pareto_front(summary: dict, path: Path) -> Path:
    """Val accuracy against cost (log x), the Pareto front and the recommended knee."""
    rec = _recommended(summary)
    cost = summary.get("cost", "params")
    done = _completed(summary)
    front_ids = summary.get("pareto", [])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for family in sorted({t["family"] for t in done}):
        ts = [t for t in done if t["family"] == family]
        ax.scatter(
            [t["metrics"][cost] for t in ts],
            [100 * t["metrics"]["val_accuracy"] for t in ts],
            label=family,
            alpha=0.8,
        )
    front = sorted(
        (t for t in done if t["trial_id"] in front_ids),
        key=lambda t: t["metrics"][cost],
    )
    if front:
        ax.step(
            [t["metrics"][cost] for t in front],
            [100 * t["metrics"]["val_accuracy"] for t in front],
            where="post",
            color="black",
            lw=1,
            label="Pareto front",
        )
    ax.scatter(
        [rec["metrics"][cost]],
        [100 * rec["metrics"]["val_accuracy"]],
        s=250,
        facecolors="none",
        edgecolors="red",
        linewidths=2,
        label=f"knee: {trial_label(rec)}",
        zorder=3,
    )
    for t in done:
        ax.annotate(
            f"d{t['depth']} w{t['width']}",
            (t["metrics"][cost], 100 * t["metrics"]["val_accuracy"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    ax.set_xscale("log")
    ax.set_xlabel(f"{cost} (log)")
    ax.set_ylabel("val accuracy (%)")
    ax.set_title(f"Val accuracy vs {cost}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _learning_curves(trials: list[tuple[str, dict]], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, history) in enumerate(trials):
        color = colors[i % len(colors)]
        for key, style, suffix in (
            ("accuracy", "--", "train"),
            ("val_accuracy", "-", "val"),
        ):
            values = history.get(key) or []
            epochs = range(1, len(values) + 1)
            ax.plot(
                epochs,
                [100 * v for v in values],
                style,
                marker="o",
                color=color,
                label=f"{label} {suffix}",
            )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_learning_curves(summary: dict, path: Path, top: int = TOP_TRIALS) -> Path:
    """Train (dashed) and val (solid) accuracy per epoch of the `top` best trials."""
    done = [t for t in _completed(summary) if t.get("history", {}).get("val_accuracy")]
    if not done:
        raise Skip("no completed trial with a per-epoch history")
    done.sort(key=lambda t: t["metrics"]["val_accuracy"], reverse=True)
    return _learning_curves(
        [(trial_label(t), t["history"]) for t in done[:top]],
        path,
        f"Learning curves of the top {min(top, len(done))} trials",
    )


def _gradient_bars(gradients: dict, flags: list[dict], path: Path, title: str) -> Path:
    layers = [
        name
        for name, stats in gradients.items()
        if math.isfinite(stats.get("mean_abs", math.nan))
    ]
    if not layers:
        raise Skip("no gradient statistics were recorded")
    flagged = {layer: f["kind"] for f in flags for layer in f["layers"]}
    colors = {"vanishing": "orange", "exploding": "red", "nonfinite": "darkred"}
    means = [gradients[name]["mean_abs"] for name in layers]
    maxes = [gradients[name].get("max_abs", math.nan) for name in layers]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(layers) + 2), 4.5))
    x = np.arange(len(layers))
    ax.bar(
        x,
        [m if m > 0 else np.nan for m in means],
        color=[colors.get(flagged.get(name), "tab:blue") for name in layers],
        label="mean |g|",
    )
    ax.plot(x, maxes, "k_", markersize=14, label="max |g|")
    ax.set_yscale("log")
    ax.set_xticks(x, layers, rotation=45, ha="right")
    ax.set_ylabel("|gradient| (log)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_gradient_health(summary: dict, path: Path) -> Path:
    """Mean |g| per layer (log y) of the recommended trial; flagged layers coloured."""
    rec = _recommended(summary)
    return _gradient_bars(
        rec.get("gradients") or {},
        rec.get("gradient_flags") or [],
        path,
        f"Gradient health of {trial_label(rec)} (latest recorded step)",
    )


SUMMARY_PLOTS: dict[str, Callable[[dict, Path], Path]] = {
    "accuracy_by_depth": plot_accuracy_by_depth,
    "accuracy_by_width": plot_accuracy_by_width,
    "depth_width_heatmap": plot_depth_width_heatmap,
    "pareto_front": plot_pareto_front,
    "learning_curves": plot_learning_curves,
    "gradient_health": plot_gradient_health,
}


def _write(
    plots: dict, data: dict, out_dir: str | os.PathLike
) -> dict[str, Path | str]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Path | str] = {}
    for name, plot in plots.items():
        try:
            results[name] = plot(data, out / f"{name}.png")
        except Skip as e:
            results[name] = str(e)
    return results


def write_plots(summary: dict, out_dir: str | os.PathLike) -> dict[str, Path | str]:
    """Write every plot of a search summary that has enough data into `out_dir`.

    Args:
        summary: a search summary (`kt_capacity.records.summarize`).
        out_dir: folder of the PNG files; created when missing.

    Returns:
        plot name -> the written `Path`, or a `str` saying why it was skipped, in
        the order of `PLOT_NAMES`.
    """
    return _write(SUMMARY_PLOTS, summary, out_dir)


def write_record_plots(
    record: dict, out_dir: str | os.PathLike, label: str | None = None
) -> dict[str, Path | str]:
    """Write the plots of one fit (learning curve, gradient health) into `out_dir`.

    Args:
        record: a trial record dict or a `kt_capacity.diagnose_run.run_diagnosis`
            result (keys `history`, `gradients`, `gradient_flags`).
        out_dir: folder of the PNG files; created when missing.
        label: name of the model in the titles; by default the record's "label".

    Returns:
        plot name -> the written `Path`, or a `str` saying why it was skipped.
    """
    label = label or record.get("label") or "model"

    def curves(rec: dict, path: Path) -> Path:
        if not rec.get("history", {}).get("val_accuracy"):
            raise Skip("no per-epoch history")
        return _learning_curves(
            [(label, rec["history"])], path, f"Learning curve of {label}"
        )

    def gradients(rec: dict, path: Path) -> Path:
        return _gradient_bars(
            rec.get("gradients") or {},
            rec.get("gradient_flags") or [],
            path,
            f"Gradient health of {label} (latest recorded step)",
        )

    return _write(
        {"learning_curves": curves, "gradient_health": gradients}, record, out_dir
    )
