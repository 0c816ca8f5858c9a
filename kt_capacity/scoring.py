"""Cost-efficiency, Pareto front and capacity knee (pure: no I/O, no training).

The cost-efficiency of a step from configuration ``a`` to configuration ``b`` is

    (val_acc(b) - val_acc(a)) in points / (cost(b) / cost(a) - 1) in percent

where the cost is the parameter count (or the FLOP count). Width 16 -> 32 in the
tutorial: +6 points for +300 % params = 0.02.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 0.01


@dataclass(frozen=True)
class Candidate:
    """One evaluated configuration.

    Attributes:
        key: any hashable name of the configuration (e.g. a trial id).
        val_acc: validation accuracy as a fraction in [0, 1].
        cost: parameter count (or FLOPs); strictly positive.
    """

    key: Hashable
    val_acc: float
    cost: float


@dataclass(frozen=True)
class Step:
    """One move along the Pareto front, with its cost-efficiency."""

    source: Candidate
    target: Candidate
    efficiency: float


@dataclass(frozen=True)
class Knee:
    """The recommended configuration and the steps that reached it.

    Attributes:
        candidate: the recommended configuration.
        steps: the accepted steps from the cheapest Pareto point to `candidate`.
        rejected: the first step beyond the knee that fell below the threshold,
            or None when the knee is the most accurate Pareto point.
        threshold: the cost-efficiency threshold used.
    """

    candidate: Candidate
    steps: tuple[Step, ...] = field(default_factory=tuple)
    rejected: Step | None = None
    threshold: float = DEFAULT_THRESHOLD

    @property
    def reason(self) -> str:
        """One sentence explaining why this configuration is the knee."""
        if self.rejected is None:
            tail = "it is the most accurate point on the Pareto front"
        else:
            r = self.rejected
            tail = (
                f"the next step ({r.source.key} -> {r.target.key}) buys only "
                f"{points(r.source.val_acc, r.target.val_acc):+.2f} pts for "
                f"{growth_percent(r.source.cost, r.target.cost):+.0f} % cost "
                f"(efficiency {format_efficiency(r.efficiency)} < {self.threshold:g})"
            )
        if not self.steps:
            head = "it is the cheapest point on the Pareto front"
        else:
            effs = ", ".join(format_efficiency(s.efficiency) for s in self.steps)
            head = f"every step to it paid at least {self.threshold:g} ({effs})"
        return f"{head}; {tail}."


def points(acc_a: float, acc_b: float) -> float:
    """Accuracy gain from `acc_a` to `acc_b` in percentage points."""
    return 100.0 * (acc_b - acc_a)


def growth_percent(cost_a: float, cost_b: float) -> float:
    """Cost growth from `cost_a` to `cost_b` in percent.

    Raises:
        ValueError: if `cost_a` is not strictly positive.
    """
    if not cost_a > 0:
        raise ValueError(
            "Invalid value for argument `cost_a`. Expected a strictly positive "
            f"cost. Received cost_a={cost_a}."
        )
    return 100.0 * (cost_b / cost_a - 1.0)


def cost_efficiency(acc_a: float, cost_a: float, acc_b: float, cost_b: float) -> float:
    """Accuracy gain in points per percent of cost growth, from `a` to `b`.

    A step that does not grow the cost (growth <= 0) dominates (+inf) when it gains
    accuracy, or saves cost at equal accuracy; it is 0.0 when nothing changes and
    -inf when it loses accuracy.

    Example:
        >>> round(cost_efficiency(0.68, 1000, 0.74, 4000), 4)
        0.02
    """
    gain = points(acc_a, acc_b)
    growth = growth_percent(cost_a, cost_b)
    if growth > 0:
        return gain / growth
    if gain > 0 or (gain == 0 and growth < 0):
        return math.inf
    return 0.0 if gain == 0 else -math.inf


def format_efficiency(value: float) -> str:
    """Short text of an efficiency value ("dominates" for +inf)."""
    if value == math.inf:
        return "dominates"
    if value == -math.inf:
        return "-inf"
    return f"{value:.3g}"


def pareto_front(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates not dominated on (higher val_acc, lower cost), cheapest first.

    A candidate is dominated when another one is at least as accurate and at most as
    costly, and strictly better on one of the two. Ties on both keep the first.
    """
    ordered = sorted(candidates, key=lambda c: (c.cost, -c.val_acc))
    front: list[Candidate] = []
    for cand in ordered:
        if not front or cand.val_acc > front[-1].val_acc:
            front.append(cand)
    return front


def knee(candidates: Sequence[Candidate], threshold: float = DEFAULT_THRESHOLD) -> Knee:
    """The most accurate Pareto point reached by steps paying >= `threshold`.

    Starting from the cheapest Pareto point, each step moves to the nearest more
    costly Pareto point whose cost-efficiency from the current one is at least
    `threshold`; the walk stops when no such point remains.

    Raises:
        ValueError: if `candidates` is empty or `threshold` is negative.
    """
    if not candidates:
        raise ValueError(
            "Invalid value for argument `candidates`. Expected at least one "
            "evaluated configuration. Received an empty sequence."
        )
    if threshold < 0:
        raise ValueError(
            "Invalid value for argument `threshold`. Expected a value >= 0. "
            f"Received threshold={threshold}."
        )
    front = pareto_front(candidates)
    current, steps, rejected = front[0], [], None
    i = 0
    while i < len(front) - 1:
        nxt = None
        for j in range(i + 1, len(front)):
            eff = cost_efficiency(
                current.val_acc, current.cost, front[j].val_acc, front[j].cost
            )
            if eff >= threshold:
                nxt = j
                steps.append(Step(current, front[j], eff))
                break
            if j == i + 1:
                rejected = Step(current, front[j], eff)
        if nxt is None:
            break
        current, i, rejected = front[nxt], nxt, None
    return Knee(current, tuple(steps), rejected, threshold)
