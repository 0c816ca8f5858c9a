"""`kt-capacity diagnose`: one diagnosed fit of a configuration or a saved model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kt_capacity import cli
from kt_capacity.data import Dataset
from kt_capacity.diagnose_run import check_model, run_diagnosis


def _one_line_error(capsys, *needles: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("kt-capacity diagnose: error:")
    for needle in needles:
        assert needle in err


def _tiny_model(input_shape=(28, 28, 1), classes=10) -> keras.Model:
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def _tiny_dataset(n=64, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    return Dataset.from_arrays(
        x, y, x[: n // 2], y[: n // 2], name="tiny", num_classes=10
    )


@pytest.mark.slow
def test_cli_diagnose_depth5_width32_prints_verdict_evidence_gradients(
    tmp_path, capsys
):
    out_dir = tmp_path / "plots"
    argv = ["diagnose", "--depth", "5", "--width", "32", "--max-train", "1000"]
    argv += ["--epochs", "1", "--out", str(out_dir)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Diagnosis: plain d5 w32" in out
    assert "Verdict:" in out and "Evidence:" in out and "Next moves:" in out
    assert "only one epoch: no trend yet" in out  # the 1-epoch evidence
    assert "Gradient findings:" in out
    assert "Gradient health (step 7)" in out  # 1000 / 128 -> 8 steps, every step
    for layer in ("conv_1", "conv_5", "dense", "classif"):
        assert layer in out
    assert "gradient flags" in out or "vanishing" in out
    assert (out_dir / "learning_curves.png").is_file()
    assert (out_dir / "gradient_health.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("compiled", [False, True])
def test_cli_diagnose_saved_model(tmp_path, capsys, compiled):
    path = tmp_path / "mine.keras"
    model = _tiny_model()
    if compiled:  # compiled without the accuracy metric: it gets added
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.save(path)
    argv = ["diagnose", "--model", str(path), "--max-train", "200", "--epochs", "2"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Diagnosis: mine.keras" in out
    assert "Verdict:" in out and "conv" in out and "head" in out


def test_cli_diagnose_missing_model_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["diagnose", "--model", str(tmp_path / "missing.keras")]) == 2
    _one_line_error(capsys, "no such model file", "missing.keras")


@pytest.mark.parametrize(
    "content", [b"not a zip at all", b"PK\x03\x04 truncated zip", b""]
)
def test_cli_diagnose_corrupt_model_is_one_line_exit_2(tmp_path, capsys, content):
    path = tmp_path / "corrupt.keras"
    path.write_bytes(content)
    assert cli.main(["diagnose", "--model", str(path)]) == 2
    _one_line_error(capsys, "cannot load model", "corrupt.keras")


def test_cli_diagnose_model_of_wrong_shape_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "rgb.keras"
    _tiny_model(input_shape=(32, 32, 3)).save(path)
    assert cli.main(["diagnose", "--model", str(path), "--max-train", "100"]) == 2
    _one_line_error(capsys, "input shape", "(28, 28, 1)")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["diagnose"], "pass --depth and --width, or --model"),
        (["diagnose", "--depth", "2"], "pass --depth and --width, or --model"),
        (["diagnose", "--model", "m.keras", "--depth", "2"], "excludes --depth"),
        (["diagnose", "--depth", "2", "--width", "8", "--family", "x"], "--family"),
        (["diagnose", "--depth", "0", "--width", "8"], "--depth"),
        (["diagnose", "--depth", "2", "--width", "8", "--dataset", "nope"], "nope"),
    ],
)
def test_cli_diagnose_bad_arguments_are_one_line_exit_2(capsys, argv, needle):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_check_model_rejects_wrong_class_count():
    with pytest.raises(ValueError, match="Expected 10 outputs"):
        check_model(_tiny_model(classes=3), _tiny_dataset())


@pytest.mark.parametrize("name, value", [("epochs", 0), ("batch_size", True)])
def test_run_diagnosis_rejects_bad_arguments(name, value):
    kwargs = {"epochs": 1, "batch_size": 8, name: value}
    with pytest.raises(ValueError, match=f"Invalid value for argument `{name}`"):
        run_diagnosis(_tiny_model(), _tiny_dataset(), seed=0, **kwargs)


def test_run_diagnosis_record_matches_the_fit():
    record = run_diagnosis(
        _tiny_model(), _tiny_dataset(), epochs=2, seed=0, batch_size=16, label="t"
    )
    assert record["label"] == "t" and record["status"] == "COMPLETED"
    assert len(record["history"]["val_accuracy"]) == 2
    assert record["metrics"]["accuracy"] == record["history"]["accuracy"][-1]
    assert record["metrics"]["params"] == _tiny_model().count_params()
    assert len(record["batch_losses"]) == 4  # 64 / 16 batches in the last epoch
    assert set(record["gradients"]) == {"conv", "head"}
    steps = {r["step"] for r in record["gradient_history"]}
    assert steps == set(range(8))  # every step of 2 epochs x 4 batches
    assert record["verdict"] in ("underfit", "still_improving", "balanced", "overfit")
    assert record["evidence"] and record["next_moves"]
