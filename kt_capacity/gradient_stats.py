"""GradientStats: per-layer gradient health from the train step's own gradients."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from kt_capacity.gradient_health import GradientFlag, flag_gradients
from kt_capacity.ops.gradient_stats import GRADIENT_STAT_NAMES, gradient_stats


def _layer_names(model: keras.Model, variables: Sequence) -> list[str]:
    """Name of the layer that owns each variable (the innermost one)."""
    owner = {}
    # _flatten_layers lists outer layers before their sublayers, so the innermost
    # owner is written last; a variable a model creates itself maps to the model.
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(layer, "_trainable_variables", []):
            owner[id(variable)] = layer.name
    return [
        owner.get(id(v), getattr(v, "path", None) or getattr(v, "name", "?"))
        for v in variables
    ]


def aggregate_layers(
    names: Sequence[str], sizes: Sequence[int], rows: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per-layer statistics from per-variable ones, as if the layer were one tensor.

    A layer's kernel and bias (and any other variables) are pooled: mean |g| and the
    tiny fraction are averages weighted by entry count, RMS is the root of the
    count-weighted mean square, max |g| the maximum, non-finite counts are summed.
    So the kernel, which holds most entries, dominates the layer's figure. Rows of
    NaN (variables without a gradient) are left out; a layer with none left is NaN.

    Args:
        names: layer name of each variable, in model order.
        sizes: number of entries of each variable.
        rows: `[n_variables, 5]` array from `gradient_stats`.

    Returns:
        layer name -> {stat name: value}, in model order.
    """
    pooled: dict[str, list] = {}
    for name, size, row in zip(names, sizes, rows, strict=True):
        pooled.setdefault(name, [])
        if not np.all(np.isnan(row)):
            pooled[name].append((float(size), row))
    layers = {}
    for name, parts in pooled.items():
        if not parts:
            layers[name] = {stat: math.nan for stat in GRADIENT_STAT_NAMES}
            continue
        nonfinite = sum(float(row[4]) for _, row in parts)
        # Mean/RMS are over finite entries: weight by the finite count.
        finite = [(max(size - float(row[4]), 0.0), row) for size, row in parts]
        finite_total = sum(n for n, _ in finite)
        total = sum(size for size, _ in parts)
        if finite_total > 0:
            mean_abs = sum(n * row[0] for n, row in finite if n) / finite_total
            rms = math.sqrt(
                sum(n * row[1] ** 2 for n, row in finite if n) / finite_total
            )
            max_abs = max(float(row[2]) for n, row in finite if n)
        else:
            mean_abs = rms = max_abs = math.nan
        frac_tiny = (
            sum(size * row[3] for size, row in parts if size) / total
            if total
            else math.nan
        )
        layers[name] = {
            "mean_abs": float(mean_abs),
            "rms": float(rms),
            "max_abs": float(max_abs),
            "frac_tiny": float(frac_tiny),
            "nonfinite": float(nonfinite),
        }
    return layers


