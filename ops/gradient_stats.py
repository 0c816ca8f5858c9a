"""Fused per-variable gradient statistics: one graph call, one `[n, 5]` tensor.

Computed from the gradients a train step already has, so gradient health costs a few
reductions instead of the tutorial's extra forward/backward pass. The op is a
`tf.function`, inlined into the caller's graph when called inside a train step. XLA
is optional (`jit_compile=True`): measured on the CPU here (TF 2.21, 2 cores, 5-conv
CNN's 14 gradients) it makes the op alone faster (1.0 vs 1.5 ms per call) but gave
no measurable gain inside the train step (1.7 % vs 1.3 % CPU-time overhead, both
within noise; benchmarks/RESULTS.md, issue 4), so the default stays off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

#: Column names of the tensor returned by `gradient_stats`, in order.
GRADIENT_STAT_NAMES = ("mean_abs", "rms", "max_abs", "frac_tiny", "nonfinite")

_NAN = float("nan")


def _one_row(grad, tiny):
    """Statistics of one gradient tensor as a float32 vector of 5 entries."""
    if grad is None:
        return tf.fill([len(GRADIENT_STAT_NAMES)], tf.constant(_NAN, tf.float32))
    if isinstance(grad, tf.IndexedSlices):
        grad = tf.convert_to_tensor(grad)
    flat = tf.reshape(tf.cast(grad, tf.float32), [-1])
    magnitude = tf.abs(flat)
    finite = tf.math.is_finite(flat)
    finite_magnitude = tf.where(finite, magnitude, tf.zeros_like(magnitude))
    # Counts in int64 (exact past 2**24 entries), cast once at the end.
    count = tf.cast(tf.size(flat, out_type=tf.int64), tf.float32)
    finite_count = tf.cast(tf.math.count_nonzero(finite, dtype=tf.int64), tf.float32)
    has_finite = finite_count > 0.0
    # reduce_max of an empty tensor is the lowest float: report NaN instead.
    max_abs = tf.where(has_finite, tf.reduce_max(finite_magnitude), _NAN)
    mean_abs = tf.math.divide(tf.reduce_sum(finite_magnitude), finite_count)
    # Scale by the max before squaring so that |g| > 1e19 does not overflow float32.
    scale = tf.where(max_abs > 0.0, max_abs, 1.0)
    rms = scale * tf.sqrt(
        tf.math.divide(tf.reduce_sum(tf.square(finite_magnitude / scale)), finite_count)
    )
    tiny_count = tf.math.count_nonzero(magnitude < tiny, dtype=tf.int64)
    frac_tiny = tf.math.divide(tf.cast(tiny_count, tf.float32), count)
    nonfinite = count - finite_count
    return tf.stack([mean_abs, rms, max_abs, frac_tiny, nonfinite])


def _stack_rows(grads, tiny):
    """Reference path: per-tensor reductions, about 15 small ops per gradient."""
    return tf.stack([_one_row(g, tiny) for g in grads], axis=0)


def _lean_rows(grads, tiny):
    """Fast path: few ops per gradient, the arithmetic done once on [n] vectors.

    A train step's gradient list is long (kernel + bias per layer) and each tensor
    small, so on the CPU the per-op cost dominates: this keeps 15 ops per gradient
    (the reference path has about 30) and finishes mean/RMS/fractions on stacked
    vectors. Same results as `_stack_rows` (tested).
    """
    present = [i for i, g in enumerate(grads) if g is not None]
    n_rows = len(grads)
    if not present:
        return tf.fill([n_rows, len(GRADIENT_STAT_NAMES)], _NAN)
    sums, maxes, squares, finites, tinies, counts = [], [], [], [], [], []
    for i in present:
        grad = grads[i]
        if isinstance(grad, tf.IndexedSlices):
            grad = tf.convert_to_tensor(grad)
        magnitude = tf.abs(tf.reshape(tf.cast(grad, tf.float32), [-1]))
        finite = tf.math.is_finite(magnitude)
        finite_magnitude = tf.where(finite, magnitude, 0.0)
        # reduce_max of an empty tensor is the lowest float; NaN'd below.
        largest = tf.reduce_max(finite_magnitude)
        # Scale by the max before squaring so |g| > 1e19 does not overflow float32.
        scale = tf.maximum(largest, 1e-30)
        sums.append(tf.reduce_sum(finite_magnitude))
        maxes.append(largest)
        squares.append(tf.reduce_sum(tf.square(finite_magnitude / scale)))
        finites.append(tf.reduce_sum(tf.cast(finite, tf.int64)))
        tinies.append(tf.reduce_sum(tf.cast(magnitude < tiny, tf.int64)))
        counts.append(tf.size(magnitude, out_type=tf.int64))
    count = tf.cast(tf.stack(counts), tf.float32)
    finite_count = tf.cast(tf.stack(finites), tf.float32)
    largest = tf.stack(maxes)
    max_abs = tf.where(finite_count > 0.0, largest, _NAN)
    mean_abs = tf.stack(sums) / finite_count
    rms = tf.maximum(largest, 1e-30) * tf.sqrt(tf.stack(squares) / finite_count)
    frac_tiny = tf.cast(tf.stack(tinies), tf.float32) / count
    rows = tf.stack([mean_abs, rms, max_abs, frac_tiny, count - finite_count], axis=1)
    if len(present) == n_rows:
        return rows
    # Put the rows back in place, a NaN row (index k) for each None gradient.
    k = len(present)
    where = {i: j for j, i in enumerate(present)}
    index = tf.constant([where.get(i, k) for i in range(n_rows)], tf.int32)
    nan_row = tf.fill([1, len(GRADIENT_STAT_NAMES)], _NAN)
    return tf.gather(tf.concat([rows, nan_row], axis=0), index)


_fused_stats = tf.function(_lean_rows, autograph=False)
_fused_stats_xla = tf.function(_lean_rows, autograph=False, jit_compile=True)
_reference_stats = tf.function(_stack_rows, autograph=False)


def gradient_stats(
    grads: Sequence, tiny: float = 1e-8, jit_compile: bool = False
) -> tf.Tensor:
    """Per-variable statistics of a list of gradients in one fused call.

    Columns (see `GRADIENT_STAT_NAMES`): mean |g|, RMS, max |g|, fraction of entries
    with |g| < `tiny`, number of non-finite entries. Mean, RMS and max are taken over
    the finite entries only (NaN/Inf are counted in the last column instead), so one
    bad entry does not hide the scale of the rest. Every gradient is cast to float32
    (float16, bfloat16, float64 accepted); scalars count as one entry;
    `tf.IndexedSlices` are densified.

    A `None` gradient (variable not reached by the loss) gives a row of NaN in all
    five columns: "no gradient" is kept distinct from "zero gradient". A tensor with
    no finite entry gives NaN mean/RMS/max; an empty tensor also gives NaN
    frac_tiny and 0 non-finite.

    Works eagerly and inside a `tf.function` (e.g. a Keras train step), where it is
    inlined into the caller's graph.

    Args:
        grads: list or tuple of gradient tensors (or `None`).
        tiny: threshold of the "tiny" column, >= 0.
        jit_compile: compile the op with XLA. Off by default: inside a CPU train
            step it was measured no faster (see the module docstring).

    Returns:
        A float32 tensor of shape `[len(grads), 5]` (`[0, 5]` for an empty list).

    Raises:
        TypeError: if `grads` is not a list or tuple.
        ValueError: if `tiny` is negative or not finite.

    Example:
        >>> stats = gradient_stats(tape.gradient(loss, model.trainable_variables))
        >>> stats.numpy()[:, 0]  # mean |g| per variable
    """
    if not isinstance(grads, (list, tuple)):
        raise TypeError(
            "Invalid value for argument `grads`. Expected a list or tuple of "
            f"gradient tensors. Received grads={grads!r}"
        )
    if not isinstance(tiny, (int, float)) or not math.isfinite(tiny) or tiny < 0:
        raise ValueError(
            "Invalid value for argument `tiny`. Expected a finite value >= 0. "
            f"Received tiny={tiny!r}"
        )
    if len(grads) == 0:
        return tf.zeros([0, len(GRADIENT_STAT_NAMES)], tf.float32)
    fused = _fused_stats_xla if jit_compile else _fused_stats
    return fused(list(grads), tf.constant(tiny, tf.float32))
