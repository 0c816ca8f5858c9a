"""One diagnosed fit of one model: history, gradient health and the fit verdict.

Pure of printing: `run_diagnosis` trains, measures and returns a record dict shaped
like a search trial's (see `kt_capacity.records.TrialRecord`), which the report
functions render and plot.

Example:
    >>> from kt_capacity.data import load_dataset
    >>> data = load_dataset("sample", max_train=1000)
    >>> model = CapacityHyperModel(data.input_shape, data.num_classes).build_config(
    ...     Config("plain", 5, 32))
    >>> record = run_diagnosis(model, data, epochs=1, seed=0, depth=5, width=32)
    >>> record["verdict"], record["evidence"]
"""

from __future__ import annotations

import math
import time

import keras

from kt_capacity import records
from kt_capacity.batch_losses import BatchLosses
from kt_capacity.costs import count_flops
from kt_capacity.diagnosis import diagnose
from kt_capacity.gradient_stats import GradientStats


def ensure_compiled(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile `model` for integer labels when it is not, and make it report accuracy.

    An uncompiled model gets Adam(`learning_rate`), sparse categorical
    cross-entropy and accuracy. A compiled one keeps its optimizer and loss and is
    recompiled with the "accuracy" metric, which the diagnosis needs.

    Returns:
        The same model, compiled.
    """
    if getattr(model, "compiled", False) and getattr(model, "loss", None):
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


def check_model(model: keras.Model, dataset) -> None:
    """Check that `model` takes the dataset's images and predicts its classes.

    Raises:
        ValueError: on an input shape or class count mismatch.
    """
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise ValueError(
            "Invalid value for argument `model`. Expected a model with one image "
            f"input. Received {len(inputs)} inputs."
        )
    expected = tuple(dataset.input_shape)
    shape = tuple(inputs[0].shape[1:])
    if len(shape) != len(expected) or any(
        s is not None and s != e for s, e in zip(shape, expected, strict=True)
    ):
        raise ValueError(
            f"Invalid value for argument `model`. Expected an input shape matching "
            f"the dataset's {expected}. Received {shape}."
        )
    units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if units is not None and units != dataset.num_classes:
        raise ValueError(
            f"Invalid value for argument `model`. Expected {dataset.num_classes} "
            f"outputs (one per class of {dataset.name}). Received {units}."
        )


def run_diagnosis(
    model: keras.Model,
    dataset,
    epochs: int = 3,
    seed: int = 0,
    *,
    batch_size: int = 128,
    every_n_steps: int = 1,
    depth: int | None = None,
    width: int | None = None,
    label: str | None = None,
) -> dict:
    """Fit `model` once on `dataset` with gradient statistics and diagnose the fit.

    Args:
        model: a Keras model (compiled or not; see `ensure_compiled`).
        dataset: a `kt_capacity.data.Dataset`.
        epochs: epochs of the fit, >= 1.
        seed: seed of the shuffling and of Keras' random state.
        batch_size: examples per batch, >= 1.
        every_n_steps: gradient statistics every n-th optimizer step, >= 1.
        depth: the model's depth when known, to phrase the next moves.
        width: the model's width when known, likewise.
        label: name of the model in the record; the model's name by default.

    Returns:
        A record dict: label, depth, width, status, metrics (accuracy,
        val_accuracy, final_val_accuracy, loss, val_loss, gap, params, flops,
        fit_verdict, seconds), history, batch_losses, verdict, evidence,
        next_moves, gradients (latest per-layer stats), gradient_flags and
        gradient_history (every record of `GradientStats`).

    Raises:
        ValueError: on a bad `epochs`/`batch_size` or a model that does not fit
            the dataset.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected an integer >= 1. "
                f"Received {name}={value!r}."
            )
    check_model(model, dataset)
    ensure_compiled(model)
    keras.utils.set_random_seed(seed)
    train, val = dataset.pipelines(batch_size=batch_size, seed=seed)
    stats = GradientStats(every_n_steps=every_n_steps)
    batch_losses = BatchLosses(len(dataset.x_train), batch_size)
    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        callbacks=[stats, batch_losses],
        shuffle=False,  # the train pipeline shuffles with `seed`
        verbose=0,
    ).history
    seconds = time.perf_counter() - start
    flags = stats.flags()
    diagnosis = diagnose(
        history,
        batch_losses=batch_losses.losses,
        gradient_flags=flags,
        depth=depth,
        width=width,
    )
    try:
        flops = float(count_flops(model))
    except Exception:  # a user's model with layers the counter does not know
        flops = math.nan
    metrics = records.fit_metrics(
        history, diagnosis.verdict, model.count_params(), flops, seconds
    )
    return {
        "label": label or model.name,
        "depth": depth,
        "width": width,
        "status": "COMPLETED",
        "metrics": metrics,
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
        "batch_losses": list(batch_losses.losses),
        "verdict": diagnosis.verdict,
        "evidence": list(diagnosis.evidence),
        "next_moves": list(diagnosis.next_moves),
        "gradients": stats.latest(),
        "gradient_flags": records.flag_dicts(flags),
        "gradient_history": [dict(r) for r in stats.history],
    }
