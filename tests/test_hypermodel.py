"""CapacityHyperModel: the tutorial's CNN, its families, and impossible configs."""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kt_capacity.hypermodel import CapacityHyperModel, InfeasibleConfigError
from kt_capacity.space import Config


@pytest.mark.parametrize("depth, params", [(1, 347_146), (2, 305_194)])
def test_hypermodel_plain_params_match_tutorial_cnn(depth, params):
    # DESIGN.md: Fashion-MNIST, width 32: params fall from depth 1 to depth 2.
    hm = CapacityHyperModel((28, 28, 1), 10)
    assert hm.build_config(Config("plain", depth, 32)).count_params() == params


@pytest.mark.parametrize("family", ["plain", "residual", "separable_se"])
def test_hypermodel_families_build_and_train_one_step(family, seeded):
    hm = CapacityHyperModel((12, 12, 1), 3, families=[family], depths=[2], widths=[8])
    model = hm.build(kt.HyperParameters())
    x = np.random.rand(8, 12, 12, 1).astype("float32")
    y = np.arange(8) % 3
    logs = model.fit(x, y, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])
    assert model.output_shape == (None, 3)


def test_hypermodel_declares_the_lattice():
    hm = CapacityHyperModel(
        (28, 28, 1), 10, depths=[3, 1], widths=[32, 16], families=["plain", "residual"]
    )
    hp = kt.HyperParameters()
    hm.declare_hyperparameters(hp)
    assert hp.get("family") == "plain"
    assert {p.name: p.values for p in hp.space} == {
        "family": ["plain", "residual"],
        "depth": [1, 3],
        "width": [16, 32],
    }


def test_hypermodel_rejects_collapsing_config_with_reason():
    hm = CapacityHyperModel((8, 8, 1), 10)
    assert hm.infeasibility(Config("plain", 3, 16)) is None
    reason = hm.infeasibility(Config("plain", 4, 16))
    assert reason == (
        "depth 4 of valid 3x3 convs shrinks the 8x8 input to 0x0 before the 2x2 "
        "max-pool (needs >= 2)"
    )
    with pytest.raises(InfeasibleConfigError, match="plain d4 w16 is infeasible"):
        hm.build_config(Config("plain", 4, 16))
    assert hm.infeasibility(Config("residual", 9, 16)) is None  # same padding


def test_hypermodel_options_batch_norm_and_leaky_relu():
    hm = CapacityHyperModel((12, 12, 1), 3, batch_norm=True, activation="leaky_relu")
    model = hm.build_config(Config("plain", 2, 8))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 2
    assert "LeakyReLU" in kinds and "ReLU" not in kinds


def test_hypermodel_user_build_fn():
    def build_fn(depth, width, hp):
        dropout = hp.Float("dropout", 0.0, 0.5, default=0.1)
        return keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(width * depth),
                keras.layers.Dropout(dropout),
                keras.layers.Dense(2, "softmax"),
            ]
        )

    hm = CapacityHyperModel(depths=[2], widths=[3], build_fn=build_fn)
    model = hm.build(kt.HyperParameters())
    assert model.layers[0].units == 6
    assert model.compiled


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"depths": [0, 2]},
            r"`depths`. Expected a non-empty list of integers >= 1. "
            r"Received depths=\[0, 2\]",
        ),
        ({"widths": []}, "`widths`"),
        ({"families": ["dense"]}, r"Received families=\['dense'\]"),
        ({"activation": "tanh"}, "Received activation='tanh'"),
        ({"learning_rate": 0}, "learning_rate=0"),
        ({"input_shape": (28, 28)}, r"input_shape=\(28, 28\)"),
        ({"input_shape": (28, 28, 1), "num_classes": 1}, "num_classes=1"),
    ],
)
def test_hypermodel_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CapacityHyperModel(**kwargs)


def test_hypermodel_build_without_shape_says_how_to_fix():
    with pytest.raises(ValueError, match="CapacityTuner.search infer"):
        CapacityHyperModel().build(kt.HyperParameters())
