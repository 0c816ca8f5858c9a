"""Gradient-health findings shared by GradientStats and the diagnosis (pure)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GradientFlag:
    """One gradient-health finding.

    Attributes:
        kind: "vanishing", "exploding" or "nonfinite".
        layers: names of the layers it concerns, in model order.
        evidence: one sentence with the measured figures.
    """

    kind: str
    layers: tuple[str, ...]
    evidence: str


def _check_positive(name: str, value: float, minimum: float = 0.0) -> None:
    if (
        not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= minimum
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a finite value > "
            f"{minimum:g}. Received {name}={value!r}"
        )


def _fmt(layers: Mapping[str, float], names: list[str]) -> str:
    return ", ".join(f"{name} {layers[name]:.1e}" for name in names)


def flag_gradients(
    layer_means: Mapping[str, float],
    *,
    nonfinite: Mapping[str, float] | None = None,
    vanishing_abs: float = 1e-5,
    vanishing_spread: float = 100.0,
    vanishing_ratio: float = 1000.0,
    exploding_abs: float = 10.0,
) -> list[GradientFlag]:
    """Flags vanishing, exploding and non-finite gradients from per-layer mean |g|.

    The rule (pure, order-preserving; `layer_means` is in model order):

    - nonfinite: a layer whose mean |g| is NaN/Inf or whose `nonfinite` count is > 0.
    - vanishing: among the finite layers, a layer whose mean |g| is
      `vanishing_ratio` (1000) times below the median of the layers, or below
      `vanishing_abs` (1e-5) while the largest layer mean is at least
      `vanishing_spread` (100) times larger. The tutorial's sign (late layers ~1e-6,
      early ones 1e-3..1e-2) meets both. Requiring a spread keeps a converged net,
      whose gradients are all small, from being flagged; a net whose every layer is
      tiny from the start is therefore not flagged either.
    - exploding: a finite layer whose mean |g| is above `exploding_abs` (10). There is
      no rule relative to the median: when late layers vanish the median drops, and
      healthy early layers (1e-3) would sit 1000x above it.

    The median is taken over the finite layers; the ratio rule needs at least two.

    Args:
        layer_means: layer name -> mean |g| (e.g. a median over recent steps).
        nonfinite: optional layer name -> number of non-finite gradient entries.
        vanishing_abs: absolute vanishing threshold, > 0.
        vanishing_spread: how much larger the largest layer must be, > 1.
        vanishing_ratio: factor below the median that flags a layer, > 1.
        exploding_abs: absolute exploding threshold, > 0.

    Returns:
        At most one `GradientFlag` per kind, in the order nonfinite, vanishing,
        exploding; empty when the gradients look healthy.

    Raises:
        ValueError: on a threshold out of range.
    """
    _check_positive("vanishing_abs", vanishing_abs)
    _check_positive("vanishing_spread", vanishing_spread, 1.0)
    _check_positive("vanishing_ratio", vanishing_ratio, 1.0)
    _check_positive("exploding_abs", exploding_abs)
    nonfinite = dict(nonfinite or {})
    means = {name: float(value) for name, value in layer_means.items()}
    flags = []

    bad = [
        name
        for name, value in means.items()
        if not math.isfinite(value) or nonfinite.get(name, 0) > 0
    ]
    if bad:
        counts = ", ".join(f"{name} {int(nonfinite.get(name, 0))}" for name in bad)
        flags.append(
            GradientFlag(
                "nonfinite",
                tuple(bad),
                f"non-finite gradient entries (count per layer: {counts}).",
            )
        )

    finite = {name: value for name, value in means.items() if math.isfinite(value)}
    if not finite:
        return flags
    median = statistics.median(finite.values())
    largest = max(finite.values())
    use_ratio = len(finite) >= 2

    vanishing = [
        name
        for name, value in finite.items()
        if (use_ratio and value * vanishing_ratio < median)
        or (value < vanishing_abs and largest >= vanishing_spread * value)
    ]
    if vanishing:
        flags.append(
            GradientFlag(
                "vanishing",
                tuple(vanishing),
                f"mean |g| {_fmt(finite, vanishing)} vs median {median:.1e} and "
                f"max {largest:.1e} over {len(finite)} layers (rule: "
                f"{vanishing_ratio:g}x below the median, or < {vanishing_abs:g} "
                f"with a {vanishing_spread:g}x spread).",
            )
        )

    exploding = [name for name, value in finite.items() if value > exploding_abs]
    if exploding:
        flags.append(
            GradientFlag(
                "exploding",
                tuple(exploding),
                f"mean |g| {_fmt(finite, exploding)} vs median {median:.1e} over "
                f"{len(finite)} layers (rule: > {exploding_abs:g}).",
            )
        )
    return flags
