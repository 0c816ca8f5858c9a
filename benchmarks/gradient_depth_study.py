"""Per-layer gradient means of the tutorial CNN at depth 3 vs 5 on Fashion-MNIST.

Run: python -m benchmarks.gradient_depth_study [--train 4000] [--epochs 3] [--smoke]

Question: does the tutorial's vanishing pattern (last layers of a depth-5 plain net
near 1e-6 while a depth-3 net sits at 1e-3..1e-2) show up here? Reads the Debian
`dataset-fashion-mnist` idx files directly, trains each depth with Adam and a
GradientStats(every_n_steps=5) callback, and prints each layer's median mean |g| per
epoch and the flags.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
from pathlib import Path

import keras
import numpy as np

from benchmarks.grad_stats_overhead import tutorial_cnn
from kt_capacity.gradient_stats import GradientStats

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """Reads a gzipped idx file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(n_train: int, n_val: int, seed: int = 0):
    """A seeded subset of Fashion-MNIST, scaled to [0, 1], shape (n, 28, 28, 1)."""
    x = read_idx(DATA_DIR / "train-images-idx3-ubyte.gz")
    y = read_idx(DATA_DIR / "train-labels-idx1-ubyte.gz")
    idx = np.random.default_rng(seed).permutation(len(x))[: n_train + n_val]
    x = (x[idx].astype("float32") / 255.0)[..., None]
    y = y[idx].astype("int64")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def study(depth, data, epochs, batch, every, activation="relu", seed=0):
    """Trains one depth; returns per-epoch per-layer medians, flags and metrics."""
    (x, y), (xv, yv) = data
    keras.utils.set_random_seed(seed)
    model = tutorial_cnn(depth=depth, activation=activation)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    stats = GradientStats(every_n_steps=every)
    steps_per_epoch = -(-len(x) // batch)
    hist = model.fit(
        x,
        y,
        batch_size=batch,
        epochs=epochs,
        validation_data=(xv, yv),
        callbacks=[stats],
        verbose=0,
    )
    per_epoch = []
    for epoch in range(epochs):
        lo, hi = epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch
        layers: dict[str, list[float]] = {}
        for r in stats.history:
            if lo <= r["step"] < hi:
                layers.setdefault(r["layer"], []).append(r["mean_abs"])
        per_epoch.append({k: statistics.median(v) for k, v in layers.items()})
    first_step = {r["layer"]: r["mean_abs"] for r in stats.history if r["step"] == 0}
    return {
        "first_step": first_step,
        "per_epoch": per_epoch,
        "flags": stats.flags(),
        "train_acc": hist.history["accuracy"][-1],
        "val_acc": hist.history["val_accuracy"][-1],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--val", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--depths", type=int, nargs="+", default=[3, 5])
    parser.add_argument(
        "--activation", default="relu", help="conv activation (tutorial: relu)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.train, args.val, args.epochs, args.batch = 128, 64, 1, 32
    data = load(args.train, args.val)
    print(
        f"Fashion-MNIST {args.train} train / {args.val} val, {args.epochs} epochs, "
        f"Adam, batch {args.batch}, stats every {args.every} steps"
    )
    for depth in args.depths:
        out = study(depth, data, args.epochs, args.batch, args.every, args.activation)
        print(
            f"\ndepth {depth} ({args.activation}): train acc {out['train_acc']:.3f}, "
            f"val acc {out['val_acc']:.3f}"
        )
        header = "".join(f"{'epoch ' + str(e + 1):>12}" for e in range(args.epochs))
        print(f"  {'layer':<10}{'step 0':>12}{header}   (median mean |g| per epoch)")
        for layer, first in out["first_step"].items():
            cells = "".join(
                f"{e.get(layer, float('nan')):>12.2e}" for e in out["per_epoch"]
            )
            print(f"  {layer:<10}{first:>12.2e}{cells}")
        flags = out["flags"]
        print(
            "  flags: "
            + ("; ".join(f"{f.kind}: {', '.join(f.layers)}" for f in flags) or "none")
        )


if __name__ == "__main__":
    main()
