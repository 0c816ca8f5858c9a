"""Tests of the pure gradient-health rule and its rich table."""

import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from kt_capacity.gradient_health import GradientFlag, flag_gradients
from kt_capacity.report.gradients import gradient_table, sparkline

ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def test_flag_gradients_tutorial_vanishing_pattern():
    means = {
        "conv_1": 3e-3,
        "conv_2": 1e-3,
        "conv_3": 1e-6,
        "conv_4": 8e-7,
        "conv_5": 1e-6,
    }
    flags = flag_gradients(means)
    assert [f.kind for f in flags] == ["vanishing"]
    assert flags[0].layers == ("conv_3", "conv_4", "conv_5")
    assert "conv_4 8.0e-07" in flags[0].evidence


def test_flag_gradients_healthy_net_has_no_flags():
    assert flag_gradients({"conv_1": 8e-3, "conv_2": 2e-3, "dense": 5e-4}) == []


def test_flag_gradients_converged_net_with_uniformly_small_gradients_is_not_vanishing():
    assert flag_gradients({"a": 3e-6, "b": 1e-6, "c": 5e-6}) == []


def test_flag_gradients_relative_rule_catches_one_layer_far_below_median():
    flags = flag_gradients({"a": 1e-1, "b": 2e-1, "c": 5e-5})
    assert flags == [flags[0]] and flags[0].kind == "vanishing"
    assert flags[0].layers == ("c",)


@pytest.mark.parametrize(
    ("means", "layers"),
    [({"a": 1e-3, "b": 50.0}, ("b",)), ({"a": 11.0, "b": 2e-3, "c": 9.0}, ("a",))],
)
def test_flag_gradients_exploding(means, layers):
    flags = [f for f in flag_gradients(means) if f.kind == "exploding"]
    assert [f.layers for f in flags] == [layers]


def test_flag_gradients_nonfinite_from_nan_mean_or_counts_first():
    flags = flag_gradients(
        {"a": math.nan, "b": 1e-3, "c": 1e-3}, nonfinite={"a": 4, "c": 2}
    )
    assert flags == [
        GradientFlag(
            "nonfinite",
            ("a", "c"),
            "non-finite gradient entries (count per layer: a 4, c 2).",
        )
    ]


def test_flag_gradients_empty_input():
    assert flag_gradients({}) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"vanishing_abs": 0.0}, "Received vanishing_abs=0.0"),
        ({"vanishing_ratio": 1.0}, "Received vanishing_ratio=1.0"),
        ({"exploding_abs": math.inf}, "Received exploding_abs=inf"),
    ],
)
def test_flag_gradients_rejects_bad_thresholds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flag_gradients({"a": 1.0}, **kwargs)


def _history():
    records = []
    for step, scale in enumerate([1.0, 0.5, 0.1]):
        for layer, base in (("conv_1", 3e-3), ("conv_2", 1e-6), ("head", 2e-3)):
            records.append(
                {
                    "layer": layer,
                    "step": step,
                    "mean_abs": base * scale,
                    "rms": 2 * base * scale,
                    "max_abs": 10 * base * scale,
                    "frac_tiny": 0.25,
                    "nonfinite": 0.0,
                }
            )
    return records


def _render(renderable):
    console = Console(width=120, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_gradient_table_shows_latest_stats_trend_and_flags():
    history = _history()
    flags = flag_gradients({r["layer"]: r["mean_abs"] for r in history[-3:]})
    text = _render(gradient_table(history, flags))
    assert "Gradient health (step 2)" in text
    conv_2 = next(line for line in text.splitlines() if "conv_2" in line)
    assert "1.0e-07" in conv_2 and "25.0" in conv_2 and "vanishing" in conv_2
    assert "█▆▁" in conv_2  # 1.0 -> 0.5 -> 0.1 on a log scale
    assert "vanishing: conv_2;" in text


def test_gradient_table_without_records():
    assert "no gradient records" in _render(gradient_table([], []))


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1e-3, 1e-3], "▅▅"), ([1e-6, 1e-3, math.nan, 0.0], "▁█!_"), ([], "")],
)
def test_sparkline_log_scale_and_special_values(values, expected):
    assert sparkline(values) == expected


def test_sparkline_keeps_the_latest_values():
    assert sparkline([1.0, 1e-9, 1e-6, 1e-3], length=2) == "▁█"


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.exists(), reason="dataset-fashion-mnist not installed")
def test_gradient_depth_study_smoke():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.gradient_depth_study",
            "--smoke",
            "--depths",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"^  conv_2\s+\d\.\d+e-\d\d", out.stdout, re.M), out.stdout
    assert "flags:" in out.stdout
