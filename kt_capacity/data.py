"""Dataset loading and validation for capacity searches (pure: no printing).

One entry point, `load_dataset(source)`, returns a validated `Dataset` (float32
images in [0, 1], NHWC, int32 labels) for these sources:

- ``sample`` (default): a stratified Fashion-MNIST subset shipped in the package
  (6,000 train + 2,000 validation images, see `scripts/make_sample_data.py`).
- ``fashion_mnist``: the full 60k/10k set from Debian's `dataset-fashion-mnist`
  package (/usr/share/datasets/fashion-mnist) or the Keras cache.
- ``cifar10``: from the Keras cache, or downloaded by `keras.datasets.cifar10`
  when the download host answers within a few seconds.
- ``digits``: scikit-learn's 8x8 digits, split into train/validation with a seed.
- ``npz:PATH``: a NumPy archive read with ``allow_pickle=False``.
- ``dir:PATH``: one sub-folder of images per class, through
  `keras.utils.image_dataset_from_directory`.

Every bad input raises `DataError` (a `ValueError`) with one line naming the source
and the problem. TensorFlow/Keras are imported only by the sources and methods that
need them.
"""

from __future__ import annotations

import gzip
import os
import pickle
import socket
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "SOURCES",
    "DataError",
    "Dataset",
    "load_dataset",
    "read_idx",
    "stratified_indices",
    "validate_arrays",
]

SOURCES = ("sample", "fashion_mnist", "cifar10", "digits", "npz:PATH", "dir:PATH")

SAMPLE_PATH = Path(__file__).resolve().parent / "datasets" / "fashion_mnist_sample.npz"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
CIFAR10_HOST = "www.cs.toronto.edu"
VAL_FRACTION = 0.2
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


class DataError(ValueError):
    """A data source is missing or its content is invalid (one-line message)."""


def _fail(source: str, problem: str) -> DataError:
    return DataError(f"Invalid dataset '{source}': {problem}")


