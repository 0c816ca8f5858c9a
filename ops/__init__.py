"""Drop-in Keras 3 layers and compiled kernels, imported as `kt_capacity.ops`."""

from .channel_attention import ChannelAttention
from .params import ParamComparison, param_comparison
from .separable_conv_se import SeparableConvSE

__all__ = [
    "ChannelAttention",
    "ParamComparison",
    "SeparableConvSE",
    "param_comparison",
]
