"""Throughput of a 3-block SeparableConvSE net against the same net from stock layers.

Run from the repo root:

    python -m benchmarks.ops_throughput            # CPU figures for RESULTS.md
    python -m benchmarks.ops_throughput --smoke    # a few seconds, for CI
    python -m benchmarks.ops_throughput --modes native,xla --model-jit  # GPU study

Both nets hold the same weights (copied), run in the same process, and are timed in
alternating order; each figure is the median of `--repeats` timed runs of `--steps`
train steps (`train_on_batch`) or inference steps (`predict_on_batch`); ratios are
medians (and quartiles) of per-repeat ratios, stock time / this net's time.
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

    Timed runs of one phase alternate between kinds (order reversed every repeat),
    so each repeat gives a ratio of runs made under the same machine load.

    Args:
        kinds: net kinds for `build_net`, the first one the baseline.
        batch_size: images per step.
        steps: steps per timed run.
        repeats: timed runs per figure.
        model_jit: `jit_compile` passed to `Model.compile`.
        seed: seed for weights and data.

    Returns:
        `{kind: {phase: {"img_s", "ratio", "ratio_q1", "ratio_q3"}}}` for the
        phases `"train"` and `"infer"`: median throughput, and the median and
        quartiles of the per-repeat throughput ratios against the baseline.
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
    steps_of = {
        "train": lambda m: m.train_on_batch(x, y),
        "infer": lambda m: m.predict_on_batch(x),
    }
    seconds = {kind: {phase: [] for phase in steps_of} for kind in kinds}
    for r in range(repeats):
        order = kinds if r % 2 == 0 else list(reversed(kinds))
        for phase, step in steps_of.items():
            for kind in order:
                seconds[kind][phase].append(
                    _time_steps(lambda m=models[kind], s=step: s(m), steps)
                )
    baseline = seconds[kinds[0]]
    results = {}
    for kind, phases in seconds.items():
        results[kind] = {}
        for phase, runs in phases.items():
            ratios = [b / t for b, t in zip(baseline[phase], runs, strict=True)]
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            results[kind][phase] = {
                "img_s": batch_size * steps / statistics.median(runs),
                "ratio": statistics.median(ratios),
                "ratio_q1": q1,
                "ratio_q3": q3,
            }
    return results


def format_table(results: dict) -> str:
    """Formats `measure` results: median img/s, median ratio [quartiles]."""
    header = f"{'net':<8}"
    for phase in ("train", "infer"):
        header += f" {phase + ' img/s':>12} {'ratio [q1, q3]':>21}"
    lines = [header]
    for kind, phases in results.items():
        line = f"{kind:<8}"
        for phase in ("train", "infer"):
            f = phases[phase]
            line += (
                f" {f['img_s']:>12.1f} {f['ratio']:>6.3f} "
                f"[{f['ratio_q1']:.3f}, {f['ratio_q3']:.3f}]"
            )
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--modes", default="auto", help="comma-separated compile modes")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
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
