"""Tests for kt_capacity.ops layers: every execution path against stock Keras layers."""

import importlib.util
import inspect
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kt_capacity.ops import ChannelAttention, SeparableConvSE, _execution

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
ATOL = 1e-5
MODES = ("native", "xla")


def _images(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _stock_attention(x, channels, reduction):
    s = keras.layers.GlobalAveragePooling2D()(x)
    s = keras.layers.Dense(max(1, channels // reduction), activation="relu")(s)
    s = keras.layers.Dense(channels, activation="sigmoid")(s)
    s = keras.layers.Reshape((1, 1, channels))(s)
    return keras.layers.Multiply()([x, s])


def _stock_separable_se(input_shape, filters, kernel_size, strides, padding, reduction):
    inputs = keras.Input(input_shape)
    y = keras.layers.DepthwiseConv2D(
        kernel_size, strides=strides, padding=padding, use_bias=False
    )(inputs)
    y = keras.layers.Conv2D(filters, 1, activation="relu")(y)
    return keras.Model(inputs, _stock_attention(y, filters, reduction))


def _stock_channel_attention(input_shape, reduction):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, _stock_attention(inputs, input_shape[-1], reduction))


def _wrap(layer, input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


def _pair_of_models(kind, mode, seed=0):
    """Ours and the stock composition, with the same (random, nonzero) weights."""
    keras.utils.set_random_seed(seed)
    if kind == "separable_conv_se":
        shape, args = (9, 9, 3), (8, 3, 2, "same", 4)
        ours = _wrap(SeparableConvSE(8, 3, strides=2, reduction=4, compile=mode), shape)
        stock = _stock_separable_se(shape, *args)
    else:
        shape = (6, 6, 8)
        ours = _wrap(ChannelAttention(4, compile=mode), shape)
        stock = _stock_channel_attention(shape, 4)
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal(w.shape).astype("float32") * 0.5 for w in ours.weights
    ]
    ours.set_weights(weights)
    stock.set_weights(weights)
    return ours, stock, shape


def _outputs_and_gradients(model, x, probe):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
        loss = tf.reduce_sum(y * probe)
    grads = tape.gradient(loss, [x, *model.trainable_variables])
    return y.numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("kind", ["separable_conv_se", "channel_attention"])
@pytest.mark.parametrize("mode", MODES)
def test_layer_matches_stock_outputs_and_gradients(kind, mode):
    ours, stock, shape = _pair_of_models(kind, mode)
    x = _images((3, *shape), seed=1)
    probe = _images((3, *stock.output_shape[1:]), seed=2)
    y_ours, g_ours = _outputs_and_gradients(ours, x, probe)
    y_stock, g_stock = _outputs_and_gradients(stock, x, probe)
    np.testing.assert_allclose(y_ours, y_stock, atol=ATOL)
    assert len(g_ours) == len(g_stock) == 1 + len(ours.weights)
    for got, want in zip(g_ours, g_stock, strict=True):
        assert np.abs(want).max() > 0  # the check below is not vacuous
        np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize("kind", ["separable_conv_se", "channel_attention"])
@pytest.mark.parametrize(
    ("mode", "jit"),
    [("native", False), ("native", True), ("xla", False), ("xla", True)],
)
def test_layer_matches_stock_after_compiled_train_step(kind, mode, jit):
    ours, stock, shape = _pair_of_models(kind, mode)
    x = _images((4, *shape), seed=3)
    target = _images((4, *stock.output_shape[1:]), seed=4)
    for model in (ours, stock):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit)
    loss_ours = ours.train_on_batch(x, target)
    loss_stock = stock.train_on_batch(x, target)
    np.testing.assert_allclose(loss_ours, loss_stock, atol=ATOL)
    for got, want in zip(ours.get_weights(), stock.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)
    np.testing.assert_allclose(
        ours.predict_on_batch(x), stock.predict_on_batch(x), atol=ATOL
    )


@pytest.mark.parametrize(
    ("input_shape", "kwargs", "expected"),
    [
        ((2, 8, 8, 3), {"filters": 16}, (2, 8, 8, 16)),
        ((2, 9, 9, 3), {"filters": 8, "strides": 2}, (2, 5, 5, 8)),
        ((2, 9, 7, 4), {"filters": 8, "padding": "valid"}, (2, 7, 5, 8)),
        (
            (1, 10, 10, 2),
            {
                "filters": 4,
                "kernel_size": 5,
                "strides": (2, 1),
                "reduction": 2,
                "padding": "valid",
            },
            (1, 3, 6, 4),
        ),
    ],
)
def test_separable_conv_se_output_shape(input_shape, kwargs, expected):
    layer = SeparableConvSE(**kwargs, compile="native")
    assert layer.compute_output_shape(input_shape) == expected
    assert tuple(layer(_images(input_shape)).shape) == expected
    hidden = max(1, kwargs["filters"] // kwargs.get("reduction", 8))
    assert [tuple(w.shape) for w in layer.weights][-4:] == [
        (kwargs["filters"], hidden),
        (hidden,),
        (hidden, kwargs["filters"]),
        (kwargs["filters"],),
    ]


@pytest.mark.parametrize(
    ("channels", "reduction", "hidden"), [(8, 8, 1), (16, 4, 4), (6, 4, 1)]
)
def test_channel_attention_shape_and_hidden_units(channels, reduction, hidden):
    layer = ChannelAttention(reduction)
    x = _images((2, 5, 5, channels))
    assert layer(x).shape == x.shape
    assert layer.squeeze_kernel.shape == (channels, hidden)
    assert layer.count_params() == 2 * channels * hidden + hidden + channels


@pytest.mark.parametrize("mode", MODES)
def test_separable_conv_se_without_bias_matches_stock(mode):
    keras.utils.set_random_seed(0)
    layer = SeparableConvSE(
        4, reduction=2, use_bias=False, activation=None, compile=mode
    )
    ours = _wrap(layer, (5, 5, 2))
    inputs = keras.Input((5, 5, 2))
    y = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(inputs)
    y = keras.layers.Conv2D(4, 1, use_bias=False)(y)
    stock = keras.Model(inputs, _stock_attention(y, 4, 2))
    stock.set_weights(ours.get_weights())
    x = _images((2, 5, 5, 2))
    np.testing.assert_allclose(ours(x), stock(x), atol=ATOL)


@pytest.mark.parametrize("cls", [SeparableConvSE, ChannelAttention])
def test_layer_get_config_is_exactly_constructor_arguments(cls):
    layer = cls(16, compile="native") if cls is SeparableConvSE else cls(4, "native")
    config = layer.get_config()
    own = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    assert set(config) == own | {"name", "trainable", "dtype"}
    clone = cls.from_config(config)
    assert clone.get_config() == config


def test_separable_conv_se_config_round_trip_keeps_arguments():
    layer = SeparableConvSE(
        12,
        kernel_size=(3, 5),
        strides=2,
        padding="valid",
        reduction=3,
        activation="gelu",
        compile="xla",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        name="block",
    )
    clone = SeparableConvSE.from_config(layer.get_config())
    assert (clone.filters, clone.kernel_size, clone.strides, clone.padding) == (
        12,
        (3, 5),
        (2, 2),
        "valid",
    )
    assert (clone.reduction, clone.compile, clone.use_bias, clone.name) == (
        3,
        "xla",
        False,
        "block",
    )
    assert clone.activation is keras.activations.gelu
    assert isinstance(clone.kernel_regularizer, keras.regularizers.L2)


@pytest.mark.parametrize("mode", MODES)
def test_layers_save_and_load_give_identical_predictions(tmp_path, mode):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            SeparableConvSE(8, reduction=4, compile=mode),
            ChannelAttention(2, compile=mode),
            SeparableConvSE(8, strides=2, compile=mode),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    x = _images((2, 8, 8, 3))
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = keras.models.load_model(path)  # no custom_objects
    assert isinstance(restored.layers[0], SeparableConvSE)
    assert restored.layers[0].compile == mode
    np.testing.assert_array_equal(
        model.predict_on_batch(x), restored.predict_on_batch(x)
    )


class SubclassedNet(keras.Model):
    def __init__(self, mode):
        super().__init__()
        self.block = SeparableConvSE(8, reduction=2, compile=mode)
        self.attention = ChannelAttention(2, compile=mode)
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(2)

    def call(self, x):
        return self.head(self.pool(self.attention(self.block(x))))


@pytest.mark.parametrize("mode", MODES)
def test_layers_train_in_subclassed_model(mode):
    keras.utils.set_random_seed(0)
    model = SubclassedNet(mode)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = _images((4, 6, 6, 3)), _images((4, 2), seed=1)
    losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
    assert losses[2] < losses[0]


@pytest.fixture
def mixed_float16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("mode", MODES)
def test_layers_train_under_mixed_float16(mixed_float16, mode):
    keras.utils.set_random_seed(0)
    block = SeparableConvSE(8, reduction=2, compile=mode)
    attention = ChannelAttention(2, compile=mode)
    inputs = keras.Input((6, 6, 3))
    features = attention(block(inputs))
    outputs = keras.layers.Dense(2, dtype="float32")(
        keras.layers.GlobalAveragePooling2D()(features)
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert features.dtype == "float16"
    assert block.depthwise_kernel.dtype == "float32"
    loss = model.train_on_batch(_images((4, 6, 6, 3)), _images((4, 2), seed=1))
    assert np.isfinite(loss)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: SeparableConvSE(0), r"`filters`.*strictly positive.*filters=0"),
        (lambda: SeparableConvSE(-3), r"filters=-3"),
        (lambda: SeparableConvSE(8, reduction=0), r"`reduction`.*reduction=0"),
        (
            lambda: SeparableConvSE(8, reduction=16),
            r"at most the number of filters \(8\)",
        ),
        (
            lambda: SeparableConvSE(8, compile="fast"),
            r"`compile`.*'auto', 'xla', 'native'.*'fast'",
        ),
        (lambda: SeparableConvSE(8, padding="full"), r"`padding`.*padding='full'"),
        (lambda: SeparableConvSE(8, kernel_size=0), r"`kernel_size`.*kernel_size=0"),
        (lambda: SeparableConvSE(8, strides=(1, 2, 3)), r"`strides`"),
        (lambda: ChannelAttention(0), r"`reduction`.*reduction=0"),
        (lambda: ChannelAttention(2.5), r"reduction=2.5"),
        (lambda: ChannelAttention(4, compile="jit"), r"compile='jit'"),
    ],
)
def test_layer_rejects_bad_arguments_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("layer", "shape", "match"),
    [
        (
            lambda: ChannelAttention(16),
            (2, 4, 4, 8),
            r"at most the number of input channels \(8\).*reduction=16",
        ),
        (lambda: ChannelAttention(2), (2, 4, 8), r"must have rank 4.*rank 3"),
        (lambda: SeparableConvSE(8), (2, 8), r"must have rank 4.*rank 2"),
        (lambda: SeparableConvSE(8), (1, 4, 4, 4, 3), r"must have rank 4.*rank 5"),
    ],
)
def test_layer_rejects_bad_inputs_at_build(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(np.zeros(shape, "float32"))


def test_compile_auto_picks_native_without_gpu_and_xla_with_one(monkeypatch):
    monkeypatch.setattr(_execution, "gpu_available", lambda: False)
    assert SeparableConvSE(8).execution_mode == "native"
    assert ChannelAttention().execution_mode == "native"
    monkeypatch.setattr(_execution, "gpu_available", lambda: True)
    assert SeparableConvSE(8).execution_mode == "xla"
    assert SeparableConvSE(8, compile="native").execution_mode == "native"
    assert ChannelAttention().execution_mode == "xla"


@pytest.mark.parametrize(
    ("compile", "resolved", "device", "expected"),
    [
        ("auto", "xla", "/job:localhost/replica:0/task:0/device:CPU:0", "native"),
        ("auto", "xla", "/job:localhost/replica:0/task:0/device:GPU:0", "xla"),
        ("auto", "xla", "", "xla"),
        ("xla", "xla", "/device:CPU:0", "xla"),
        ("auto", "native", "/device:GPU:0", "native"),
    ],
)
def test_mode_for_device_falls_back_to_native_on_cpu_only_for_auto(
    compile, resolved, device, expected
):
    assert _execution.mode_for_device(compile, resolved, device) == expected


def test_compile_auto_runs_native_for_cpu_placed_input_on_gpu_machine(monkeypatch):
    monkeypatch.setattr(_execution, "gpu_available", lambda: True)
    layer = ChannelAttention(2)
    assert layer.execution_mode == "xla"

    def must_not_run(*args):
        raise AssertionError("XLA path used for a CPU-placed input")

    layer._kernels["xla"] = must_not_run
    with tf.device("/CPU:0"):
        x = tf.constant(_images((2, 4, 4, 4)))
        y = layer(x)
    assert y.shape == x.shape


@pytest.mark.slow
def test_ops_throughput_smoke_runs():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.ops_throughput", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ops_throughput: ")
    assert [line.split()[0] for line in lines[2:]] == ["stock", "auto"]
    assert float(lines[2].split()[2]) == 1.0  # stock against itself


