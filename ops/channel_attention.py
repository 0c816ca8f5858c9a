"""Squeeze-and-excitation channel attention (Hu et al., 2018, arXiv:1709.01507)."""

from __future__ import annotations

import keras
from keras import ops

from ._execution import (
    check_compile_mode,
    make_kernels,
    mode_for_device,
    resolve_compile_mode,
)


def check_positive_int(name: str, value) -> int:
    """Checks that a constructor argument is an integer >= 1.

    Raises:
        ValueError: naming the argument and the received value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive "
            f"integer. Received {name}={value!r}."
        )
    return value


def check_input_rank(layer_name: str, input_shape) -> int:
    """Checks for a 4D channels-last input and returns its (known) channel count.

    Raises:
        ValueError: on another rank or an unknown channel dimension.
    """
    if len(input_shape) != 4:
        raise ValueError(
            f"Input 0 of layer '{layer_name}' must have rank 4 "
            "(batch, height, width, channels). "
            f"Received input_shape={tuple(input_shape)} of rank {len(input_shape)}."
        )
    if input_shape[-1] is None:
        raise ValueError(
            f"Input 0 of layer '{layer_name}' must have a known channel dimension. "
            f"Received input_shape={tuple(input_shape)}."
        )
    return int(input_shape[-1])


def check_reduction_fits(reduction: int, channels: int, what: str) -> None:
    """Checks that `reduction` does not exceed the attended channel count.

    Raises:
        ValueError: when `reduction > channels`.
    """
    if reduction > channels:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected at most the number "
            f"of {what} ({channels}). Received reduction={reduction}."
        )


def channel_attention(x, squeeze_kernel, squeeze_bias, excite_kernel, excite_bias):
    """Scales the channels of `x` by their squeeze-and-excitation weights.

    Args:
        x: (batch, height, width, channels) tensor.
        squeeze_kernel, squeeze_bias: the (channels, hidden) Dense weights.
        excite_kernel, excite_bias: the (hidden, channels) Dense weights.

    Returns:
        A tensor shaped like `x`.
    """
    pooled = ops.mean(x, axis=(1, 2))
    hidden = ops.relu(ops.add(ops.matmul(pooled, squeeze_kernel), squeeze_bias))
    scale = ops.sigmoid(ops.add(ops.matmul(hidden, excite_kernel), excite_bias))
    return ops.multiply(x, ops.expand_dims(ops.expand_dims(scale, 1), 1))


@keras.saving.register_keras_serializable(package="kt_capacity")
class ChannelAttention(keras.layers.Layer):
    """Squeeze-and-excitation: global average pool, Dense(C/r, ReLU), Dense(C, sigmoid),
    then the input channels scaled by the result.

    Equal to `GlobalAveragePooling2D -> Dense(max(1, C // reduction), "relu") ->
    Dense(C, "sigmoid") -> Reshape((1, 1, C)) -> Multiply` with the input, as one layer
    (channels-last input).

    Args:
        reduction: channel reduction ratio r of the bottleneck, 1 <= r <= C.
        compile: `"auto"` (XLA where a GPU runs the layer, native on the CPU),
            `"xla"` or `"native"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: for `reduction < 1`, an unknown `compile` mode, and at build
            time for an input that is not 4D or has fewer channels than `reduction`.

    Example:
        >>> x = keras.Input((32, 32, 64))
        >>> y = ChannelAttention(reduction=8)(x)  # 64 -> 8 -> 64 bottleneck
    """

    def __init__(self, reduction: int = 8, compile: str = "auto", **kwargs):
        super().__init__(**kwargs)
        self.reduction = check_positive_int("reduction", reduction)
        self.compile = check_compile_mode(compile)
        self.execution_mode = resolve_compile_mode(compile)
        self._kernels = make_kernels(channel_attention, self.execution_mode)

    def build(self, input_shape):
        channels = check_input_rank(self.name, input_shape)
        check_reduction_fits(self.reduction, channels, "input channels")
        hidden = max(1, channels // self.reduction)
        self.squeeze_kernel = self.add_weight(
            name="squeeze_kernel",
            shape=(channels, hidden),
            initializer="glorot_uniform",
        )
        self.squeeze_bias = self.add_weight(
            name="squeeze_bias", shape=(hidden,), initializer="zeros"
        )
        self.excite_kernel = self.add_weight(
            name="excite_kernel", shape=(hidden, channels), initializer="glorot_uniform"
        )
        self.excite_bias = self.add_weight(
            name="excite_bias", shape=(channels,), initializer="zeros"
        )

    def call(self, inputs):
        kernel = self._kernels[
            mode_for_device(
                self.compile, self.execution_mode, getattr(inputs, "device", "")
            )
        ]
        dtype = self.compute_dtype
        return kernel(
            inputs,
            ops.cast(self.squeeze_kernel, dtype),
            ops.cast(self.squeeze_bias, dtype),
            ops.cast(self.excite_kernel, dtype),
            ops.cast(self.excite_bias, dtype),
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction, "compile": self.compile})
        return config
