"""Depthwise-separable convolution followed by channel attention, as one layer."""

from __future__ import annotations

import keras
from keras import ops

from ._execution import (
    check_compile_mode,
    make_kernels,
    mode_for_device,
    resolve_compile_mode,
)
from .channel_attention import (
    channel_attention,
    check_input_rank,
    check_positive_int,
    check_reduction_fits,
)

PADDINGS = ("same", "valid")


def separable_conv_se(
    x,
    depthwise_kernel,
    pointwise_kernel,
    bias,
    squeeze_kernel,
    squeeze_bias,
    excite_kernel,
    excite_bias,
    *,
    strides,
    padding,
    activation,
):
    """Depthwise conv -> pointwise (1x1) conv + bias -> activation -> attention.

    Args:
        x: (batch, height, width, in_channels) tensor.
        depthwise_kernel: (kh, kw, in_channels, 1) tensor.
        pointwise_kernel: (1, 1, in_channels, filters) tensor.
        bias: (filters,) tensor, or None.
        squeeze_kernel, squeeze_bias, excite_kernel, excite_bias: attention weights,
            as in `channel_attention`.
        strides: (sh, sw) of the depthwise convolution.
        padding: `"same"` or `"valid"`.
        activation: a callable applied after the pointwise convolution.

    Returns:
        (batch, out_height, out_width, filters) tensor.
    """
    y = ops.depthwise_conv(x, depthwise_kernel, strides=strides, padding=padding)
    y = ops.conv(y, pointwise_kernel, strides=1, padding="valid")
    if bias is not None:
        y = ops.add(y, bias)
    y = activation(y)
    return channel_attention(
        y, squeeze_kernel, squeeze_bias, excite_kernel, excite_bias
    )


def _pair(name: str, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive "
            f"integer or a pair of them. Received {name}={value!r}."
        )
    return pair


@keras.saving.register_keras_serializable(package="kt_capacity")
class SeparableConvSE(keras.layers.Layer):
    """Depthwise conv, pointwise conv, activation and squeeze-and-excitation.

    Equal to `DepthwiseConv2D(kernel_size, strides, padding, use_bias=False) ->
    Conv2D(filters, 1, use_bias=use_bias, activation=activation) ->
    ChannelAttention(reduction)` with the same weights (channels-last input), in one
    layer whose core runs natively or XLA-compiled (see `compile`). Depthwise
    separable convolutions: Chollet, 2017 (arXiv:1610.02357); attention: Hu et al.,
    2018 (arXiv:1709.01507). `kt_capacity.ops.param_comparison` counts its
    parameters against a Conv2D of the same width.

    Args:
        filters: output channels, >= 1.
        kernel_size: depthwise kernel size, an int or a pair.
        strides: depthwise strides, an int or a pair.
        padding: `"same"` or `"valid"`.
        reduction: attention reduction ratio, 1 <= reduction <= filters.
        activation: activation after the pointwise convolution (any
            `keras.activations.get` identifier; None for linear).
        compile: `"auto"` (XLA where a GPU runs the layer, native on the CPU, where
            XLA is ~20x slower for depthwise convolutions), `"xla"` or `"native"`.
        use_bias: whether the pointwise convolution adds a bias.
        kernel_initializer: initializer of the depthwise, pointwise and attention
            kernels.
        bias_initializer: initializer of the biases.
        kernel_regularizer: regularizer of the depthwise and pointwise kernels.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: for `filters < 1`, `reduction < 1` or `> filters`, a bad
            `kernel_size`, `strides` or `padding`, an unknown `compile` mode, and
            at build time for an input that is not 4D.

    Example:
        >>> x = keras.Input((32, 32, 3))
        >>> y = SeparableConvSE(64, reduction=8)(x)  # (None, 32, 32, 64)
    """

    def __init__(
        self,
        filters: int,
        kernel_size=3,
        strides=1,
        padding: str = "same",
        reduction: int = 8,
        activation="relu",
        compile: str = "auto",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.strides = _pair("strides", strides)
        if not isinstance(padding, str) or padding.lower() not in PADDINGS:
            raise ValueError(
                f"Invalid value for argument `padding`. Expected one of "
                f"{list(PADDINGS)}. Received padding={padding!r}."
            )
        self.padding = padding.lower()
        self.reduction = check_positive_int("reduction", reduction)
        check_reduction_fits(self.reduction, self.filters, "filters")
        self.activation = keras.activations.get(activation)
        self.compile = check_compile_mode(compile)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.execution_mode = resolve_compile_mode(compile)
        self._kernels = make_kernels(self._core, self.execution_mode)

    def _core(self, x, *weights):
        # Pure in its tensor arguments (bias may be None); hyperparameters are fixed.
        return separable_conv_se(
            x,
            *weights,
            strides=self.strides,
            padding=self.padding,
            activation=self.activation,
        )

    def build(self, input_shape):
        channels = check_input_rank(self.name, input_shape)
        hidden = max(1, self.filters // self.reduction)
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=(*self.kernel_size, channels, 1),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1, 1, channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer
            )
        self.squeeze_kernel = self.add_weight(
            name="squeeze_kernel",
            shape=(self.filters, hidden),
            initializer=self.kernel_initializer,
        )
        self.squeeze_bias = self.add_weight(
            name="squeeze_bias", shape=(hidden,), initializer=self.bias_initializer
        )
        self.excite_kernel = self.add_weight(
            name="excite_kernel",
            shape=(hidden, self.filters),
            initializer=self.kernel_initializer,
        )
        self.excite_bias = self.add_weight(
            name="excite_bias", shape=(self.filters,), initializer=self.bias_initializer
        )

    def call(self, inputs):
        kernel = self._kernels[
            mode_for_device(
                self.compile, self.execution_mode, getattr(inputs, "device", "")
            )
        ]
        dtype = self.compute_dtype
        weights = [
            self.depthwise_kernel,
            self.pointwise_kernel,
            self.bias,
            self.squeeze_kernel,
            self.squeeze_bias,
            self.excite_kernel,
            self.excite_bias,
        ]
        return kernel(
            inputs, *(None if w is None else ops.cast(w, dtype) for w in weights)
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        sizes = []
        for size, k, s in zip(
            (height, width), self.kernel_size, self.strides, strict=True
        ):
            if size is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(-(-size // s))
            else:
                sizes.append(-(-(size - k + 1) // s))
        return (batch, *sizes, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "reduction": self.reduction,
                "activation": keras.activations.serialize(self.activation),
                "compile": self.compile,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
            }
        )
        return config