def _check_positive_int(name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        expected = "a strictly positive integer" + (" or None" if allow_none else "")
        raise DataError(
            f"Invalid value for argument `{name}`. Expected {expected}. "
            f"Received {name}={value!r}."
        )


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _labels_to_int(y: np.ndarray, source: str, split: str) -> np.ndarray:
    """Return 1-D integer labels from 1-D, (N, 1) or one-hot (N, K) labels."""
    if y.dtype == bool or not np.issubdtype(y.dtype, np.number):
        raise _fail(
            source, f"{split} labels must be numeric; received dtype {y.dtype}."
        )
    if np.issubdtype(y.dtype, np.complexfloating):
        raise _fail(source, f"{split} labels must be real; received dtype {y.dtype}.")
    if y.size and np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise _fail(source, f"{split} labels contain NaN or infinite values.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1:
        one_hot = np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        if not one_hot:
            raise _fail(
                source,
                f"{split} labels of shape {y.shape} must be one-hot rows "
                "(a single 1, zeros elsewhere); received other values.",
            )
        y = np.argmax(y, axis=1)
    elif y.ndim != 1:
        raise _fail(
            source,
            f"{split} labels must have shape (N,), (N, 1) or one-hot (N, K); "
            f"received shape {y.shape}.",
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
        bad = y[y != np.round(y)][0]
        raise _fail(
            source, f"{split} labels must be integers; received the value {bad}."
        )
    return y


def validate_arrays(
    x,
    y,
    *,
    source: str,
    split: str,
    num_classes: int | None = None,
    unit_range: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Check one split of image data and return it normalised.

    Accepted images: shape (N, H, W) (a channel axis is added) or (N, H, W, C),
    any real numeric dtype. Integer images must lie in [0, 255] and are scaled by
    1/255; float images must already lie in [0, 1] (standardised or [0, 255]
    floats are rejected rather than guessed at). Accepted labels: integers of
    shape (N,) or (N, 1), integral floats, or one-hot rows of shape (N, K), which
    are turned into class indices with argmax.

    Args:
        x: images.
        y: labels.
        source: the data source, named in error messages.
        split: "train" or "validation", named in error messages.
        num_classes: when given, labels must lie in [0, num_classes); otherwise
            they must be >= 0.
        unit_range: require float images in [0, 1]; False accepts any finite
            floats (a user's own standardised arrays passed to `tuner.search`).

    Returns:
        `(x, y)`: float32 images of shape (N, H, W, C) in [0, 1] and int32
        labels of shape (N,).

    Raises:
        DataError: on a bad rank, dtype, empty split, length mismatch, non-finite
            value, pixel range or label range.
    """
    if num_classes is not None:
        _check_positive_int("num_classes", num_classes, allow_none=False)
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise _fail(
            source, f"{split} images must be numeric; received dtype {x.dtype}."
        )
    if np.issubdtype(x.dtype, np.complexfloating):
        raise _fail(source, f"{split} images must be real; received dtype {x.dtype}.")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise _fail(
            source,
            f"{split} images must have shape (N, H, W) or (N, H, W, C); "
            f"received shape {x.shape}.",
        )
    if x.size == 0:
        raise _fail(
            source, f"{split} set is empty; received images of shape {x.shape}."
        )
    y = _labels_to_int(y, source, split)
    if len(x) != len(y):
        raise _fail(
            source,
            f"{split} images and labels must have the same length; received "
            f"{len(x)} images and {len(y)} labels.",
        )
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            count = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
            raise _fail(
                source,
                f"{split} images must be finite; received {count} NaN or "
                "infinite values.",
            )
        low, high = float(x.min()), float(x.max())
        if unit_range and (low < 0.0 or high > 1.0):
            raise _fail(
                source,
                f"{split} float images must lie in [0, 1]; received values in "
                f"[{low:g}, {high:g}] (divide [0, 255] pixels by 255).",
            )
        x = x.astype(np.float32, copy=False)
    else:
        low, high = int(x.min()), int(x.max())
        if low < 0 or high > 255:
            raise _fail(
                source,
                f"{split} integer images must lie in [0, 255]; received values "
                f"in [{low}, {high}].",
            )
        x = x.astype(np.float32) / np.float32(255.0)
    low, high = int(y.min()), int(y.max())
    if low < 0 or (num_classes is not None and high >= num_classes):
        expected = (
            "[0, num_classes)" if num_classes is None else (f"[0, {num_classes - 1}]")
        )
        received = f"values down to {low}" if low < 0 else f"values up to {high}"
        raise _fail(
            source,
            f"{split} labels must be integers in {expected}; received {received}.",
        )
    return x, y.astype(np.int32)


# --------------------------------------------------------------------------- #
# Dataset
# --------------------------------------------------------------------------- #


@dataclass(repr=False)
class Dataset:
    """Validated train and validation arrays of one image-classification task.

    Attributes:
        name: the source it came from (e.g. "sample", "npz:/data/x.npz").
        x_train, x_val: float32 images in [0, 1], shape (N, H, W, C).
        y_train, y_val: int32 class indices, shape (N,).
        num_classes: number of classes; every label lies in [0, num_classes).
        input_shape: (H, W, C).
        class_names: optional names, one per class.

    Example:

    >>> data = load_dataset("digits")
    >>> train_ds, val_ds = data.pipelines(batch_size=64, seed=0)
    >>> data.input_shape, data.num_classes
    ((8, 8, 1), 10)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    input_shape: tuple[int, int, int]
    class_names: list[str] | None = None

    @classmethod
    def from_arrays(
        cls,
        x_train,
        y_train,
        x_val,
        y_val,
        *,
        name: str = "arrays",
        num_classes: int | None = None,
        class_names=None,
    ) -> Dataset:
        """Validate both splits and build a `Dataset` from them.

        Args:
            x_train, y_train, x_val, y_val: arrays as accepted by
                `validate_arrays`.
            name: the source, named in error messages.
            num_classes: the class count; inferred from the labels (largest
                label + 1, or `len(class_names)`) when None.
            class_names: optional names, one per class.

        Returns:
            The validated `Dataset`.

        Raises:
            DataError: when a split is invalid, the splits disagree on image
                shape, or fewer than two classes are present.
        """
        if class_names is not None:
            class_names = [str(c) for c in np.asarray(class_names).reshape(-1)]
            if num_classes is None:
                num_classes = len(class_names)
            elif len(class_names) != num_classes:
                raise _fail(
                    name,
                    f"expected {num_classes} class names; received {len(class_names)}.",
                )
        x_train, y_train = validate_arrays(
            x_train, y_train, source=name, split="train", num_classes=num_classes
        )
        x_val, y_val = validate_arrays(
            x_val, y_val, source=name, split="validation", num_classes=num_classes
        )
        if x_train.shape[1:] != x_val.shape[1:]:
            raise _fail(
                name,
                "train and validation images must have the same (H, W, C); "
                f"received {x_train.shape[1:]} and {x_val.shape[1:]}.",
            )
        if num_classes is None:
            num_classes = int(max(y_train.max(), y_val.max())) + 1
        if num_classes < 2:
            raise _fail(
                name,
                f"at least 2 classes are needed; received {num_classes}.",
            )
        return cls(
            name=name,
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            num_classes=int(num_classes),
            input_shape=tuple(int(d) for d in x_train.shape[1:]),
            class_names=class_names,
        )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.x_train)}, "
            f"val={len(self.x_val)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes})"
        )

    def pipelines(self, batch_size: int = 128, seed: int = 0):
        """Return `(train_ds, val_ds)` as cached, batched, prefetched `tf.data`.

        The train pipeline is shuffled over the whole split with `seed`
        (reshuffled every epoch, same order sequence for the same seed).

        Args:
            batch_size: examples per batch.
            seed: shuffle seed.

        Returns:
            `(train_ds, val_ds)`, each yielding `(images, labels)` batches.

        Raises:
            DataError: when `batch_size` is not a strictly positive integer.
        """
        _check_positive_int("batch_size", batch_size, allow_none=False)
        import tensorflow as tf

        autotune = tf.data.AUTOTUNE
        train = (
            tf.data.Dataset.from_tensor_slices((self.x_train, self.y_train))
            .cache()
            .shuffle(len(self.x_train), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .prefetch(autotune)
        )
        val = (
            tf.data.Dataset.from_tensor_slices((self.x_val, self.y_val))
            .cache()
            .batch(batch_size)
            .prefetch(autotune)
        )
        return train, val


# --------------------------------------------------------------------------- #
# Helpers shared with scripts/make_sample_data.py
# --------------------------------------------------------------------------- #


def read_idx(path) -> np.ndarray:
    """Read an idx file (the MNIST format), gzipped or not.

    Args:
        path: the .gz or raw idx file.

    Returns:
        The uint8 array with the shape stored in the header.

    Raises:
        DataError: when the file is unreadable or its header/size is wrong.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise _fail(str(path), f"cannot read the idx file ({err}).") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise _fail(
            str(path), "expected an idx file of unsigned bytes (magic 0x0008xx)."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise _fail(
            str(path),
            f"idx header announces shape {shape} but the file holds "
            f"{len(raw) - header} values.",
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def stratified_indices(y, size: int, seed: int) -> np.ndarray:
    """Pick a seeded, class-stratified subset of exactly `size` indices.

    Every class gets its proportional share of `size`, rounded by largest
    remainder (ties go to the smaller class index); within a class the members
    are drawn at random with `seed`. Indices come back sorted (original order).

    Args:
        y: 1-D integer labels.
        size: how many indices to pick, at most `len(y)`.
        seed: random seed.

    Returns:
        Sorted int64 indices into `y`.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * (size / len(y))
    quota = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: size - int(quota.sum())]] += 1
    rng = np.random.default_rng(seed)
    picked = [
        rng.permutation(np.flatnonzero(y == cls))[:take]
        for cls, take in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _split(x, y, seed: int, source: str):
    """Split one labelled set into train/validation, stratified, seeded."""
    y_int = _labels_to_int(np.asarray(y), source, "all")
    if len(y_int) != len(x):
        raise _fail(
            source,
            f"images and labels must have the same length; received {len(x)} "
            f"images and {len(y_int)} labels.",
        )
    val_idx = stratified_indices(y_int, round(len(y_int) * VAL_FRACTION), seed)
    mask = np.zeros(len(y_int), dtype=bool)
    mask[val_idx] = True
    x = np.asarray(x)
    return x[~mask], y_int[~mask], x[mask], y_int[mask]


def _subsample(x, y, limit, seed):
    if limit is None or limit >= len(y):
        return x, y
    idx = stratified_indices(y, limit, seed)
    return x[idx], y[idx]


# --------------------------------------------------------------------------- #
# Sources
# --------------------------------------------------------------------------- #


def _keras_dataset_dirs() -> list[Path]:
    """The folders where `keras.utils.get_file` caches datasets, in its order."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return [home / "datasets", Path("/tmp/.keras/datasets")]


def _load_npz_file(path: Path, source: str) -> dict:
    if not path.is_file():
        raise _fail(source, f"no such file: {path}.")
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError:
        raise _fail(
            source,
            "expected an .npz archive (np.savez); the file is not one, and "
            "pickles are not loaded (allow_pickle=False).",
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise _fail(source, f"cannot read the file ({err}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _fail(
            source,
            "expected an .npz archive (np.savez) with x_train/y_train and "
            "x_val/y_val; received a single .npy array.",
        )
    arrays = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise _fail(
                    source,
                    f"array '{key}' holds pickled Python objects, which are not "
                    "loaded (allow_pickle=False); store plain numeric arrays.",
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise _fail(source, f"cannot read array '{key}' ({err}).") from None
    return arrays


def _load_npz(path: Path, source: str, seed: int, num_classes=None) -> Dataset:
    arrays = _load_npz_file(path, source)
    keys = set(arrays)
    names = arrays.get("class_names")
    if {"x_train", "y_train", "x_val", "y_val"} <= keys:
        parts = [arrays[k] for k in ("x_train", "y_train", "x_val", "y_val")]
    elif {"x_train", "y_train", "x_test", "y_test"} <= keys:
        parts = [arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    elif {"x", "y"} <= keys:
        parts = _split(arrays["x"], arrays["y"], seed, source)
    else:
        raise _fail(
            source,
            "expected arrays x_train, y_train, x_val, y_val (or x_test, y_test, "
            f"or only x, y); received {sorted(keys) or 'no arrays'}.",
        )
    return Dataset.from_arrays(
        *parts, name=source, num_classes=num_classes, class_names=names
    )


def _load_sample(source: str, seed: int) -> Dataset:
    if not SAMPLE_PATH.is_file():
        raise _fail(
            source,
            f"the packaged sample {SAMPLE_PATH} is missing; reinstall kt-capacity "
            "or regenerate it with scripts/make_sample_data.py.",
        )
    return _load_npz(SAMPLE_PATH, source, seed, num_classes=10)


def _fashion_mnist_dir() -> Path | None:
    candidates = [DEBIAN_FASHION_MNIST_DIR]
    candidates += [d / "fashion-mnist" for d in _keras_dataset_dirs()]
    for folder in candidates:
        if all((folder / name).is_file() for name in FASHION_MNIST_FILES):
            return folder
    return None


def _load_fashion_mnist(source: str) -> Dataset:
    folder = _fashion_mnist_dir()
    if folder is None:
        raise _fail(
            source,
            "Fashion-MNIST was not found in /usr/share/datasets/fashion-mnist nor "
            "in the Keras cache; install it with `apt-get install "
            "dataset-fashion-mnist`.",
        )
    x_train, y_train, x_val, y_val = (
        read_idx(folder / name) for name in FASHION_MNIST_FILES
    )
    return Dataset.from_arrays(
        x_train,
        y_train,
        x_val,
        y_val,
        name=source,
        num_classes=10,
        class_names=FASHION_MNIST_CLASSES,
    )


def _cifar10_dir() -> Path | None:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for base in _keras_dataset_dirs():
        for folder in (
            base / "cifar-10-batches-py-target" / "cifar-10-batches-py",
            base / "cifar-10-batches-py",
        ):
            if all((folder / name).is_file() for name in names):
                return folder
    return None


def _read_cifar_batch(path: Path, source: str):
    # The Keras cache holds the dataset's own pickles, as keras.datasets reads them.
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"])
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError) as err:
        raise _fail(source, f"cannot read {path} ({err}).") from None
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _host_reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_cifar10(source: str) -> Dataset:
    folder = _cifar10_dir()
    if folder is not None:
        parts = [
            _read_cifar_batch(folder / f"data_batch_{i}", source) for i in range(1, 6)
        ]
        x_train = np.concatenate([p[0] for p in parts])
        y_train = np.concatenate([p[1] for p in parts])
        x_val, y_val = _read_cifar_batch(folder / "test_batch", source)
    else:
        if not _host_reachable(CIFAR10_HOST):
            raise _fail(
                source,
                "CIFAR-10 is not in the Keras cache (~/.keras/datasets) and "
                f"{CIFAR10_HOST} cannot be reached to download it; run "
                "keras.datasets.cifar10.load_data() once on a machine with "
                "network access and copy ~/.keras/datasets.",
            )
        import keras

        try:
            (x_train, y_train), (x_val, y_val) = keras.datasets.cifar10.load_data()
        except Exception as err:  # noqa: BLE001 (get_file raises a bare Exception)
            raise _fail(
                source, f"downloading CIFAR-10 failed ({type(err).__name__}: {err})."
            ) from None
    return Dataset.from_arrays(
        x_train,
        y_train,
        x_val,
        y_val,
        name=source,
        num_classes=10,
        class_names=CIFAR10_CLASSES,
    )


def _load_digits(source: str, seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    x_train, y_train, x_val, y_val = _split(x, digits.target, seed, source)
    return Dataset.from_arrays(
        x_train,
        y_train,
        x_val,
        y_val,
        name=source,
        num_classes=10,
        class_names=[str(d) for d in range(10)],
    )


def _first_image(folder: Path) -> Path | None:
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            return path
    return None


def _load_dir(folder: Path, source: str, seed: int) -> Dataset:
    if not folder.is_dir():
        raise _fail(source, f"no such directory: {folder}.")
    first = _first_image(folder)
    if first is None:
        raise _fail(
            source,
            "expected one sub-folder of images per class "
            f"({', '.join(IMAGE_EXTENSIONS)}); found no image.",
        )
    from PIL import Image

    try:
        with Image.open(first) as image:
            width, height = image.size
            grey = image.mode in ("1", "L", "I", "I;16", "F")
    except OSError as err:
        raise _fail(source, f"cannot read the image {first} ({err}).") from None
    import keras
    import tensorflow as tf

    try:
        train_ds, val_ds = keras.utils.image_dataset_from_directory(
            str(folder),
            labels="inferred",
            label_mode="int",
            color_mode="grayscale" if grey else "rgb",
            image_size=(height, width),
            batch_size=256,
            shuffle=True,
            seed=seed,
            validation_split=VAL_FRACTION,
            subset="both",
            verbose=False,
        )
    except (ValueError, OSError) as err:
        message = " ".join(str(err).split())
        raise _fail(source, f"{message}") from None
    class_names = list(train_ds.class_names)

    def materialize(ds):
        xs, ys = [], []
        for images, labels in ds:
            xs.append(images.numpy())
            ys.append(labels.numpy())
        if not xs:
            return (
                np.zeros((0, height, width, 1 if grey else 3), np.float32),
                np.zeros((0,), np.int32),
            )
        return np.concatenate(xs) / np.float32(255.0), np.concatenate(ys)

    try:
        x_train, y_train = materialize(train_ds)
        x_val, y_val = materialize(val_ds)
    except tf.errors.OpError as err:  # a file that fails to decode
        raise _fail(
            source, f"cannot decode the images ({type(err).__name__})."
        ) from None
    return Dataset.from_arrays(
        np.clip(x_train, 0.0, 1.0),
        y_train,
        np.clip(x_val, 0.0, 1.0),
        y_val,
        name=source,
        num_classes=len(class_names),
        class_names=class_names,
    )


def load_dataset(
    source: str = "sample",
    *,
    seed: int = 0,
    max_train: int | None = None,
    max_val: int | None = None,
) -> Dataset:
    """Load and validate one data source.

    Args:
        source: "sample", "fashion_mnist", "cifar10", "digits", "npz:PATH" or
            "dir:PATH". An npz holds x_train, y_train and x_val, y_val (or
            x_test, y_test; or only x, y, split 80/20 by class with `seed`) and
            optionally class_names. A dir holds one sub-folder per class, split
            80/20 with `seed`. CIFAR-10 is read from the Keras cache; when it is
            not cached it is downloaded only if its host answers within 3 s.
        seed: seed of every split and subsample.
        max_train: keep at most this many train examples (class-stratified).
        max_val: keep at most this many validation examples (class-stratified).

    Returns:
        The validated `Dataset`.

    Raises:
        DataError: for an unknown source, missing data or invalid content, with a
            one-line message naming the source.
    """
    _check_positive_int("max_train", max_train)
    _check_positive_int("max_val", max_val)
    if not isinstance(source, str):
        raise DataError(
            f"Invalid value for argument `source`. Expected a string, one of "
            f"{', '.join(SOURCES)}. Received source={source!r}."
        )
    if source == "sample":
        data = _load_sample(source, seed)
    elif source == "fashion_mnist":
        data = _load_fashion_mnist(source)
    elif source == "cifar10":
        data = _load_cifar10(source)
    elif source == "digits":
        data = _load_digits(source, seed)
    elif source.startswith("npz:") and source[4:]:
        data = _load_npz(Path(source[4:]).expanduser(), source, seed)
    elif source.startswith("dir:") and source[4:]:
        data = _load_dir(Path(source[4:]).expanduser(), source, seed)
    else:
        raise DataError(
            f"Unknown dataset '{source}'. Expected one of: {', '.join(SOURCES)}."
        )
    data.x_train, data.y_train = _subsample(data.x_train, data.y_train, max_train, seed)
    data.x_val, data.y_val = _subsample(data.x_val, data.y_val, max_val, seed)
    return data
