"""Drop `ChannelAttention` into an existing model, train a step, round-trip `.keras`.

The existing model is keras.applications' MobileNet (v1, alpha 0.25, `weights=None`,
32x32 input): a chain of layers, so attention goes in after the last ReLU of each
stage (the layer before each strided depthwise conv) while every original layer, and
its weights, is reused as is.

    python examples/channel_attention_in_existing_model.py
"""

from __future__ import annotations

import os
import tempfile

import keras
import numpy as np

from kt_capacity.ops import ChannelAttention

# MobileNet v1: the pointwise ReLU closing each resolution stage.
STAGE_ENDS = ("conv_pw_1_relu", "conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu")


def with_channel_attention(
    model: keras.Model, after: tuple[str, ...], reduction: int = 8
) -> keras.Model:
    """Rebuilds a chain-shaped functional model with attention after named layers.

    Args:
        model: a functional model whose layers form a single chain.
        after: names of the layers to follow with a `ChannelAttention`.
        reduction: reduction ratio of each inserted attention.

    Returns:
        A new model sharing the original layers (and weights).

    Raises:
        ValueError: when a name is missing or the model branches.
    """
    names = {layer.name for layer in model.layers}
    missing = sorted(set(after) - names)
    if missing:
        raise ValueError(
            f"Invalid value for argument `after`: no layers named {missing} in "
            f"model '{model.name}'."
        )
    inputs = keras.Input(model.input_shape[1:])
    x = inputs
    previous = model.layers[0]
    for layer in model.layers[1:]:
        if layer.input is not previous.output:
            raise ValueError(f"Model '{model.name}' is not a chain at '{layer.name}'.")
        x = layer(x)
        previous = layer
        if layer.name in after:
            x = ChannelAttention(reduction, name=f"{layer.name}_attention")(x)
    return keras.Model(inputs, x, name=f"{model.name}_attention")


def main(directory: str | None = None, seed: int = 0) -> dict:
    """Builds, trains one step, saves and reloads the model.

    Args:
        directory: where to write `m.keras` (a temporary folder when None).
        seed: seed for weights and data.

    Returns:
        `{"loss", "params_added", "max_abs_diff", "path"}`: the training-step loss,
        parameters the attention layers added and the largest difference between
        predictions before and after the `.keras` round-trip.
    """
    keras.utils.set_random_seed(seed)
    base = keras.applications.MobileNet(
        input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None
    )
    features = with_channel_attention(base, STAGE_ENDS)
    pooled = keras.layers.GlobalAveragePooling2D()(features.output)
    outputs = keras.layers.Dense(10, activation="softmax")(pooled)
    model = keras.Model(features.input, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy"
    )

    rng = np.random.default_rng(seed)
    x = rng.random((8, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=(8,))
    loss = float(model.train_on_batch(x, y))

    directory = directory or tempfile.mkdtemp()
    path = os.path.join(directory, "m.keras")
    model.save(path)
    restored = keras.models.load_model(path)  # no custom_objects: registered layers
    before = model.predict_on_batch(x)
    after = restored.predict_on_batch(x)
    return {
        "loss": loss,
        "params_added": model.count_params()
        - base.count_params()
        - (base.output_shape[-1] + 1) * 10,
        "max_abs_diff": float(np.max(np.abs(before - after))),
        "path": path,
    }


if __name__ == "__main__":
    result = main()
    print(
        f"one training step, loss {result['loss']:.4f}; ChannelAttention added "
        f"{result['params_added']} params; .keras round-trip max |diff| "
        f"{result['max_abs_diff']:.3g} ({result['path']})"
    )
