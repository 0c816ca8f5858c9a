"""Tests for kt_capacity.ops.params: counts against the built Keras layers."""

import keras
import pytest

from kt_capacity.ops import ParamComparison, SeparableConvSE, param_comparison
from kt_capacity.ops import params as params_module


@pytest.mark.parametrize(
    ("in_channels", "filters", "kernel_size", "reduction", "use_bias"),
    [
        (3, 32, 3, 8, True),
        (64, 64, 3, 8, True),
        (16, 24, 5, 4, False),
        (7, 5, 1, 5, True),
    ],
)
def test_param_comparison_matches_built_layers(
    in_channels, filters, kernel_size, reduction, use_bias
):
    counts = param_comparison(in_channels, filters, kernel_size, reduction, use_bias)
    shape = (None, 8, 8, in_channels)
    layer = SeparableConvSE(
        filters, kernel_size, reduction=reduction, use_bias=use_bias, compile="native"
    )
    layer.build(shape)
    conv = keras.layers.Conv2D(filters, kernel_size, use_bias=use_bias)
    conv.build(shape)
    assert layer.count_params() == counts.separable_se
    assert conv.count_params() == counts.conv2d
    separable = keras.layers.SeparableConv2D(filters, kernel_size, use_bias=use_bias)
    separable.build(shape)
    assert separable.count_params() == counts.separable


def test_param_comparison_conv_part_is_about_an_eighth_at_64_channels():
    counts = param_comparison(64, 64)
    assert isinstance(counts, ParamComparison)
    assert (counts.conv2d, counts.separable, counts.attention) == (36928, 4736, 1096)
    assert 1 / 9 < counts.conv_ratio < 1 / 7
    assert counts.total_ratio == pytest.approx((4736 + 1096) / 36928)


def test_param_comparison_docstring_table_is_current():
    rows = [param_comparison(i, f) for i, f in params_module.TABLE_SHAPES]
    table = params_module.format_table(rows)
    indented = "\n".join("    " + line for line in table.splitlines())
    assert indented in params_module.__doc__


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"in_channels": 0, "filters": 8}, r"`in_channels`.*in_channels=0"),
        ({"in_channels": 3, "filters": -1}, r"`filters`.*filters=-1"),
        ({"in_channels": 3, "filters": 8, "kernel_size": 0}, r"kernel_size=0"),
        ({"in_channels": 3, "filters": 8, "reduction": 9}, r"at most.*\(8\)"),
    ],
)
def test_param_comparison_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        param_comparison(**kwargs)
