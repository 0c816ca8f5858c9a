"""Throughput cost of gradient statistics: in-step GradientStats vs the tutorial probe.

Run: python -m benchmarks.grad_stats_overhead [--rounds 5] [--steps 40] [--smoke]

Variants, measured in the same run and interleaved round by round (so machine noise
hits all of them alike), on the tutorial's 5-conv CNN at 28x28x1 on the CPU:
  baseline        model.fit, no statistics
  stats_every_1   GradientStats(every_n_steps=1)
  stats_every_10  GradientStats(every_n_steps=10)
  stats_every_1_xla  same as stats_every_1 with the op XLA-compiled (jit_compile)
  probe_every_10  the tutorial's way: every 10 batches an extra forward/backward
                  on a probe batch and one reduce_mean(abs(g)).numpy() per variable
A round times `steps` train steps per variant (after 2 untimed steps that absorb the
tracing) from batch end to batch end, callbacks included; figures are medians over
rounds of images per wall second and per process CPU second, overhead is against
the baseline's median.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from kt_capacity.gradient_stats import GradientStats
from kt_capacity.ops.gradient_stats import gradient_stats

WARMUP_STEPS = 2


def tutorial_cnn(
    depth: int = 5, width: int = 32, shape=(28, 28, 1), activation: str = "relu"
) -> keras.Model:
    """The tutorial's plain CNN: `depth` valid 3x3 convs, pool, Dense(64), Dense(10)."""
    layers = [keras.Input(shape)]
    layers += [
        keras.layers.Conv2D(width, 3, activation=activation, name=f"conv_{i + 1}")
        for i in range(depth)
    ]
    layers += [
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", name="dense"),
        keras.layers.Dense(10, name="logits"),
    ]
    return keras.Sequential(layers)


class TutorialProbe(keras.callbacks.Callback):
    """The tutorial's gradient check: extra forward/backward on a probe batch."""

    def __init__(self, x, y, every_n_steps: int = 10):
        super().__init__()
        self.x, self.y, self.every_n_steps = x, y, every_n_steps
        self.means = []

    def on_train_batch_end(self, batch, logs=None):
        if batch % self.every_n_steps:
            return
        with tf.GradientTape() as tape:
            loss = self.model.compute_loss(
                x=self.x, y=self.y, y_pred=self.model(self.x, training=True)
            )
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.means.append([tf.reduce_mean(tf.abs(g)).numpy() for g in grads])


class StepTimer(keras.callbacks.Callback):
    """Wall and process CPU time from the end of the warm-up steps to the last batch."""

    def on_train_begin(self, logs=None):
        self.start = self.end = self.cpu_start = self.cpu_end = None

    def on_train_batch_end(self, batch, logs=None):
        if batch == WARMUP_STEPS - 1:
            self.start, self.cpu_start = time.perf_counter(), time.process_time()
        self.end, self.cpu_end = time.perf_counter(), time.process_time()


def _xla_stats(every_n_steps):
    callback = GradientStats(every_n_steps=every_n_steps)
    callback._stats_fn = functools.partial(gradient_stats, jit_compile=True)
    return callback


def run(rounds: int, steps: int, batch: int, width: int, seed: int = 0) -> dict:
    """Measures every variant; returns {variant: {"wall"|"cpu": [img/s per round]}}."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch * 8, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, batch * 8)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache().repeat()
    probe = (x[:batch], y[:batch])
    variants = {
        "baseline": lambda: [],
        "stats_every_1": lambda: [GradientStats(every_n_steps=1)],
        "stats_every_10": lambda: [GradientStats(every_n_steps=10)],
        "stats_every_1_xla": lambda: [_xla_stats(1)],
        "probe_every_10": lambda: [TutorialProbe(*probe, every_n_steps=10)],
    }
    models = {}
    for name in variants:
        keras.utils.set_random_seed(seed)
        model = tutorial_cnn(width=width)
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        models[name] = model
    results = {name: {"wall": [], "cpu": []} for name in variants}
    for _ in range(rounds):
        for name, make_callbacks in variants.items():
            timer = StepTimer()
            models[name].fit(
                data,
                epochs=1,
                steps_per_epoch=WARMUP_STEPS + steps,
                callbacks=[*make_callbacks(), timer],
                shuffle=False,
                verbose=0,
            )
            images = batch * steps
            results[name]["wall"].append(images / (timer.end - timer.start))
            results[name]["cpu"].append(images / (timer.cpu_end - timer.cpu_start))
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.steps, args.batch, args.width = 1, 10, 8, 4
    results = run(args.rounds, args.steps, args.batch, args.width)
    print(
        f"5-conv CNN 28x28x1, width {args.width}, batch {args.batch}, "
        f"{args.steps} timed steps x {args.rounds} rounds (interleaved)"
    )
    print(
        "img/s = images per wall second; img/cpu-s = images per CPU second of this "
        "process (all its threads), less sensitive to other load on a shared machine"
    )
    base = {k: statistics.median(results["baseline"][k]) for k in ("wall", "cpu")}
    print(
        f"{'variant':<20}{'img/s':>8}{'overhead':>10}{'img/cpu-s':>11}{'overhead':>10}"
        "  img/s per round"
    )
    for name, values in results.items():
        wall, cpu = (statistics.median(values[k]) for k in ("wall", "cpu"))
        rounds = " ".join(f"{v:.0f}" for v in values["wall"])
        print(
            f"{name:<20}{wall:>8.0f}{100 * (1 - wall / base['wall']):>9.1f}%"
            f"{cpu:>11.0f}{100 * (1 - cpu / base['cpu']):>9.1f}%  {rounds}"
        )


if __name__ == "__main__":
    main()
