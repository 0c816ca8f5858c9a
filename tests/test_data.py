"""Tests for kt_capacity.data: every source, every validation error, the sample."""

from __future__ import annotations

import gzip
import importlib.util
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from kt_capacity import data as data_module
from kt_capacity.data import (
    DataError,
    Dataset,
    load_dataset,
    read_idx,
    stratified_indices,
    validate_arrays,
)

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_debian = pytest.mark.skipif(
    not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed",
)


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "make_sample_data", ROOT / "scripts" / "make_sample_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _tiny_arrays(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 6, 5), dtype=np.uint8)
    y = np.arange(n) % 4
    return x, y


@pytest.fixture(scope="module")
def full_fashion():
    if not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    return load_dataset("fashion_mnist")


@pytest.fixture
def no_caches(monkeypatch, tmp_path):
    """No Debian Fashion-MNIST, an empty Keras cache under tmp_path."""
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "none")
    monkeypatch.setattr(
        data_module, "_keras_dataset_dirs", lambda: [tmp_path / "keras" / "datasets"]
    )
    return tmp_path / "keras" / "datasets"


# --------------------------------------------------------------------------- #
# sample
# --------------------------------------------------------------------------- #


def test_load_dataset_sample_is_default_and_normalised():
    data = load_dataset()
    assert data.name == "sample"
    assert data.x_train.shape == (6000, 28, 28, 1)
    assert data.x_val.shape == (2000, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert data.input_shape == (28, 28, 1)
    assert data.num_classes == 10
    assert data.class_names[0] == "T-shirt/top" and len(data.class_names) == 10


def test_load_dataset_sample_is_stratified():
    data = load_dataset("sample")
    assert np.bincount(data.y_train).tolist() == [600] * 10
    assert np.bincount(data.y_val).tolist() == [200] * 10


def test_load_dataset_sample_needs_no_debian_package(no_caches):
    assert load_dataset("sample").x_train.shape[0] == 6000


def test_sample_file_is_raw_uint8_without_pickles():
    with np.load(data_module.SAMPLE_PATH, allow_pickle=False) as archive:
        assert archive["x_train"].dtype == np.uint8
        assert archive["x_train"].shape == (6000, 28, 28)
        assert archive["class_names"].dtype.kind == "U"
    assert data_module.SAMPLE_PATH.stat().st_size < 5_000_000


@needs_debian
def test_make_sample_data_reproduces_packaged_bytes(tmp_path):
    # The packaged file was written by an earlier run: equal bytes prove that the
    # script is deterministic across runs (fixed seed, fixed zip timestamps).
    out = tmp_path / "sample.npz"
    assert _load_script().main(["--out", str(out)]) == 0
    assert out.read_bytes() == data_module.SAMPLE_PATH.read_bytes()


@needs_debian
def test_sample_is_a_subset_of_the_official_splits(full_fashion):
    sample = load_dataset("sample")
    script = _load_script()
    train_idx = stratified_indices(full_fashion.y_train, 6000, script.SEED)
    val_idx = stratified_indices(full_fashion.y_val, 2000, script.SEED + 1)
    np.testing.assert_array_equal(sample.x_train, full_fashion.x_train[train_idx])
    np.testing.assert_array_equal(sample.y_val, full_fashion.y_val[val_idx])


# --------------------------------------------------------------------------- #
# fashion_mnist
# --------------------------------------------------------------------------- #


def test_load_dataset_fashion_mnist_full_splits(full_fashion):
    assert full_fashion.x_train.shape == (60000, 28, 28, 1)
    assert full_fashion.x_val.shape == (10000, 28, 28, 1)
    assert np.bincount(full_fashion.y_train).tolist() == [6000] * 10
    assert full_fashion.x_train.dtype == np.float32


def test_load_dataset_fashion_mnist_reads_keras_cache(no_caches):
    folder = no_caches / "fashion-mnist"
    folder.mkdir(parents=True)
    x, y = _tiny_arrays(20)
    files = data_module.FASHION_MNIST_FILES
    _write_idx(folder / files[0], x)
    _write_idx(folder / files[1], y)
    _write_idx(folder / files[2], x[:8])
    _write_idx(folder / files[3], y[:8])
    data = load_dataset("fashion_mnist")
    assert data.x_train.shape == (20, 6, 5, 1) and data.x_val.shape == (8, 6, 5, 1)
    np.testing.assert_allclose(data.x_train[..., 0], x / 255.0, atol=1e-7)
    np.testing.assert_array_equal(data.y_val, y[:8])


def test_load_dataset_fashion_mnist_missing_names_the_package(no_caches):
    with pytest.raises(DataError, match=r"'fashion_mnist'.*dataset-fashion-mnist"):
        load_dataset("fashion_mnist")


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x00\x00\x0d\x01\x00\x00\x00\x02ab", "magic"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05ab", r"shape \(5,\).*2 values"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, raw, match):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=match):
        read_idx(path)