@pytest.mark.slow
def test_channel_attention_example_trains_and_round_trips(tmp_path):
    path = os.path.join(REPO, "examples", "channel_attention_in_existing_model.py")
    spec = importlib.util.spec_from_file_location("channel_attention_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(str(tmp_path))
    assert np.isfinite(result["loss"])
    assert result["params_added"] == 82 + 292 + 1096 + 4240  # 16, 32, 64, 128 channels
    assert result["max_abs_diff"] == 0.0
    assert os.path.exists(result["path"])


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="needs a GPU visible to TensorFlow")
@pytest.mark.parametrize("kind", ["separable_conv_se", "channel_attention"])
def test_layer_auto_mode_uses_xla_on_gpu_and_matches_stock(kind):
    tf32 = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)  # exact fp32
    try:
        ours, stock, shape = _pair_of_models(kind, "auto")
        assert ours.layers[-1].execution_mode == "xla"
        x = _images((3, *shape), seed=1)
        probe = _images((3, *stock.output_shape[1:]), seed=2)
        y_ours, g_ours = _outputs_and_gradients(ours, x, probe)
        y_stock, g_stock = _outputs_and_gradients(stock, x, probe)
        np.testing.assert_allclose(y_ours, y_stock, atol=ATOL)
        for got, want in zip(g_ours, g_stock, strict=True):
            np.testing.assert_allclose(got, want, atol=ATOL)
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(tf32)