class GradientStats(keras.callbacks.Callback):
    """Per-layer gradient statistics computed inside the compiled train step.

    The callback wraps the optimizer's `apply` for the duration of `fit`, so the
    statistics come from the very gradients the optimizer receives (no second
    forward/backward pass): every `every_n_steps` optimizer steps, the fused
    `kt_capacity.ops.gradient_stats` op runs in the train step's graph and assigns its
    `[n_variables, 5]` result to a non-trainable `tf.Variable`, which the callback
    reads once (one host transfer) when it is due. The train function is rebuilt at
    the start and the end of `fit` so the wrap is traced in and later taken out.

    Gradients are those passed to `optimizer.apply`, before clipping; a loss-scaled
    optimizer's (`LossScaleOptimizer`, `loss_scale_factor`) are unscaled first.
    Per-variable rows are pooled per layer (see `aggregate_layers`). With
    `steps_per_execution=k` the stats variable is read once per execution, so of
    the due steps inside one execution only the last is recorded.

    Args:
        every_n_steps: record every n-th optimizer step (steps 0, n, 2n, ...), >= 1.
        log_dir: optional TensorBoard directory; per-layer scalars
            `gradients/<stat>/<layer>` are written there when a record is read
            (host side, outside the train step). No histograms: they would need
            the full gradients on the host, which is what this callback avoids.
        tiny: threshold of the "frac_tiny" statistic, >= 0.
        flag_window: `flags()` judges the median mean |g| of each layer over this
            many latest records, >= 1.

    Attributes:
        history: list of records, one per layer per recorded step:
            `{"layer", "step", "mean_abs", "rms", "max_abs", "frac_tiny",
            "nonfinite"}`.

    Example:
        >>> stats = GradientStats(every_n_steps=10)
        >>> model.fit(x, y, callbacks=[stats])
        >>> stats.latest()["conv2d"]["mean_abs"], stats.flags()
    """

    def __init__(
        self,
        every_n_steps: int = 1,
        log_dir: str | None = None,
        tiny: float = 1e-8,
        flag_window: int = 20,
    ):
        super().__init__()
        for name, value in (
            ("every_n_steps", every_n_steps),
            ("flag_window", flag_window),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Invalid value for argument `{name}`. Expected an integer >= 1. "
                    f"Received {name}={value!r}"
                )
        if not isinstance(tiny, (int, float)) or not math.isfinite(tiny) or tiny < 0:
            raise ValueError(
                "Invalid value for argument `tiny`. Expected a finite value >= 0. "
                f"Received tiny={tiny!r}"
            )
        self.every_n_steps = every_n_steps
        self.log_dir = log_dir
        self.tiny = float(tiny)
        self.flag_window = flag_window
        self.history: list[dict] = []
        # The in-step op; benchmarks swap in the XLA variant to compare.
        self._stats_fn = gradient_stats
        self._reset_run_state()

    def _reset_run_state(self):
        self._optimizer = None
        self._stats_var = None
        self._step_var = None
        self._names: list[str] = []
        self._sizes: list[int] = []
        self._host_step = 0
        self._last_batch = -1
        self._last_read = -1
        self._writer = None

    # -- in-graph part -------------------------------------------------------

    def _unscale(self, grads, variables):
        optimizer = self._optimizer
        scale = None
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            if not optimizer.built:
                # As its own `apply` would do first: creates `dynamic_scale`.
                with keras.name_scope(optimizer.name, caller=optimizer):
                    optimizer.build(variables)
                optimizer.built = True
            scale = tf.cast(tf.convert_to_tensor(optimizer.dynamic_scale), tf.float32)
        elif getattr(optimizer, "loss_scale_factor", None) is not None:
            scale = tf.constant(float(optimizer.loss_scale_factor), tf.float32)
        if scale is None:
            return list(grads)
        return [None if g is None else tf.cast(g, tf.float32) / scale for g in grads]

    def _record_in_graph(self, grads, variables):
        grads = list(grads)
        if variables is None:
            variables = self._optimizer._trainable_variables
        variables = list(variables)
        if self._stats_var is None:
            with tf.init_scope():
                self._names = _layer_names(self.model, variables)
                self._sizes = [int(np.prod(v.shape)) for v in variables]
                self._stats_var = tf.Variable(
                    tf.fill([len(grads), len(GRADIENT_STAT_NAMES)], math.nan),
                    trainable=False,
                    name="gradient_stats",
                )
                self._step_var = tf.Variable(
                    tf.constant(-1, tf.int64), trainable=False, name="gradient_step"
                )
        step = tf.cast(tf.convert_to_tensor(self._optimizer.iterations), tf.int64)

        def compute():
            self._stats_var.assign(
                gradient_stats(self._unscale(grads, variables), self.tiny)
            )
            self._step_var.assign(step)
            return tf.constant(True)

        if self.every_n_steps == 1:
            compute()
        else:
            tf.cond(
                tf.equal(step % self.every_n_steps, 0),
                compute,
                lambda: tf.constant(False),
            )

    def _wrap(self, optimizer):
        # A wrap left by a fit that ended in an exception is taken off first.
        while hasattr(vars(optimizer).get("apply"), "_kt_gradient_stats_original"):
            previous = optimizer.apply._kt_gradient_stats_original
            optimizer.apply = previous
            if getattr(previous, "__self__", None) is optimizer:
                del optimizer.apply
        original = optimizer.apply
        self._had_instance_apply = "apply" in vars(optimizer)
        self._original_apply = original

        def apply(grads, trainable_variables=None):
            self._record_in_graph(grads, trainable_variables)
            return original(grads, trainable_variables)

        apply._kt_gradient_stats_original = original
        optimizer.apply = apply

    def _unwrap(self):
        optimizer = self._optimizer
        if optimizer is None:
            return
        if self._had_instance_apply:
            optimizer.apply = self._original_apply
        else:
            del optimizer.apply

    # -- callback hooks ------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._reset_run_state()
        self._optimizer = self.model.optimizer
        self._wrap(self._optimizer)
        self._host_step = int(self._optimizer.iterations.numpy())
        # A train function traced before (an earlier fit) would not contain the wrap.
        self.model.make_train_function(force=True)
        if self.log_dir is not None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        self._host_step += batch - self._last_batch
        self._last_batch = batch
        # Steps 0..host_step-1 have run; the latest one with statistics:
        due = (self._host_step - 1) // self.every_n_steps * self.every_n_steps
        if due > self._last_read and self._stats_var is not None:
            self._read()

    def on_train_end(self, logs=None):
        self._unwrap()
        self.model.make_train_function(force=True)
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
        self._reset_run_state()

    def _read(self):
        step = int(self._step_var.numpy())
        if step <= self._last_read:
            return
        self._last_read = step
        rows = self._stats_var.numpy()
        layers = aggregate_layers(self._names, self._sizes, rows)
        for name, stats in layers.items():
            self.history.append({"layer": name, "step": step, **stats})
        if self._writer is not None:
            with self._writer.as_default(step=step):
                for name, stats in layers.items():
                    for stat, value in stats.items():
                        tf.summary.scalar(f"gradients/{stat}/{name}", value)

    # -- findings ------------------------------------------------------------

    def latest(self) -> dict[str, dict[str, float]]:
        """Statistics of the latest recorded step.

        Returns:
            layer name -> {stat name: value}, in model order; empty before any record.
        """
        if not self.history:
            return {}
        step = self.history[-1]["step"]
        return {
            r["layer"]: {k: r[k] for k in GRADIENT_STAT_NAMES}
            for r in self.history
            if r["step"] == step
        }

    def flags(self) -> list[GradientFlag]:
        """Gradient-health flags over the latest `flag_window` recorded steps.

        Each layer is judged on the median of its mean |g| over those steps (robust to
        one noisy batch) with `kt_capacity.gradient_health.flag_gradients`; a layer
        with any non-finite entry over those steps is flagged non-finite.

        Returns:
            A list of `GradientFlag`, empty when healthy or before any record.
        """
        steps = sorted({r["step"] for r in self.history})[-self.flag_window :]
        window = set(steps)
        means: dict[str, list[float]] = {}
        nonfinite: dict[str, float] = {}
        for r in self.history:
            if r["step"] not in window:
                continue
            means.setdefault(r["layer"], [])
            if math.isfinite(r["mean_abs"]):
                means[r["layer"]].append(r["mean_abs"])
            if r["nonfinite"] > 0:
                nonfinite[r["layer"]] = nonfinite.get(r["layer"], 0.0) + r["nonfinite"]
        # A layer with no finite figure and no non-finite entry had no gradient.
        layer_means = {
            name: statistics.median(values) if values else math.nan
            for name, values in means.items()
            if values or name in nonfinite
        }
        return flag_gradients(layer_means, nonfinite=nonfinite)
