"""Drop-in Keras 3 layers and compiled kernels, imported as `kt_capacity.ops`."""

from .channel_attention import ChannelAttention
from .gradient_stats import gradient_stats
from .params import ParamComparison, param_comparison
from .separable_conv_se import SeparableConvSE

__all__ = [
    "ChannelAttention",
    "ParamComparison",
    "SeparableConvSE",
    "gradient_stats",
    "param_comparison",
]
