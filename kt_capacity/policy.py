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

`next_design` opens a search with a fixed budget (before the walk): a coarse
factorial design of each family's corners and centre (smallest, widest, deepest,
centre, largest), so that the range of accuracies is bounded before any refining.
`next_exploration` is what comes after the knee when there is budget left: a
best-first local search for accuracy. It takes the most accurate configuration
that still has untried lattice neighbours and proposes the neighbour with the
largest predicted gain, extrapolating the gain seen along the same axis (the
step into the configuration continues the same way); without evidence a move
that adds capacity is preferred for an underfit or still-improving network and
one that removes it for an overfitting one. Before that, when the most accurate
configuration gained over its smaller neighbour along an axis, the far end of
that axis is probed first (bracketing: a single step cannot see past a dip that
is only noise). When no neighbour of a trained
configuration is left, the cheapest untried one follows.

The policy is a function of its inputs only, so replaying the same results gives
the same proposals: that is what makes `overwrite=False` resume exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kt_capacity.diagnosis import OVERFIT, STILL_IMPROVING, UNDERFIT
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


# -- after the knee: best-first exploration for accuracy ---------------------------
MOVES = (("width", 1), ("depth", 1), ("depth", -1), ("width", -1), ("diagonal", 1))
_MOVE_TEXT = {
    ("width", 1): "wider",
    ("depth", 1): "+1 layer",
    ("depth", -1): "-1 layer",
    ("width", -1): "narrower",
    ("diagonal", 1): "the compound step",
}


def _shift(lattice: Lattice, config: Config, axis: str, sign: int) -> Config | None:
    """The lattice neighbour of `config` one index away along `axis`; None off-grid."""
    if axis == "diagonal":
        step = _shift(lattice, config, "depth", sign)
        return _shift(lattice, step, "width", sign) if step else None
    values = lattice.depths if axis == "depth" else lattice.widths
    current = config.depth if axis == "depth" else config.width
    if current not in values:
        return None
    i = values.index(current) + sign
    if not 0 <= i < len(values):
        return None
    if axis == "depth":
        return Config(config.family, values[i], config.width)
    return Config(config.family, config.depth, values[i])


def _predicted_gain(lattice, result: Result, axis, sign, tried) -> float:
    """Expected accuracy change of the move, from the opposite neighbour's trend."""
    if axis == "diagonal":
        return sum(
            _predicted_gain(lattice, result, a, sign, tried) for a in ("depth", "width")
        )
    opposite = _shift(lattice, result.config, axis, -sign)
    if opposite in tried and tried[opposite].ok:
        return result.val_acc - tried[opposite].val_acc
    grows = result.verdict in (UNDERFIT, STILL_IMPROVING)
    prior = 1e-3 if (sign > 0) == grows else -1e-3
    return prior if result.verdict != OVERFIT or sign < 0 else -1e-3


def next_design(
    lattice: Lattice,
    results: Sequence[Result],
    excluded: Mapping[Config, str] = {},
) -> Proposal | None:
    """The next untried point of the coarse design, or None when all are tried.

    Args:
        lattice: the search space.
        results: finished trials (failed ones count as tried).
        excluded: configurations that cannot be trained, with the reason.
    """
    tried = {r.config for r in results}
    d, w = lattice.depths, lattice.widths
    points = (
        (d[0], w[0], "the smallest"),
        (d[0], w[-1], "the widest"),
        (d[-1], w[0], "the deepest"),
        (d[(len(d) - 1) // 2], w[(len(w) - 1) // 2], "the centre"),
        (d[-1], w[-1], "the largest"),
    )
    for family in lattice.families:
        for depth, width, name in points:
            config = Config(family, depth, width)
            if config not in tried and config not in excluded:
                return Proposal(
                    config,
                    f"coarse design: {name} {family} network bounds the space "
                    "before refining",
                )
    return None


def _edge(lattice: Lattice, config: Config, axis: str) -> Config:
    """The largest configuration along `axis` from `config`."""
    if axis == "depth":
        return Config(config.family, lattice.depths[-1], config.width)
    return Config(config.family, config.depth, lattice.widths[-1])


def _bracket(lattice, best: Result, tried, excluded) -> Proposal | None:
    """Probe the far end of an axis along which accuracy was seen to rise.

    One step at a time cannot see past a noisy dip; the far end bounds what the
    axis can give, and the neighbour search then refines around the better end.
    """
    for axis in ("width", "depth"):
        below = _shift(lattice, best.config, axis, -1)
        if below not in tried or not tried[below].ok:
            continue
        if best.val_acc <= tried[below].val_acc:
            continue
        edge = _edge(lattice, best.config, axis)
        if edge in tried or edge in excluded or edge == best.config:
            continue
        gain = 100 * (best.val_acc - tried[below].val_acc)
        return Proposal(
            edge,
            f"explore: {_describe(best)}, {gain:+.1f} points over {below.label}: "
            f"bracket the {axis} axis at its far end",
        )
    return None


def next_exploration(
    lattice: Lattice,
    results: Sequence[Result],
    excluded: Mapping[Config, str] = {},
) -> Proposal | None:
    """The next configuration to explore for accuracy, or None when all are tried.

    Args:
        lattice: the search space.
        results: finished trials, in completion order (later duplicates win).
        excluded: configurations that cannot be trained, with the reason.
    """
    tried = {r.config: r for r in results}
    ranked = sorted(
        (r for r in tried.values() if r.ok), key=lambda r: (-r.val_acc, r.cost)
    )
    if ranked:
        bracket = _bracket(lattice, ranked[0], tried, excluded)
        if bracket is not None:
            return bracket
    for result in ranked:
        moves = []
        for order, (axis, sign) in enumerate(MOVES):
            cand = _shift(lattice, result.config, axis, sign)
            if cand is None or cand in tried or cand in excluded:
                continue
            gain = _predicted_gain(lattice, result, axis, sign, tried)
            moves.append((-gain, order, cand, (axis, sign)))
        if moves:
            _, _, cand, move = min(moves)
            rank = "the most accurate" if result is ranked[0] else "the next best"
            return Proposal(
                cand,
                f"explore: {_describe(result)}, {rank} configuration with untried "
                f"neighbours: try {_MOVE_TEXT[move]}",
            )
    for family in lattice.families:
        for depth in lattice.depths:
            for width in lattice.widths:
                config = Config(family, depth, width)
                if config not in tried and config not in excluded:
                    return Proposal(
                        config,
                        "explore: no trained configuration has an untried neighbour;"
                        " the cheapest untried one",
                    )
    return None
