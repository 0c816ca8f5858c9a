"""CapacityTuner + CapacityOracle end to end on tiny data (8x8 digits)."""

import json

import keras_tuner as kt
import numpy as np
import pytest

from kt_capacity import CapacityHyperModel, CapacityOracle, CapacityTuner
from kt_capacity.data import DataError
from kt_capacity.space import Config


def make_tuner(tmp_path, max_trials, **oracle_kwargs):
    return CapacityTuner(
        CapacityHyperModel(depths=[1, 2, 3, 4], widths=[4, 8]),
        CapacityOracle(max_trials=max_trials, seed=0, **oracle_kwargs),
        directory=str(tmp_path),
        project_name="p",
    )


def search(tuner, data, epochs=1):
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=64,
        verbose=0,
    )


def test_tuner_records_metrics_reasons_and_summary(tmp_path, digits):
    tuner = make_tuner(tmp_path, max_trials=3)
    search(tuner, digits)
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3
    for trial in trials:
        for name in (
            "val_accuracy",
            "accuracy",
            "params",
            "flops",
            "fit_verdict",
            "gap",
            "seconds",
        ):
            assert trial.metrics.exists(name), name
        assert tuner.oracle.reason(trial.trial_id)
    # 8x8 input: depth 4 collapses, so it is excluded up front, never trained.
    assert tuner.oracle.excluded == {
        "plain/4/4": "depth 4 of valid 3x3 convs shrinks the 8x8 input to 0x0 before "
        "the 2x2 max-pool (needs >= 2)",
        "plain/4/8": "depth 4 of valid 3x3 convs shrinks the 8x8 input to 0x0 before "
        "the 2x2 max-pool (needs >= 2)",
    }
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert [t["trial_id"] for t in summary["trials"]] == ["0", "1", "2"]
    first = summary["trials"][0]
    assert first["reason"] == "start small: the cheapest feasible plain network"
    assert first["history"]["val_accuracy"] and first["verdict"]
    assert summary["recommendation"]["label"].startswith("plain d")
    assert tuner.hypermodel.input_shape == (8, 8, 1)
    assert tuner.hypermodel.num_classes == 10


def test_tuner_resume_does_not_retrain_completed_trials(tmp_path, digits):
    first = make_tuner(tmp_path, max_trials=2)
    search(first, digits)
    done = {
        t: first.oracle.trials[t].metrics.get_last_value("seconds")
        for t in first.oracle.end_order
    }
    assert len(done) == 2

    resumed = make_tuner(tmp_path, max_trials=4)  # overwrite=False: reload
    trained = []
    original = resumed.run_trial

    def spy(trial, *a, **k):
        trained.append(trial.trial_id)
        return original(trial, *a, **k)

    resumed.run_trial = spy
    search(resumed, digits)
    assert not set(trained) & set(done)
    for trial_id, seconds in done.items():  # the old results are untouched
        assert (
            resumed.oracle.trials[trial_id].metrics.get_last_value("seconds") == seconds
        )
    assert len(resumed.summary()["trials"]) == 2 + len(trained)


def test_oracle_state_is_json_and_round_trips(tmp_path, digits):
    tuner = make_tuner(tmp_path, max_trials=2, threshold=0.02, cost="flops")
    search(tuner, digits)
    state = tuner.oracle.get_state()
    json.dumps(state)  # JSON types only
    other = CapacityOracle(max_trials=2)
    other.trials = tuner.oracle.trials
    other.set_state(json.loads(json.dumps(state)))
    assert other.threshold == 0.02 and other.cost == "flops"
    assert other.reasons == tuner.oracle.reasons
    assert other.excluded == tuner.oracle.excluded
    assert other.results() == tuner.oracle.results()


def test_tuner_nan_loss_fails_the_trial_and_search_goes_on(tmp_path, digits):
    import keras

    def overflowing(depth, width, hp):  # logits overflow to inf: the loss is NaN
        big = keras.initializers.Constant(1e38)
        return keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(10, kernel_initializer=big),
                keras.layers.Dense(10, "softmax", kernel_initializer=big),
            ]
        )

    hm = CapacityHyperModel(depths=[1, 2], widths=[4], build_fn=overflowing)
    tuner = CapacityTuner(
        hm,
        CapacityOracle(max_trials=3, seed=0),
        directory=str(tmp_path),
        project_name="p",
    )
    search(tuner, digits)
    summary = tuner.summary()
    assert [t["status"] for t in summary["trials"]] == ["FAILED", "FAILED"]
    assert "the loss became non-finite" in summary["trials"][0]["message"]
    assert summary["recommendation"] is None
    assert summary["stop_reason"].startswith("the capacity knee is found")


def test_tuner_max_params_excludes_instead_of_failing(tmp_path, digits):
    tuner = CapacityTuner(
        CapacityHyperModel(depths=[1], widths=[4, 64]),
        CapacityOracle(max_trials=3, seed=0),
        max_params=5000,
        directory=str(tmp_path),
        project_name="p",
    )
    search(tuner, digits)
    assert tuner.oracle.excluded["plain/1/64"].endswith("params > max_params 5,000")
    assert [r.config for r in tuner.oracle.results()] == [Config("plain", 1, 4)]


def test_tuner_search_rejects_bad_labels(tmp_path, digits):
    tuner = make_tuner(tmp_path, max_trials=1)
    y = digits.y_train.astype("float32") + 0.5
    with pytest.raises(DataError, match="search"):
        tuner.search(digits.x_train, y, validation_data=(digits.x_val, digits.y_val))


def test_tuner_user_build_fn_hyperparameters_are_searched_with_defaults(
    tmp_path, digits
):
    import keras

    def build_fn(depth, width, hp):
        rate = hp.Float("dropout", 0.0, 0.5, default=0.25)
        return keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(width * depth, "relu"),
                keras.layers.Dropout(rate),
                keras.layers.Dense(10, "softmax"),
            ]
        )

    tuner = CapacityTuner(
        CapacityHyperModel(depths=[1, 2], widths=[4], build_fn=build_fn),
        CapacityOracle(max_trials=2, seed=0),
        directory=str(tmp_path),
        project_name="p",
    )
    search(tuner, digits)
    trial = tuner.oracle.get_best_trials(1)[0]
    assert trial.hyperparameters.get("dropout") == 0.25


def test_getting_started_example_runs(tmp_path):
    import runpy

    module = runpy.run_path("examples/getting_started.py")
    tuner = module["main"](directory=str(tmp_path), max_train=600, epochs=1)
    assert isinstance(tuner.oracle, kt.Oracle)
    assert np.isfinite(tuner.summary()["recommendation"]["val_accuracy"])
