"""Gradient-health findings shared by the GradientStats callback and the diagnosis (pure)."""

from __future__ import annotations

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
