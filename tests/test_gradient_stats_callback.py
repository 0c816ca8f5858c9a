"""GradientStats: in-step statistics vs a separate GradientTape pass, plumbing."""

import copy
import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from kt_capacity.gradient_stats import GradientStats

N, H, CLASSES = 16, 8, 3


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((N, H, H, 1)).astype("float32")
    y = rng.integers(0, CLASSES, N)
    return x, y


def _sequential():
    return keras.Sequential(
        [
            keras.Input((H, H, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv_1"),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv_2"),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES, name="head"),
        ]
    )


def _functional():
    inputs = keras.Input((H, H, 1))
    a = keras.layers.Conv2D(4, 3, activation="relu", name="conv_1")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", name="conv_2")(a)
    x = keras.layers.Flatten()(keras.layers.Add()([a, b]))
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="head")(x))


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="sub")
        self.conv_1 = keras.layers.Conv2D(4, 3, activation="relu", name="conv_1")
        self.flatten = keras.layers.Flatten()
        self.head = keras.layers.Dense(CLASSES, name="head")

    def build(self, input_shape):
        # A variable the model owns itself, reported under the model's name.
        self.temperature = self.add_weight(shape=(), initializer="ones", name="temp")
        super().build(input_shape)

    def call(self, x):
        return self.head(self.flatten(self.conv_1(x))) * self.temperature


BUILDERS = {
    "sequential": _sequential,
    "functional": _functional,
    "subclassed": _Subclassed,
}
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _tape_layer_stats(model, x, y, layer_of):
    """Per-layer pooled stats of a separate GradientTape pass (NumPy)."""
    with tf.GradientTape() as tape:
        loss = LOSS(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    pooled = {}
    for v, g in zip(model.trainable_variables, grads, strict=True):
        pooled.setdefault(layer_of[id(v)], []).append(g.numpy().reshape(-1))
    out = {}
    for name, parts in pooled.items():
        flat = np.abs(np.concatenate(parts).astype(np.float64))
        out[name] = {
            "mean_abs": flat.mean(),
            "rms": np.sqrt((flat**2).mean()),
            "max_abs": flat.max(),
            "frac_tiny": (flat < 1e-8).mean(),
            "nonfinite": 0.0,
        }
    return out


def _layer_of(model):
    owner = {}
    for layer in model._flatten_layers(include_self=True):
        for v in layer._trainable_variables:
            owner[id(v)] = layer.name
    return owner


def _assert_stats_close(got, want):
    assert list(got) == list(want)
    for name in want:
        for stat, value in want[name].items():
            np.testing.assert_allclose(got[name][stat], value, rtol=2e-5, err_msg=name)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_gradient_stats_callback_equals_gradient_tape(kind, optimizer):
    keras.utils.set_random_seed(0)
    model = BUILDERS[kind]()
    model.compile(optimizer=optimizer, loss=LOSS)
    x, y = _data()
    model(x[:1])
    want = _tape_layer_stats(model, x, y, _layer_of(model))
    stats = GradientStats()
    model.fit(x, y, batch_size=N, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    assert [r["step"] for r in stats.history] == [0] * len(want)
    _assert_stats_close(stats.latest(), want)
    if kind == "subclassed":
        assert "sub" in stats.latest()


def test_gradient_stats_callback_traced_into_already_built_train_function():
    keras.utils.set_random_seed(1)
    model = _sequential()
    model.compile(optimizer="sgd", loss=LOSS)
    x, y = _data(1)
    model.fit(x, y, batch_size=N, epochs=1, verbose=0)  # builds the train function
    want = _tape_layer_stats(model, x, y, _layer_of(model))
    stats = GradientStats()
    model.fit(x, y, batch_size=N, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    assert [r["step"] for r in stats.history][:1] == [1]
    _assert_stats_close(stats.latest(), want)
    # The wrap is undone: the optimizer's class method is back.
    assert "apply" not in vars(model.optimizer)


def test_gradient_stats_callback_unscales_loss_scale_optimizer():
    keras.utils.set_random_seed(2)
    model = _sequential()
    model.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD()),
        loss=LOSS,
    )
    x, y = _data(2)
    model(x[:1])
    want = _tape_layer_stats(model, x, y, _layer_of(model))
    stats = GradientStats()
    model.fit(x, y, batch_size=N, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    _assert_stats_close(stats.latest(), want)


@pytest.mark.parametrize(
    ("every", "steps_per_execution", "expected"),
    [(1, 1, [0, 1, 2, 3, 4, 5, 6, 7]), (3, 1, [0, 3, 6]), (1, 4, [3, 7])],
)
def test_gradient_stats_callback_records_every_n_steps(
    every, steps_per_execution, expected
):
    keras.utils.set_random_seed(3)
    model = _sequential()
    model.compile(optimizer="adam", loss=LOSS, steps_per_execution=steps_per_execution)
    x, y = _data(3)
    stats = GradientStats(every_n_steps=every)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[stats])
    assert sorted({r["step"] for r in stats.history}) == expected
    assert {r["layer"] for r in stats.history} == {"conv_1", "conv_2", "head"}


def test_gradient_stats_callback_flags_nonfinite_and_deepcopies():
    keras.utils.set_random_seed(4)
    model = _sequential()
    model.compile(optimizer="sgd", loss="mse")
    x, _ = _data(4)
    y = np.zeros((N, CLASSES), "float32")
    y[0, 0] = np.inf  # an infinite target: every layer's gradient has Inf/NaN
    stats = copy.deepcopy(GradientStats())
    model.fit(x, y, batch_size=N, epochs=1, verbose=0, callbacks=[stats])
    flags = {f.kind: f for f in stats.flags()}
    assert flags["nonfinite"].layers == ("conv_1", "conv_2", "head")
    assert all(v["nonfinite"] > 0 for v in stats.latest().values())
    assert copy.deepcopy(stats).history == stats.history


def test_gradient_stats_callback_writes_tensorboard_scalars(tmp_path):
    keras.utils.set_random_seed(5)
    model = _sequential()
    model.compile(optimizer="sgd", loss=LOSS)
    x, y = _data(5)
    stats = GradientStats(every_n_steps=2, log_dir=str(tmp_path))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[stats])
    tags = set()
    for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert "gradients/mean_abs/conv_1" in tags
    assert "gradients/nonfinite/head" in tags


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"every_n_steps": 0}, "Received every_n_steps=0"),
        ({"flag_window": 1.5}, "Received flag_window=1.5"),
        ({"tiny": -1.0}, "Received tiny=-1.0"),
    ],
)
def test_gradient_stats_callback_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradientStats(**kwargs)


class _Boom(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise RuntimeError("boom")


def test_gradient_stats_callback_recovers_from_an_interrupted_fit():
    keras.utils.set_random_seed(6)
    model = _sequential()
    model.compile(optimizer="sgd", loss=LOSS)
    x, y = _data(6)
    stats = GradientStats()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[stats, _Boom()])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[stats])
    steps = [r["step"] for r in stats.history if r["layer"] == "head"]
    assert steps == [0, 1, 2]
    assert "apply" not in vars(model.optimizer)


def test_gradient_stats_callback_under_xla_compiled_train_step():
    keras.utils.set_random_seed(7)
    model = _sequential()
    model.compile(optimizer="sgd", loss=LOSS, jit_compile=True)
    x, y = _data(7)
    model(x[:1])
    want = _tape_layer_stats(model, x, y, _layer_of(model))
    stats = GradientStats()
    model.fit(x, y, batch_size=N, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    _assert_stats_close(stats.latest(), want)
