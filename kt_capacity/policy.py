"""The capacity search policy (pure: no Keras Tuner, no training).

Given the lattice and the results so far, in completion order, `next_proposal`
says which configuration to train next and why. For each family in turn:

1. start at the cheapest feasible configuration (smallest depth, smallest width);
2. from the current anchor, try one step along depth (+1 layer), then along width
   (next width); a step whose cost-efficiency from the anchor is >= the threshold
   and whose trial does not overfit becomes the new anchor (both axes reopen);
   a step that does not pay, overfits, fails or leaves the lattice closes its axis;
3. when both axes are closed, try the diagonal step (one more layer *and* the next
   width, the compound-scaling move) once; if it pays, it becomes the anchor;
4. when nothing pays any more, the family is done; after the last family the
   search stops.

An anchor that overfits closes both axes at once: more capacity will not help.
The policy is a function of its inputs only, so replaying the same results gives
the same proposals: that is what makes `overwrite=False` resume exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kt_capacity.diagnosis import OVERFIT
from kt_capacity.scoring import cost_efficiency, format_efficiency
from kt_capacity.space import Config, Lattice

AXES = ("depth", "width")


@dataclass(frozen=True)
class Result:
    """What the policy needs to know of a finished trial.

    Attributes:
        config: the configuration trained.
        val_acc: best validation accuracy (fraction); None when the trial failed.
        cost: parameter count or FLOPs; None when the trial failed.
        verdict: the fit diagnosis verdict; None when the trial failed.
    """

    config: Config
    val_acc: float | None = None
    cost: float | None = None
    verdict: str | None = None

    @property
    def ok(self) -> bool:
        return self.val_acc is not None and self.cost is not None


@dataclass(frozen=True)
class Proposal:
    """The next configuration to train and a one-line reason."""

    config: Config
    reason: str


def _describe(result: Result) -> str:
    if not result.ok:
        return f"{result.config.label} failed"
    return (
        f"{result.config.label} is {result.verdict} (val {100 * result.val_acc:.1f} %)"
    )


def _pays(anchor: Result, cand: Result, threshold: float) -> tuple[bool, str]:
    """Whether stepping from `anchor` to `cand` pays, with the figure that says so."""
    if not cand.ok:
        return False, f"{cand.config.label} failed"
    eff = cost_efficiency(anchor.val_acc, anchor.cost, cand.val_acc, cand.cost)
    text = f"{anchor.config.label} -> {cand.config.label}: {format_efficiency(eff)}"
    if cand.verdict == OVERFIT:
        return False, f"{text}, but it overfits"
    if eff >= threshold:
        return True, text
    return False, f"{text} < {threshold:g}"


def next_proposal(
    lattice: Lattice,
    results: Sequence[Result],
    excluded: Mapping[Config, str] = {},
    threshold: float = 0.01,
) -> Proposal | None:
    """The next configuration to train, or None when the search is done.

    Args:
        lattice: the search space.
        results: finished trials, in completion order (later duplicates win).
        excluded: configurations that cannot be trained, with the reason.
        threshold: minimum cost-efficiency for a step to count as paying.
    """
    tried = {r.config: r for r in results}
    for family in lattice.families:
        proposal = _walk_family(lattice, family, tried, excluded, threshold)
        if proposal is not None:
            return proposal
    return None


def _walk_family(lattice, family, tried, excluded, threshold) -> Proposal | None:
    # The start is the cheapest feasible configuration that did not fail.
    anchor = None
    for depth in lattice.depths:
        for width in lattice.widths:
            config = Config(family, depth, width)
            if config in excluded or (config in tried and not tried[config].ok):
                continue
            if config not in tried:
                failed = [c.label for c in tried if c.family == family]
                if failed:
                    return Proposal(config, f"start again: {', '.join(failed)} failed")
                return Proposal(
                    config, f"start small: the cheapest feasible {family} network"
                )
            anchor = tried[config]
            break
        if anchor is not None:
            break
    if anchor is None:
        return None
    closed: dict[str, str] = {}
    diagonal_tried: set[Config] = set()
    while True:
        if anchor.verdict == OVERFIT:
            return None
        moved = False
        for axis in AXES:
            if axis in closed:
                continue
            cand = lattice.step(anchor.config, axis)
            if cand is None or cand in excluded:
                closed[axis] = "edge of the space" if cand is None else excluded[cand]
                continue
            if cand not in tried:
                why = "; ".join(f"{a} closed: {r}" for a, r in closed.items())
                move = "+1 layer" if axis == "depth" else "wider"
                reason = f"{_describe(anchor)}: try {move}"
                return Proposal(cand, f"{reason} ({why})" if why else reason)
            pays, text = _pays(anchor, tried[cand], threshold)
            if pays:
                anchor, closed, moved = tried[cand], {}, True
                break
            closed[axis] = text
        if moved:
            continue
        depth_step = lattice.step(anchor.config, "depth")
        diag = lattice.step(depth_step, "width") if depth_step else None
        if diag is None or diag in excluded or diag in diagonal_tried:
            return None
        diagonal_tried.add(diag)
        if diag not in tried:
            return Proposal(
                diag,
                f"{_describe(anchor)}; neither axis paid alone "
                f"({closed['depth']}; {closed['width']}): try the compound step",
            )
        pays, _ = _pays(anchor, tried[diag], threshold)
        if not pays:
            return None
        anchor, closed = tried[diag], {}
