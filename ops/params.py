"""Parameter accounting: SeparableConvSE against a Conv2D of the same width.

With biases, `kernel_size=3`, `reduction=8` (the conv part is depthwise + pointwise
+ bias; the attention part is the two Dense layers of the squeeze-and-excitation):

     in  filters  conv2d  separable  attention  conv_ratio  total_ratio
      3       32     896        155        292      0.1730       0.4989
     32       32    9248       1344        292      0.1453       0.1769
     32       64   18496       2400       1096      0.1298       0.1890
     64       64   36928       4736       1096      0.1282       0.1579
    128      128  147584      17664       4240      0.1197       0.1484
    256      256  590080      68096      16672      0.1154       0.1437

The tutorial's "~1/8 for the conv part" holds from about 64 channels up (1/6.9 at 32,
1/7.8 at 64); for in_channels = filters it tends to 1/k^2 + 1/filters (0.115 at 256).
The attention adds about 2 * filters^2 / reduction.
`python -m kt_capacity.ops.params` prints this table.
"""

from __future__ import annotations

import dataclasses

from .channel_attention import check_positive_int


@dataclasses.dataclass(frozen=True)
class ParamComparison:
    """Parameter counts of one SeparableConvSE layer and the Conv2D it replaces."""

    in_channels: int
    filters: int
    kernel_size: int
    reduction: int
    conv2d: int
    separable: int
    attention: int

    @property
    def separable_se(self) -> int:
        """All parameters of the SeparableConvSE layer."""
        return self.separable + self.attention

    @property
    def conv_ratio(self) -> float:
        """Separable conv part over Conv2D (the tutorial's ~1/8)."""
        return self.separable / self.conv2d

    @property
    def total_ratio(self) -> float:
        """Whole SeparableConvSE layer over Conv2D."""
        return self.separable_se / self.conv2d


def param_comparison(
    in_channels: int,
    filters: int,
    kernel_size: int = 3,
    reduction: int = 8,
    use_bias: bool = True,
) -> ParamComparison:
    """Counts the parameters of `SeparableConvSE` and of `Conv2D` of the same width.

    Args:
        in_channels: input channels.
        filters: output channels of both layers.
        kernel_size: square kernel size of both layers.
        reduction: attention reduction ratio, at most `filters`.
        use_bias: whether the convolutions carry a bias (the attention always does).

    Returns:
        A `ParamComparison`; counts equal `count_params()` of the built layers.

    Raises:
        ValueError: for non-positive arguments or `reduction > filters`.
    """
    for name, value in (
        ("in_channels", in_channels),
        ("filters", filters),
        ("kernel_size", kernel_size),
        ("reduction", reduction),
    ):
        check_positive_int(name, value)
    if reduction > filters:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected at most the number of "
            f"filters ({filters}). Received reduction={reduction}."
        )
    bias = filters if use_bias else 0
    hidden = max(1, filters // reduction)
    return ParamComparison(
        in_channels=in_channels,
        filters=filters,
        kernel_size=kernel_size,
        reduction=reduction,
        conv2d=kernel_size * kernel_size * in_channels * filters + bias,
        separable=kernel_size * kernel_size * in_channels
        + in_channels * filters
        + bias,
        attention=filters * hidden + hidden + hidden * filters + filters,
    )


def format_table(rows: list[ParamComparison]) -> str:
    """Formats comparisons as the table in this module's docstring."""
    lines = [" in  filters  conv2d  separable  attention  conv_ratio  total_ratio"]
    for row in rows:
        lines.append(
            f"{row.in_channels:>3} {row.filters:>8} {row.conv2d:>7} "
            f"{row.separable:>10} {row.attention:>10} "
            f"{row.conv_ratio:>11.4f} {row.total_ratio:>12.4f}"
        )
    return "\n".join(lines)


TABLE_SHAPES = ((3, 32), (32, 32), (32, 64), (64, 64), (128, 128), (256, 256))


if __name__ == "__main__":
    print(format_table([param_comparison(i, f) for i, f in TABLE_SHAPES]))
