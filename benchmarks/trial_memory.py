"""Resident memory across many CapacityTuner trials (Keras Tuner issues 395, 873, 1031).

Runs a search of many tiny trials on scikit-learn's digits and reads the process's
RSS after each trial; prints the growth per trial after a warm-up. Each variant runs
in a fresh process of its own: the tuner as shipped (Keras session cleared after each
trial, GradientStats on), the same without GradientStats, and as the baseline the
tuner that never clears the session.

    python -m benchmarks.trial_memory            # 30 trials each way
    python -m benchmarks.trial_memory --smoke    # 3 trials each way (CI)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile

import keras
import keras_tuner as kt

from kt_capacity import CapacityHyperModel, CapacityTuner, load_dataset


def rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class _KeepSession(CapacityTuner):
    """The baseline: a tuner that never clears the Keras session."""

    def on_trial_end(self, trial):
        saved = keras.backend.clear_session
        keras.backend.clear_session = lambda *a, **k: None
        try:
            super().on_trial_end(trial)
        finally:
            keras.backend.clear_session = saved


def measure(tuner_cls, gradient_stats: bool, trials: int, data) -> list[float]:
    readings: list[float] = []

    class Probe(tuner_cls):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            readings.append(rss_mib())

    widths = list(range(4, 4 + trials))
    with tempfile.TemporaryDirectory() as tmp:
        tuner = Probe(
            CapacityHyperModel(depths=[1], widths=widths),
            # Grid search visits every width: the trial count does not depend on
            # the capacity policy.
            kt.oracles.GridSearchOracle(
                objective=kt.Objective("val_accuracy", "max"), max_trials=trials
            ),
            gradient_stats=gradient_stats,
            directory=tmp,
        )
        tuner.search(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=1,
            batch_size=64,
            verbose=0,
        )
    return readings


def growth_per_trial(readings: list[float]) -> float:
    """Median MiB added per trial after the first third (warm-up) of the trials."""
    tail = readings[len(readings) // 3 :]
    steps = [b - a for a, b in zip(tail, tail[1:], strict=False)]
    return statistics.median(steps) if steps else 0.0


VARIANTS = {
    "baseline: session kept": (_KeepSession, True),
    "CapacityTuner (session cleared)": (CapacityTuner, True),
    "CapacityTuner, no GradientStats": (CapacityTuner, False),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="3 trials each way")
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    trials = 3 if args.smoke else args.trials
    if args.variant:  # one measurement, in this fresh process
        keras.utils.set_random_seed(0)
        data = load_dataset("digits", seed=0, max_train=200, max_val=100)
        tuner_cls, stats = VARIANTS[args.variant]
        print(json.dumps(measure(tuner_cls, stats, trials, data)))
        return
    for name in VARIANTS:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.trial_memory",
                "--variant",
                name,
                "--trials",
                str(trials),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        readings = json.loads(out.strip().splitlines()[-1])
        print(
            f"{name:32s} trials {len(readings):3d}  RSS first {readings[0]:7.1f} MiB "
            f"last {readings[-1]:7.1f} MiB  median growth "
            f"{growth_per_trial(readings):+.2f} MiB/trial"
        )


if __name__ == "__main__":
    main()
