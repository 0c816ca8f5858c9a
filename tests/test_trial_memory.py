"""Smoke run of the trial-memory benchmark, so it never rots."""

import subprocess
import sys

import pytest

from benchmarks.trial_memory import growth_per_trial


def test_growth_per_trial_skips_warm_up_and_takes_the_median():
    readings = [100.0, 150.0, 160.0, 170.0, 171.0, 181.0]  # warm-up: first third
    assert growth_per_trial(readings) == 10.0


@pytest.mark.slow
def test_trial_memory_benchmark_smoke():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.trial_memory", "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if "MiB/trial" in line]
    assert len(lines) == 3 and all("trials   3" in line for line in lines)
