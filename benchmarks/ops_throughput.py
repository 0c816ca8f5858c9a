"""Throughput of a 3-block SeparableConvSE net against the same net from stock layers.

Run from the repo root:

    python -m benchmarks.ops_throughput            # CPU figures for RESULTS.md
    python -m benchmarks.ops_throughput --smoke    # a few seconds, for CI
    python -m benchmarks.ops_throughput --modes native,xla --model-jit  # GPU study

Both nets hold the same weights (copied), run in the same process, and are timed in
alternating order; each figure is the median of `--repeats` timed runs of `--steps`
train steps (`train_on_batch`) or inference steps (`predict_on_batch`).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from kt_capacity.ops import SeparableConvSE
from kt_capacity.ops._execution import gpu_available

BLOCKS = ((32, 1), (64, 2), (128, 2))  # (filters, strides) per block
REDUCTION = 8


def stock_block(x, filters: int, strides: int, reduction: int = REDUCTION):
    """The SeparableConvSE block composed from stock Keras layers."""
    y = keras.layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False
    )(x)
    y = keras.layers.Conv2D(filters, 1, activation="relu")(y)
    s = keras.layers.GlobalAveragePooling2D()(y)
    s = keras.layers.Dense(max(1, filters // reduction), activation="relu")(s)
    s = keras.layers.Dense(filters, activation="sigmoid")(s)
    s = keras.layers.Reshape((1, 1, filters))(s)
    return keras.layers.Multiply()([y, s])


def build_net(kind: str, input_shape=(32, 32, 3), classes: int = 10) -> keras.Model:
    """Builds the benchmark net.

    Args:
        kind: `"stock"` or a SeparableConvSE compile mode (`"auto"`, `"native"`,
            `"xla"`).
        input_shape: image shape, channels last.
        classes: softmax outputs.

    Returns:
        An uncompiled functional model; all kinds have the same weight layout.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for filters, strides in BLOCKS:
        if kind == "stock":
            x = stock_block(x, filters, strides)
        else:
            x = SeparableConvSE(
                filters, strides=strides, reduction=REDUCTION, compile=kind
            )(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"net_{kind}")


def _time_steps(step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def measure(
    kinds, batch_size: int, steps: int, repeats: int, model_jit: bool, seed: int = 0
) -> dict:
    """Measures train and inference throughput of each net kind.

    Args:
        kinds: net kinds for `build_net`, the first one the baseline.
        batch_size: images per step.
        steps: steps per timed run.
        repeats: timed runs per figure (the median is kept).
        model_jit: `jit_compile` passed to `Model.compile`.
        seed: seed for weights and data.

    Returns:
        `{kind: {"train": img/s, "infer": img/s}}` (medians).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=(batch_size,))
    models = {}
    reference = None
    for kind in kinds:
        model = build_net(kind)
        if reference is None:
            reference = model.get_weights()
        else:
            model.set_weights(reference)
        model.compile(
            optimizer=keras.optimizers.SGD(0.01),
            loss="sparse_categorical_crossentropy",
            jit_compile=model_jit,
        )
        model.train_on_batch(x, y)  # trace + warm up
        model.predict_on_batch(x)
        models[kind] = model
    timings = {kind: {"train": [], "infer": []} for kind in kinds}
    for r in range(repeats):
        order = kinds if r % 2 == 0 else list(reversed(kinds))
        for kind in order:
            model = models[kind]
            timings[kind]["train"].append(
                _time_steps(lambda m=model: m.train_on_batch(x, y), steps)
            )
            timings[kind]["infer"].append(
                _time_steps(lambda m=model: m.predict_on_batch(x), steps)
            )
    return {
        kind: {
            phase: batch_size * steps / statistics.median(seconds)
            for phase, seconds in phases.items()
        }
        for kind, phases in timings.items()
    }


def format_table(results: dict, baseline: str = "stock") -> str:
    """Formats `measure` results with ratios against the baseline kind."""
    lines = [
        f"{'net':<10} {'train img/s':>12} {'ratio':>7} {'infer img/s':>12} {'ratio':>7}"
    ]
    base = results[baseline]
    for kind, figures in results.items():
        lines.append(
            f"{kind:<10} {figures['train']:>12.1f} "
            f"{figures['train'] / base['train']:>7.3f} "
            f"{figures['infer']:>12.1f} {figures['infer'] / base['infer']:>7.3f}"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--modes", default="auto", help="comma-separated compile modes")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model-jit", action="store_true", help="Model jit_compile")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.steps, args.repeats = 4, 1, 5
    kinds = ["stock", *args.modes.split(",")]
    results = measure(kinds, args.batch_size, args.steps, args.repeats, args.model_jit)
    device = "GPU" if gpu_available() else "CPU"
    print(
        f"ops_throughput: {device}, {platform.processor() or platform.machine()}, "
        f"TF {tf.__version__} / Keras {keras.__version__}, "
        f"batch {args.batch_size}, {args.steps} steps x median of {args.repeats}, "
        f"model jit_compile={args.model_jit}"
    )
    print(format_table(results))
    return results


if __name__ == "__main__":
    main()
