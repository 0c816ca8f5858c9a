"""Tabular capacity benchmark: train every cell of a depth x width grid once.

Every cell gets the same protocol: `CapacityHyperModel.build_config`, Adam 1e-3,
sparse categorical cross-entropy, batch 128, a fixed number of epochs, the same
fixed seed (weights init and shuffling), on a fixed class-stratified subset of
Debian's Fashion-MNIST (train images from the official train split, validation
images from the official test split: disjoint). Per epoch it records train/val
accuracy and loss; per cell params, FLOPs (`count_flops`) and seconds.

The JSON table is rewritten after every cell, so a partial table is usable and a
rerun skips the cells already present (resumable). Cells run width-major, depths
inside, so a partial table is a full sub-grid (all depths x the smaller widths).
One seed per cell: the single-seed noise is ~0.5 point on 2k validation images.

    python -m benchmarks.capacity_table --name fmnist_plain_2k \
        --train-size 2000 --val-size 2000 --epochs 6
    python -m benchmarks.capacity_table --smoke --out /tmp/smoke.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def load_subset(train_size: int, val_size: int, seed: int):
    """The fixed stratified subset: (x_train, y_train, x_val, y_val), floats in [0, 1].

    Raises:
        ValueError: if a size is not strictly positive.
    """
    import numpy as np

    from kt_capacity.data import read_idx, stratified_indices

    for name, value in (("train_size", train_size), ("val_size", val_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a strictly positive "
                f"value. Received {name}={value}."
            )
    x_tr, y_tr, x_te, y_te = (read_idx(FMNIST_DIR / f) for f in FILES)
    i_tr = stratified_indices(y_tr, train_size, seed)
    i_va = stratified_indices(y_te, val_size, seed)

    def prep(x):
        return (x.astype(np.float32) / 255.0)[..., None]

    return (
        prep(x_tr[i_tr]),
        y_tr[i_tr].astype(np.int64),
        prep(x_te[i_va]),
        (y_te[i_va].astype(np.int64)),
    )


def grid(family: str, depths, widths):
    """The cells in training order: width-major, depths inside (cheap first)."""
    return [(family, d, w) for w in sorted(widths) for d in sorted(depths)]


def cell_key(family: str, depth: int, width: int) -> str:
    return f"{family}/{depth}/{width}"


def train_cell(hypermodel, config, data, epochs: int, seed: int) -> dict:
    """Train one configuration with the table's protocol; the cell's record."""
    import keras

    from kt_capacity.costs import count_flops

    x_tr, y_tr, x_va, y_va = data
    keras.utils.set_random_seed(seed)
    model = hypermodel.build_config(config)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        x_tr,
        y_tr,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_data=(x_va, y_va),
        shuffle=True,
        verbose=0,
    ).history
    seconds = time.perf_counter() - start
    record = {
        "family": config.family,
        "depth": config.depth,
        "width": config.width,
        "params": int(model.count_params()),
        "flops": int(count_flops(model)),
        "seconds": round(seconds, 2),
        "history": {
            k: [round(float(v), 5) for v in history[k]]
            for k in ("accuracy", "val_accuracy", "loss", "val_loss")
        },
    }
    keras.backend.clear_session()
    return record


def _write(path: Path, table: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(table, indent=1) + "\n")
    os.replace(tmp, path)


def build_table(
    out: Path,
    *,
    name: str,
    family: str,
    depths,
    widths,
    train_size: int,
    val_size: int,
    epochs: int,
    seed: int,
    command: str,
    log=print,
) -> dict:
    """Train the missing cells of the table at `out` and return the table.

    Raises:
        ValueError: if `out` holds a table made with another protocol.
    """
    from kt_capacity.hypermodel import CapacityHyperModel
    from kt_capacity.space import Config

    protocol = {
        "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist idx files)",
        "train": f"{train_size} images, stratified (seed {seed}) from the train split",
        "validation": f"{val_size} images, stratified (seed {seed}) from the t10k "
        "split (disjoint from train)",
        "train_size": train_size,
        "val_size": val_size,
        "family": family,
        "depths": sorted(depths),
        "widths": sorted(widths),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam(learning_rate={LEARNING_RATE})",
        "loss": "sparse_categorical_crossentropy",
        "seed": seed,
        "seeds_per_cell": 1,
        "model": "CapacityHyperModel.build_config (no BatchNorm, relu)",
    }
    if out.exists():
        table = json.loads(out.read_text())
        if table["protocol"] != protocol:
            raise ValueError(
                f"{out} holds a table made with another protocol: "
                f"{table['protocol']} != {protocol}. Use another --name or --out."
            )
    else:
        table = {
            "name": name,
            "command": command,
            "protocol": protocol,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, shared",
            "cells": [],
        }
    done = {cell_key(c["family"], c["depth"], c["width"]) for c in table["cells"]}
    data = load_subset(train_size, val_size, seed)
    hypermodel = CapacityHyperModel(
        data[0].shape[1:], 10, depths=depths, widths=widths, families=[family]
    )
    cells = grid(family, depths, widths)
    for i, (fam, depth, width) in enumerate(cells, 1):
        if cell_key(fam, depth, width) in done:
            continue
        config = Config(fam, depth, width)
        if hypermodel.infeasibility(config):
            continue
        record = train_cell(hypermodel, config, data, epochs, seed)
        table["cells"].append(record)
        _write(out, table)
        log(
            f"[{name}] {i}/{len(cells)} {config.label}: "
            f"val {100 * max(record['history']['val_accuracy']):.2f} % "
            f"params {record['params']} {record['seconds']:.1f} s"
        )
    _write(out, table)
    return table


def repeat_cells(table_path: Path, cells, seeds, log=print) -> list[dict]:
    """Retrain some cells of a table with other weight/shuffle seeds (noise check).

    The data subset stays the table's; only the seed of `train_cell` changes.

    Returns:
        One row per cell: the table's best val accuracy and those of the seeds.
    """
    from kt_capacity.hypermodel import CapacityHyperModel
    from kt_capacity.space import Config

    table = json.loads(Path(table_path).read_text())
    p = table["protocol"]
    data = load_subset(p["train_size"], p["val_size"], p["seed"])
    hypermodel = CapacityHyperModel(
        data[0].shape[1:],
        10,
        depths=p["depths"],
        widths=p["widths"],
        families=[p["family"]],
    )
    recorded = {
        cell_key(c["family"], c["depth"], c["width"]): c for c in table["cells"]
    }
    rows = []
    for depth, width in cells:
        base = recorded[cell_key(p["family"], depth, width)]
        vals = [max(base["history"]["val_accuracy"])]
        for seed in seeds:
            config = Config(p["family"], depth, width)
            rec = train_cell(hypermodel, config, data, p["epochs"], seed)
            vals.append(max(rec["history"]["val_accuracy"]))
        rows.append({"depth": depth, "width": width, "val_accuracy": vals})
        log(
            f"d{depth} w{width}: best val over seeds {[p['seed'], *seeds]}: "
            + ", ".join(f"{100 * v:.2f}" for v in vals)
            + f" (spread {100 * (max(vals) - min(vals)):.2f} pt)"
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="fmnist_plain_2k")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--family", default="plain")
    parser.add_argument("--depths", default="1,2,3,4,5,6")
    parser.add_argument("--widths", default="16,24,32,48,64,96,128")
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny grid (depths 1-2 x widths 4,8, 200 images, 1 epoch) for CI",
    )
    parser.add_argument(
        "--repeat",
        default=None,
        help="noise check: retrain cells 'd/w,d/w' of the table with --repeat-seeds",
    )
    parser.add_argument("--repeat-seeds", default="1,2")
    args = parser.parse_args(argv)
    if args.repeat:
        cells = [tuple(int(v) for v in c.split("/")) for c in args.repeat.split(",")]
        seeds = [int(v) for v in args.repeat_seeds.split(",")]
        repeat_cells(args.out or DATA_DIR / f"{args.name}.json", cells, seeds)
        return 0
    if args.smoke:
        args.depths, args.widths = "1,2", "4,8"
        args.train_size = args.val_size = 200
        args.epochs = 1
        args.name = "smoke"
    out = args.out or DATA_DIR / f"{args.name}.json"
    command = "python -m benchmarks.capacity_table " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    build_table(
        out,
        name=args.name,
        family=args.family,
        depths=[int(v) for v in args.depths.split(",")],
        widths=[int(v) for v in args.widths.split(",")],
        train_size=args.train_size,
        val_size=args.val_size,
        epochs=args.epochs,
        seed=args.seed,
        command=command.strip(),
    )
    print(f"table: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