# --------------------------------------------------------------------------- #
# cifar10
# --------------------------------------------------------------------------- #


def _write_cifar_batch(path: Path, n: int, offset: int) -> None:
    batch = {
        b"data": np.full((n, 3072), offset, dtype=np.uint8),
        b"labels": [(offset + i) % 10 for i in range(n)],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f)


@pytest.mark.parametrize(
    "layout", ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"]
)
def test_load_dataset_cifar10_reads_keras_cache(no_caches, layout):
    folder = no_caches / layout
    folder.mkdir(parents=True)
    for i in range(1, 6):
        _write_cifar_batch(folder / f"data_batch_{i}", 4, i)
    _write_cifar_batch(folder / "test_batch", 3, 7)
    data = load_dataset("cifar10")
    assert data.x_train.shape == (20, 32, 32, 3) and data.x_val.shape == (3, 32, 32, 3)
    assert data.num_classes == 10 and data.class_names[0] == "airplane"
    np.testing.assert_allclose(data.x_train[4:8], 2 / 255.0, atol=1e-7)
    assert data.y_val.tolist() == [7, 8, 9]


def test_load_dataset_cifar10_unreachable_fails_without_download(
    no_caches, monkeypatch
):
    monkeypatch.setattr(data_module, "_host_reachable", lambda host: False)
    with pytest.raises(DataError, match=r"'cifar10': CIFAR-10 is not in the Keras"):
        load_dataset("cifar10")


def test_load_dataset_cifar10_download_error_is_data_error(no_caches, monkeypatch):
    import keras

    def fail():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu: None")

    monkeypatch.setattr(data_module, "_host_reachable", lambda host: True)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", fail)
    with pytest.raises(DataError, match="downloading CIFAR-10 failed.*URL fetch"):
        load_dataset("cifar10")


def test_load_dataset_cifar10_damaged_cache(no_caches):
    folder = no_caches / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="cannot read .*data_batch_1"):
        load_dataset("cifar10")


# --------------------------------------------------------------------------- #
# digits
# --------------------------------------------------------------------------- #


def test_load_dataset_digits_split_is_stratified_and_seeded():
    data = load_dataset("digits", seed=3)
    assert data.input_shape == (8, 8, 1)
    assert len(data.y_train) + len(data.y_val) == 1797
    assert len(data.y_val) == 359
    assert data.x_train.max() == 1.0
    share = np.bincount(data.y_val, minlength=10) / np.bincount(
        np.concatenate([data.y_train, data.y_val])
    )
    assert np.all(np.abs(share - 0.2) < 0.02)
    again = load_dataset("digits", seed=3)
    other = load_dataset("digits", seed=4)
    np.testing.assert_array_equal(data.x_val, again.x_val)
    assert not np.array_equal(data.x_val, other.x_val)


# --------------------------------------------------------------------------- #
# npz
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("val_keys", [("x_val", "y_val"), ("x_test", "y_test")])
def test_load_dataset_npz_with_splits(tmp_path, val_keys):
    x, y = _tiny_arrays(20)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x, y_train=y, **{val_keys[0]: x[:6], val_keys[1]: y[:6]})
    data = load_dataset(f"npz:{path}")
    assert data.name == f"npz:{path}"
    assert data.x_train.shape == (20, 6, 5, 1) and data.x_val.shape == (6, 6, 5, 1)
    assert data.num_classes == 4 and data.class_names is None


def test_load_dataset_npz_x_y_is_split_with_seed(tmp_path):
    x, y = _tiny_arrays(40)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, class_names=np.array(["a", "b", "c", "d"]))
    data = load_dataset(f"npz:{path}", seed=1)
    assert len(data.y_train) == 32 and len(data.y_val) == 8
    assert np.bincount(data.y_val).tolist() == [2, 2, 2, 2]
    assert data.class_names == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(load_dataset(f"npz:{path}", seed=1).x_val, data.x_val)


def _object_npz(path):
    x, y = _tiny_arrays(4)
    objects = np.empty(4, dtype=object)
    objects[:] = [{"label": i} for i in range(4)]
    np.savez(path, x_train=x, y_train=objects, x_val=x, y_val=y)


def _labels_out_of_range_npz(path):
    x, y = _tiny_arrays(10)
    np.savez(path, x_train=x, y_train=y, x_val=x, y_val=y, class_names=list("abc"))


def _missing_keys_npz(path):
    np.savez(path, images=np.zeros((2, 3, 3)))


