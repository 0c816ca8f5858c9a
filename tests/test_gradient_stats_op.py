"""Tests of kt_capacity.ops.gradient_stats against a NumPy reference."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from kt_capacity.ops import gradient_stats
from kt_capacity.ops.gradient_stats import GRADIENT_STAT_NAMES

gradient_stats_module = importlib.import_module("kt_capacity.ops.gradient_stats")

ROOT = Path(__file__).resolve().parents[1]


def _reference(grad, tiny=1e-8):
    if grad is None:
        return np.full(5, np.nan)
    flat = np.asarray(grad, np.float64).reshape(-1)
    finite = np.isfinite(flat)
    mag = np.abs(flat[finite])
    n_finite = finite.sum()
    mean = mag.mean() if n_finite else np.nan
    rms = np.sqrt((mag**2).mean()) if n_finite else np.nan
    mx = mag.max() if n_finite else np.nan
    frac = (np.abs(flat) < tiny).mean() if flat.size else np.nan
    return np.array([mean, rms, mx, frac, flat.size - n_finite])


def _as_np(t):
    return None if t is None else tf.cast(t, tf.float32).numpy()


@pytest.mark.parametrize("dtype", [tf.float32, tf.float16, tf.bfloat16])
def test_gradient_stats_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    grads = [
        tf.constant(rng.normal(size=(3, 3, 2, 4)) * 1e-3, dtype),
        tf.constant(rng.normal(size=(4,)), dtype),
        tf.constant(2.5, dtype),
        tf.constant(
            np.where(rng.random((5, 6)) < 0.3, 0.0, rng.normal(size=(5, 6))), dtype
        ),
    ]
    got = gradient_stats(grads).numpy()
    want = np.stack([_reference(_as_np(g)) for g in grads])
    assert got.shape == (4, len(GRADIENT_STAT_NAMES))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-12)


def test_gradient_stats_mixed_dtypes_none_empty_nonfinite():
    grads = [
        tf.constant([1.0, -2.0, np.nan, np.inf, 1e-9], tf.float32),
        None,
        tf.constant([[3.0, -4.0]], tf.float16),
        tf.zeros([0, 3]),
        tf.constant([np.inf, -np.inf], tf.bfloat16),
    ]
    got = gradient_stats(grads, tiny=1e-8).numpy()
    want = np.stack([_reference(_as_np(g)) for g in grads])
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[1]).all()
    assert got[0, 4] == 2 and got[4, 4] == 2


def test_gradient_stats_empty_list_shape():
    out = gradient_stats([])
    assert out.shape == (0, 5)
    assert out.dtype == tf.float32


def test_gradient_stats_large_values_do_not_overflow_rms():
    got = gradient_stats([tf.constant([3e20, -4e20])]).numpy()[0]
    np.testing.assert_allclose(got[1], np.sqrt((9e40 + 16e40) / 2), rtol=1e-5)


def test_gradient_stats_inside_tf_function_equals_eager():
    rng = np.random.default_rng(1)
    a = tf.constant(rng.normal(size=(7, 3)), tf.float32)

    @tf.function
    def stats_in_graph(x):
        return gradient_stats([x, None, tf.square(x)], tiny=0.1)

    got = stats_in_graph(a).numpy()
    want = gradient_stats([a, None, tf.square(a)], tiny=0.1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


def test_gradient_stats_rejects_bad_arguments():
    with pytest.raises(TypeError, match="Invalid value for argument `grads`"):
        gradient_stats(tf.ones([3]))
    with pytest.raises(ValueError, match="Received tiny=-1"):
        gradient_stats([tf.ones([3])], tiny=-1)


def test_gradient_stats_xla_equals_plain():
    rng = np.random.default_rng(2)
    grads = [
        tf.constant(rng.normal(size=(3, 3, 4, 8)), tf.float32),
        None,
        tf.constant(rng.normal(size=(8,)), tf.float16),
    ]
    np.testing.assert_allclose(
        gradient_stats(grads, jit_compile=True).numpy(),
        gradient_stats(grads).numpy(),
        rtol=1e-5,
        equal_nan=True,
    )


@pytest.mark.slow
def test_grad_stats_overhead_benchmark_smoke():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.grad_stats_overhead", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for variant in ("baseline", "stats_every_1", "stats_every_10", "probe_every_10"):
        assert re.search(rf"^{variant}\s+\d+\s+-?\d+\.\d%", out.stdout, re.M), (
            out.stdout
        )


def test_gradient_stats_fast_path_equals_reference_path():
    rng = np.random.default_rng(3)
    grads = [
        tf.constant(rng.normal(size=(3, 3, 4, 8)) * 1e-4, tf.float32),
        None,
        tf.constant([np.nan, 1.0, -np.inf, 0.0], tf.float32),
        tf.zeros([0]),
        tf.constant(rng.normal(size=(8,)), tf.bfloat16),
    ]
    tiny = tf.constant(1e-8)
    np.testing.assert_allclose(
        gradient_stats_module._fused_stats(grads, tiny).numpy(),
        gradient_stats_module._reference_stats(grads, tiny).numpy(),
        rtol=1e-6,
        equal_nan=True,
    )
