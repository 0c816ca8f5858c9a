"""The capacity lattice: configurations (family, depth, width) and steps."""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = ("plain", "residual", "separable_se")


@dataclass(frozen=True)
class Config:
    """One point of the capacity lattice."""

    family: str
    depth: int
    width: int

    @property
    def label(self) -> str:
        return f"{self.family} d{self.depth} w{self.width}"


@dataclass(frozen=True)
class Lattice:
    """Sorted axes of the search space."""

    families: tuple[str, ...]
    depths: tuple[int, ...]
    widths: tuple[int, ...]

    def step(self, config: Config, axis: str) -> Config | None:
        """The next configuration along `axis` ("depth"/"width"); None at the edge."""
        values = self.depths if axis == "depth" else self.widths
        current = config.depth if axis == "depth" else config.width
        larger = [v for v in values if v > current]
        if not larger:
            return None
        if axis == "depth":
            return Config(config.family, larger[0], config.width)
        return Config(config.family, config.depth, larger[0])