def _npy_file(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _garbage_file(path):
    path.write_bytes(b"this is not numpy")


def _pickle_file(path):
    with open(path, "wb") as f:
        pickle.dump({"x": 1}, f)


@pytest.mark.parametrize(
    "make, match",
    [
        (_object_npz, "array 'y_train' holds pickled Python objects"),
        (
            _labels_out_of_range_npz,
            r"train labels must be integers in \[0, 2\]; received values up to 3\.",
        ),
        (_missing_keys_npz, r"expected arrays x_train.*received \['images'\]"),
        (_npy_file, r"expected an .npz archive.*received a single .npy array"),
        (_garbage_file, r"expected an .npz archive \(np.savez\); the file is not one"),
        (_pickle_file, "expected an .npz archive.*pickles are not loaded"),
    ],
)
def test_load_dataset_npz_rejects_bad_files(tmp_path, make, match):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(
        DataError, match=rf"^Invalid dataset 'npz:{re.escape(str(path))}': {match}"
    ):
        load_dataset(f"npz:{path}")


def test_load_dataset_npz_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")


# --------------------------------------------------------------------------- #
# dir
# --------------------------------------------------------------------------- #


def _image_dir(root: Path, mode: str) -> Path:
    from PIL import Image

    values = {"cat": 0, "dog": 255}
    for name, value in values.items():
        (root / name).mkdir(parents=True)
        for i in range(5):
            size = (5, 6)  # width, height
            colour = value if mode == "L" else (value, value, value)
            Image.new(mode, size, colour).save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize("mode, channels", [("L", 1), ("RGB", 3)])
def test_load_dataset_dir_reads_class_folders(tmp_path, mode, channels):
    root = _image_dir(tmp_path / "imgs", mode)
    data = load_dataset(f"dir:{root}", seed=0)
    assert data.class_names == ["cat", "dog"]
    assert data.input_shape == (6, 5, channels)
    assert len(data.y_train) == 8 and len(data.y_val) == 2
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    # Each class folder holds a constant colour: labels must match pixels.
    np.testing.assert_allclose(x.reshape(len(x), -1).mean(axis=1), y, atol=1e-6)
    again = load_dataset(f"dir:{root}", seed=0)
    np.testing.assert_array_equal(again.y_val, data.y_val)


def test_load_dataset_dir_without_images(tmp_path):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="found no image"):
        load_dataset(f"dir:{tmp_path / 'empty'}")


def test_load_dataset_dir_missing(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_dataset(f"dir:{tmp_path / 'nope'}")


# --------------------------------------------------------------------------- #
# load_dataset arguments
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("source", ["nope", "npz:", "dir:", "MNIST"])
def test_load_dataset_unknown_source_lists_valid_ones(source):
    with pytest.raises(
        DataError, match=r"Unknown dataset .*sample, fashion_mnist, cifar10, digits"
    ):
        load_dataset(source)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_train": 0}, r"`max_train`.*Received max_train=0\."),
        ({"max_val": 2.5}, r"`max_val`.*Received max_val=2\.5\."),
        ({"source": 3}, r"`source`.*Received source=3\."),
    ],
)
def test_load_dataset_rejects_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        load_dataset(**kwargs)


def test_load_dataset_max_train_and_max_val_keep_strata():
    data = load_dataset("sample", max_train=500, max_val=100, seed=2)
    assert np.bincount(data.y_train).tolist() == [50] * 10
    assert np.bincount(data.y_val).tolist() == [10] * 10
    again = load_dataset("sample", max_train=500, max_val=100, seed=2)
    np.testing.assert_array_equal(data.x_train, again.x_train)


# --------------------------------------------------------------------------- #
# validate_arrays
# --------------------------------------------------------------------------- #


def _check(x, y, num_classes=None):
    return validate_arrays(
        x, y, source="arrays", split="train", num_classes=num_classes
    )


def test_validate_arrays_adds_channel_and_scales_uint8():
    x = np.array([[[0, 255], [51, 102]]] * 3, dtype=np.uint8)
    out_x, out_y = _check(x, [0, 1, 1])
    assert out_x.shape == (3, 2, 2, 1) and out_x.dtype == np.float32
    np.testing.assert_allclose(out_x[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]])
    assert out_y.dtype == np.int32 and out_y.tolist() == [0, 1, 1]


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.array([[0], [2], [1]]), [0, 2, 1]),
        (np.eye(3, dtype=np.float32)[[2, 0, 1]], [2, 0, 1]),
        (np.array([0.0, 2.0, 1.0]), [0, 2, 1]),
    ],
)
def test_validate_arrays_accepts_label_forms(y, expected):
    _, out_y = _check(np.zeros((3, 4, 4, 1), np.float32), y, num_classes=3)
    assert out_y.tolist() == expected


