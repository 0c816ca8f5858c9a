"""CapacityTuner: runs capacity trials and records what each one teaches."""

from __future__ import annotations

import gc
import math
import time
import warnings

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine import tuner_utils

from kt_capacity import records
from kt_capacity.batch_losses import BatchLosses
from kt_capacity.costs import count_flops
from kt_capacity.data import validate_arrays
from kt_capacity.diagnosis import diagnose
from kt_capacity.gradient_stats import GradientStats
from kt_capacity.hypermodel import CapacityHyperModel, InfeasibleConfigError
from kt_capacity.interrupt import StopOnRequest, StopRequest, deferred_sigint
from kt_capacity.oracle import CapacityOracle
from kt_capacity.space import Config


class _EpochListener(keras.callbacks.Callback):
    def __init__(self, listener, trial_id, epochs):
        super().__init__()
        self.listener, self.trial_id, self.epochs = listener, trial_id, epochs

    def on_epoch_end(self, epoch, logs=None):
        self.listener.on_epoch_end(self.trial_id, epoch, self.epochs, dict(logs or {}))


def _patient(create_trial):
    """Wrap `create_trial` to wait, with back-off, while the oracle answers IDLE.

    Keras Tuner's search loop asks again at once after IDLE, which in distributed
    mode is a busy loop of gRPC calls while another worker trains the configuration
    the policy needs next.
    """

    def create(tuner_id):
        delay = 0.05
        while True:
            trial = create_trial(tuner_id)
            if trial.status != trial_module.TrialStatus.IDLE:
                return trial
            time.sleep(delay)
            delay = min(2 * delay, 1.0)

    return create


