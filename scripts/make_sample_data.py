"""Build the Fashion-MNIST sample shipped in kt_capacity/datasets.

Reads Debian's `dataset-fashion-mnist` idx files, picks a seeded, class-stratified
subset (6,000 images of the official train split, 600 per class, and 2,000 of the
official test split, 200 per class, as uint8) and writes them, with the class
names, to an .npz archive. The output is byte-for-byte deterministic: it is the
format of `np.savez_compressed`, but the zip entries carry a fixed timestamp.

Regenerate the packaged file (from the repo root, with ``pip install -e .`` done)::

    apt-get install dataset-fashion-mnist
    python scripts/make_sample_data.py

Options: ``--source DIR`` (idx .gz files), ``--out PATH``, ``--seed N``,
``--train N``, ``--val N``.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from kt_capacity.data import (
    DEBIAN_FASHION_MNIST_DIR,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    SAMPLE_PATH,
    read_idx,
    stratified_indices,
)

SEED = 20170825  # Fashion-MNIST's release date; any fixed value would do.
TRAIN_SIZE = 6000
VAL_SIZE = 2000
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def build_sample(
    source_dir=DEBIAN_FASHION_MNIST_DIR,
    *,
    seed: int = SEED,
    train_size: int = TRAIN_SIZE,
    val_size: int = VAL_SIZE,
) -> dict[str, np.ndarray]:
    """Select the stratified sample from the full Fashion-MNIST idx files.

    Args:
        source_dir: folder holding the four idx .gz files.
        seed: selection seed.
        train_size: images taken from the official train split.
        val_size: images taken from the official test split.

    Returns:
        Arrays x_train, y_train, x_val, y_val (uint8) and class_names (unicode).
    """
    source_dir = Path(source_dir)
    x_train, y_train, x_test, y_test = (
        read_idx(source_dir / name) for name in FASHION_MNIST_FILES
    )
    train_idx = stratified_indices(y_train, train_size, seed)
    val_idx = stratified_indices(y_test, val_size, seed + 1)
    return {
        "x_train": np.ascontiguousarray(x_train[train_idx]),
        "y_train": np.ascontiguousarray(y_train[train_idx]),
        "x_val": np.ascontiguousarray(x_test[val_idx]),
        "y_val": np.ascontiguousarray(y_test[val_idx]),
        "class_names": np.array(FASHION_MNIST_CLASSES),
    }


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` as a compressed .npz whose bytes depend only on the data.

    Args:
        path: output file.
        arrays: name -> array (no object arrays).
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv=None) -> int:
    """Build the sample and write it; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(DEBIAN_FASHION_MNIST_DIR))
    parser.add_argument("--out", default=str(SAMPLE_PATH))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--train", type=int, default=TRAIN_SIZE)
    parser.add_argument("--val", type=int, default=VAL_SIZE)
    args = parser.parse_args(argv)
    arrays = build_sample(
        args.source, seed=args.seed, train_size=args.train, val_size=args.val
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(out, arrays)
    print(
        f"wrote {out}: {len(arrays['y_train'])} train + {len(arrays['y_val'])} "
        f"validation images, {out.stat().st_size:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