@pytest.mark.parametrize(
    "x, y, num_classes, match",
    [
        (
            np.zeros((3, 4)),
            [0, 1, 0],
            None,
            r"shape \(N, H, W\).*received shape \(3, 4\)\.",
        ),
        (
            np.zeros((3, 4, 4, 1, 1)),
            [0, 1, 0],
            None,
            r"received shape \(3, 4, 4, 1, 1\)",
        ),
        (np.array([["a"]] * 3), [0, 1, 0], None, "must be numeric; received dtype <U1"),
        (np.zeros((3, 4, 4), bool), [0, 1, 0], None, "numeric; received dtype bool"),
        (np.zeros((3, 4, 4), complex), [0, 1, 0], None, "must be real"),
        (
            np.zeros((0, 4, 4)),
            [],
            None,
            r"set is empty; received images of shape \(0, 4, 4, 1\)",
        ),
        (np.zeros((3, 4, 4)), [0, 1], None, "3 images and 2 labels"),
        (np.full((3, 4, 4), np.nan), [0, 1, 0], None, "finite; received 48 NaN"),
        (np.full((3, 4, 4), np.inf), [0, 1, 0], None, "finite; received 48 NaN"),
        (np.full((3, 4, 4), 255.0), [0, 1, 0], None, r"in \[0, 1\].*\[255, 255\]"),
        (np.full((3, 4, 4), -0.5), [0, 1, 0], None, r"in \[0, 1\].*\[-0.5, -0.5\]"),
        (np.full((3, 4, 4), 300), [0, 1, 0], None, r"\[0, 255\].*\[300, 300\]"),
        (np.zeros((3, 4, 4)), [0, 1, 12], 10, r"in \[0, 9\]; received values up to 12"),
        (np.zeros((3, 4, 4)), [0, -1, 0], None, "received values down to -1"),
        (np.zeros((3, 4, 4)), [0, 1.5, 0], None, "integers; received the value 1.5"),
        (np.zeros((3, 4, 4)), [0, np.nan, 0], None, "labels contain NaN"),
        (np.zeros((3, 4, 4)), ["a", "b", "c"], None, "labels must be numeric"),
        (np.zeros((3, 4, 4)), [[0, 1], [1, 1], [1, 0]], None, "one-hot rows"),
        (np.zeros((3, 4, 4)), np.zeros((3, 2, 2)), None, r"received shape \(3, 2, 2\)"),
    ],
)
def test_validate_arrays_rejects_bad_input(x, y, num_classes, match):
    with pytest.raises(DataError, match=rf"^Invalid dataset 'arrays': train .*{match}"):
        _check(x, y, num_classes)


def test_validate_arrays_error_is_one_line():
    with pytest.raises(DataError) as info:
        _check(np.zeros((3, 4, 4)), [0, 1, 12], 10)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- #
# Dataset
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"x_val": np.zeros((2, 5, 5))},
            r"same \(H, W, C\).*\(4, 4, 1\) and \(5, 5, 1\)",
        ),
        ({"y_train": [0, 0, 0], "y_val": [0, 0]}, "at least 2 classes"),
        ({"class_names": ["a", "b", "c"], "num_classes": 2}, "expected 2 class names"),
    ],
)
def test_dataset_from_arrays_rejects_inconsistent_splits(kwargs, match):
    arrays = {
        "x_train": np.zeros((3, 4, 4)),
        "y_train": [0, 1, 0],
        "x_val": np.zeros((2, 4, 4)),
        "y_val": [1, 0],
    }
    arrays.update(kwargs)
    with pytest.raises(DataError, match=match):
        Dataset.from_arrays(**arrays, name="mine")


def test_dataset_pipelines_batches_and_seeded_shuffle():
    data = load_dataset("sample", max_train=40, max_val=10)
    train, val = data.pipelines(batch_size=16, seed=5)
    batches = [(x.numpy(), y.numpy()) for x, y in train]
    assert [len(y) for _, y in batches] == [16, 16, 8]
    assert batches[0][0].shape == (16, 28, 28, 1) and batches[0][0].dtype == np.float32
    order = np.concatenate([y for _, y in batches])
    assert sorted(order.tolist()) == sorted(data.y_train.tolist())
    same = np.concatenate([y.numpy() for _, y in data.pipelines(16, seed=5)[0]])
    np.testing.assert_array_equal(order, same)
    val_labels = np.concatenate([y.numpy() for _, y in val])
    np.testing.assert_array_equal(val_labels, data.y_val)


def test_dataset_pipelines_rejects_bad_batch_size():
    with pytest.raises(DataError, match=r"Received batch_size=0\."):
        load_dataset("digits").pipelines(batch_size=0)


def test_dataset_repr_is_a_summary():
    text = repr(load_dataset("digits"))
    assert text.startswith("Dataset(name='digits', train=1438, val=359")
    assert "array" not in text