class CapacityTuner(kt.Tuner):
    """A Keras Tuner `Tuner` for capacity searches.

    Infers the input shape and class count from the data passed to `search`, never
    proposes a configuration that cannot exist (it is excluded with its reason),
    trains each trial with `GradientStats`, and reports as trial metrics the
    validation accuracy (objective, best epoch), final train/val accuracy and loss,
    train-val gap, params, FLOPs, fit verdict and seconds. Each trial's full record
    (per-epoch history, diagnosis, gradient health, the oracle's reason) is saved as
    JSON in its trial folder and the search summary in `summary.json`. The Keras
    session is cleared after every trial.

    Args:
        hypermodel: defaults to a `CapacityHyperModel()` with its default space.
        oracle: defaults to a `CapacityOracle()`.
        max_params: configurations with more parameters are excluded (with the
            reason), instead of failing as Keras Tuner's `max_model_size` does.
        gradient_stats: record per-layer gradient health during training.
        listener: optional object notified of progress (`on_trial_begin`,
            `on_epoch_end`, `on_trial_end`); the CLI uses it for its live display.
        **kwargs: passed to `keras_tuner.Tuner` (`directory`, `project_name`,
            `overwrite`, ...).

    Example:
        >>> tuner = CapacityTuner(directory="runs", project_name="fmnist")
        >>> tuner.search(x, y, validation_data=(xv, yv), epochs=2)  # doctest: +SKIP
        >>> best = tuner.get_best_models(1)[0]  # doctest: +SKIP
    """

    def __init__(
        self,
        hypermodel: CapacityHyperModel | None = None,
        oracle: kt.Oracle | None = None,
        *,
        max_params: int | None = None,
        gradient_stats: bool = True,
        listener=None,
        **kwargs,
    ):
        if max_params is not None and (
            not isinstance(max_params, int) or max_params < 1
        ):
            raise ValueError(
                "Invalid value for argument `max_params`. Expected an integer >= 1. "
                f"Received max_params={max_params!r}."
            )
        kwargs.setdefault("project_name", "kt_capacity")
        super().__init__(
            oracle=oracle if oracle is not None else CapacityOracle(),
            hypermodel=hypermodel if hypermodel is not None else CapacityHyperModel(),
            **kwargs,
        )
        self.max_params = max_params
        self._stop_request = StopRequest()
        if not dist_utils.is_chief_oracle():  # the chief's server must answer at once
            self.oracle.create_trial = _patient(self.oracle.create_trial)
        self.gradient_stats = gradient_stats
        self.listener = listener

    # -- search -------------------------------------------------------------------
    def _populate_initial_space(self):
        # Built-in families declare their space without building a model (the
        # input shape is only known once `search` sees the data); a user build_fn
        # is built once to discover its own hyperparameters.
        if getattr(self.hypermodel, "build_fn", None) is not None:
            if self.hypermodel.input_shape is not None:
                return super()._populate_initial_space()
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def search(self, *fit_args, **fit_kwargs):
        """Search the capacity space; arguments are those of `keras.Model.fit`.

        The input shape and class count come from `x`/`y` (arrays) or from the
        hypermodel when it was given them. Array inputs are validated first.
        """
        if isinstance(self.hypermodel, CapacityHyperModel):
            fit_args = self._prepare(fit_args, fit_kwargs)
        fit_kwargs.setdefault("verbose", 0 if self.listener is not None else 1)
        with deferred_sigint() as self._stop_request:
            return super().search(*fit_args, **fit_kwargs)

    def on_trial_begin(self, trial):
        self._stop_request.check()
        super().on_trial_begin(trial)

    def _prepare(self, fit_args: tuple, fit_kwargs: dict) -> tuple:
        """Validate array data, infer the model's shape, exclude impossible configs.

        Returns the positional fit arguments (validated arrays replace raw ones);
        `fit_kwargs` is updated in place.
        """
        x = fit_args[0] if fit_args else fit_kwargs.get("x")
        y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
        if isinstance(x, np.ndarray) and y is not None:
            fit_kwargs.pop("x", None)
            fit_kwargs.pop("y", None)
            x, y = validate_arrays(
                x, y, source="search(x, y)", split="train", unit_range=False
            )
            labels = [y]
            val = fit_kwargs.get("validation_data")
            if isinstance(val, tuple) and len(val) == 2:
                xv, yv = validate_arrays(
                    np.asarray(val[0]),
                    np.asarray(val[1]),
                    source="search(validation_data)",
                    split="validation",
                    unit_range=False,
                )
                fit_kwargs["validation_data"] = (xv, yv)
                labels.append(yv)
            fit_args = (x, y, *fit_args[2:])
            if self.hypermodel.input_shape is None:
                classes = max(int(v.max()) for v in labels) + 1
                self.hypermodel.set_data_shape(x.shape[1:], max(classes, 2))
        if self.hypermodel.input_shape is None:
            raise ValueError(
                "CapacityTuner.search could not infer the input shape: pass numpy "
                "arrays `x, y`, or give CapacityHyperModel `input_shape=` and "
                "`num_classes=`."
            )
        if self.hypermodel.build_fn is not None and self.oracle.hyperparameters.space:
            super()._populate_initial_space()
        if hasattr(self.oracle, "exclude"):
            for config in self.hypermodel.configs():
                reason = self._exclusion(config)
                if reason:
                    self.oracle.exclude(config, reason)
        return fit_args

    def _exclusion(self, config: Config) -> str | None:
        reason = self.hypermodel.infeasibility(config)
        if reason or self.max_params is None or self.hypermodel.build_fn is not None:
            return reason
        params = self.hypermodel.build_config(config).count_params()
        keras.backend.clear_session()
        if params > self.max_params:
            return f"{params:,} params > max_params {self.max_params:,}"
        return None

    # -- one trial ----------------------------------------------------------------
    def run_trial(self, trial, *fit_args, **fit_kwargs):
        hp = trial.hyperparameters
        seed = getattr(self.oracle, "seed", None)
        if isinstance(seed, int) and trial.trial_id.isdigit():
            keras.utils.set_random_seed(seed + int(trial.trial_id))
        config = Config(hp.get("family"), hp.get("depth"), hp.get("width"))
        reason = getattr(self.oracle, "reason", lambda _: None)(trial.trial_id)
        if self.listener is not None:
            self.listener.on_trial_begin(trial.trial_id, config, reason)
        try:
            model = self._try_build(hp)
        except InfeasibleConfigError as e:
            raise kt.errors.FailedTrialError(str(e)) from None
        params, flops = int(model.count_params()), count_flops(model)

        user_callbacks = fit_kwargs.pop("callbacks", [])
        callbacks = self._deepcopy_callbacks(user_callbacks)
        batch_losses = BatchLosses()
        callbacks += [
            tuner_utils.TunerCallback(self, trial),
            tuner_utils.SaveBestEpoch(
                objective=self.oracle.objective,
                filepath=self._get_checkpoint_fname(trial.trial_id),
            ),
            batch_losses,
            StopOnRequest(self._stop_request),
        ]
        grad_cb = GradientStats(every_n_steps=10) if self.gradient_stats else None
        if grad_cb is not None:
            callbacks.append(grad_cb)
        if self.listener is not None:
            epochs = fit_kwargs.get("epochs", 1)
            callbacks.append(_EpochListener(self.listener, trial.trial_id, epochs))

        start = time.perf_counter()
        try:
            history = model.fit(*fit_args, callbacks=callbacks, **fit_kwargs).history
        except (tf.errors.ResourceExhaustedError, MemoryError) as e:
            raise kt.errors.FailedTrialError(
                f"{config.label} ran out of memory: {type(e).__name__}"
            ) from None
        seconds = time.perf_counter() - start
        losses = history.get("loss", []) + history.get("val_loss", [])
        if not losses or not all(math.isfinite(v) for v in losses):
            raise kt.errors.FailedTrialError(
                f"{config.label}: the loss became non-finite (NaN/inf)"
            )
        flags = grad_cb.flags() if grad_cb is not None else []
        diagnosis = diagnose(
            history,
            batch_losses=batch_losses.losses,
            gradient_flags=flags,
            depth=config.depth,
            width=config.width,
        )
        metrics = records.fit_metrics(
            history, diagnosis.verdict, params, flops, seconds
        )
        record = records.TrialRecord(
            trial_id=trial.trial_id,
            family=config.family,
            depth=config.depth,
            width=config.width,
            status="COMPLETED",
            reason=reason,
            metrics=metrics,
            history={k: [float(v) for v in vs] for k, vs in history.items()},
            verdict=diagnosis.verdict,
            evidence=list(diagnosis.evidence),
            next_moves=list(diagnosis.next_moves),
            gradients=grad_cb.latest() if grad_cb is not None else {},
            gradient_flags=records.flag_dicts(flags),
        )
        records.save_trial_record(self.get_trial_dir(trial.trial_id), record)
        return metrics

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        keras.backend.clear_session()
        gc.collect()
        summary = self.summary()
        records.save_summary(self.project_dir, summary)
        if self.listener is not None:
            self.listener.on_trial_end(trial.trial_id, summary)

    def load_model(self, trial):
        # The best-epoch checkpoint holds optimizer slots the fresh model lacks;
        # Keras warns about skipping them, which is expected here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading")
            return super().load_model(trial)

    # -- results --------------------------------------------------------------------
    def summary(self) -> dict:
        """The search so far: every trial, the Pareto front and the recommended knee.

        A distributed worker (its oracle is a gRPC client) reads the chief's saved
        `oracle.json` from the shared directory instead.
        """
        state = self.oracle.get_state() if hasattr(self.oracle, "threshold") else None
        return records.summarize(self.project_dir, state)
