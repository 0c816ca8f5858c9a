"""Command line: `python -m kt_capacity.cli search|report|diagnose` (`kt-capacity`).

Usage and input errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from pathlib import Path

from kt_capacity.space import FAMILIES  # pure: parsing never loads TensorFlow

# Before TensorFlow loads: keep its C++ start-up chatter off the user's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rich.console import Console  # noqa: E402
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

PROG = "kt-capacity"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad command line or input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{self.prog}: error: {message}")


def int_list(text: str) -> list[int]:
    """Parse "1-5", "16,32,64" or "1-3,5" into sorted distinct integers >= 1."""
    values: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                values.update(range(lo, hi + 1))
            else:
                values.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers >= 1 like '1-5' or '16,32,64', received {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected integers >= 1 like '1-5' or '16,32,64', received {text!r}"
        )
    return sorted(values)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return value


def _families(text: str) -> list[str]:
    names = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in names if f not in FAMILIES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(FAMILIES)}, "
            f"received {text!r}"
        )
    return names


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Find the right depth and width of a CNN for your data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("search", help="search depth x width (x family) on a dataset")
    s.add_argument(
        "--dataset",
        default="sample",
        help="sample (default, embedded Fashion-MNIST subset), fashion_mnist, "
        "cifar10, digits, npz:PATH or dir:PATH",
    )
    s.add_argument("--depths", type=int_list, default=[1, 2, 3, 4], help="e.g. 1-5")
    s.add_argument("--widths", type=int_list, default=[16, 32, 64], help="e.g. 16,32")
    s.add_argument("--families", type=_families, default=["plain"])
    s.add_argument("--epochs", type=_positive_int, default=5)
    s.add_argument("--batch-size", type=_positive_int, default=128)
    s.add_argument("--max-trials", type=_positive_int, default=10)
    s.add_argument(
        "--threshold",
        type=_threshold,
        default=0.01,
        help="minimum cost-efficiency (val pts per %% params) of a step",
    )
    s.add_argument(
        "--explore",
        action="store_true",
        help="after the knee, spend the remaining trials searching for accuracy",
    )
    s.add_argument("--max-train", type=_positive_int, default=None)
    s.add_argument("--directory", default="kt_runs", help="where the search is kept")
    s.add_argument(
        "--resume", action="store_true", help="continue the search in --directory"
    )
    s.add_argument(
        "--overwrite", action="store_true", help="discard a search in --directory"
    )
    s.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("report", help="re-render a finished or interrupted search")
    r.add_argument("directory")
    r.add_argument(
        "--plots",
        action="store_true",
        help="(re)write the PNG plots into the search's project folder",
    )
    d = sub.add_parser(
        "diagnose",
        help="fit one configuration (or a saved .keras model) and diagnose the fit",
    )
    d.add_argument("--depth", type=_positive_int, default=None)
    d.add_argument("--width", type=_positive_int, default=None)
    d.add_argument(
        "--family", default=None, help="plain (default), residual or separable_se"
    )
    d.add_argument(
        "--model", default=None, help="a saved Keras model (PATH.keras) to diagnose"
    )
    d.add_argument(
        "--dataset",
        default="sample",
        help="sample (default), fashion_mnist, cifar10, digits, npz:PATH or dir:PATH",
    )
    d.add_argument("--epochs", type=_positive_int, default=3)
    d.add_argument("--batch-size", type=_positive_int, default=128)
    d.add_argument("--max-train", type=_positive_int, default=None)
    d.add_argument(
        "--every-n-steps",
        type=_positive_int,
        default=1,
        help="record gradient statistics every n-th step (default 1)",
    )
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default=None, help="folder for the plots that apply")
    return parser


class LiveProgress:
    """Tuner listener that shows trial and epoch progress with rich."""

    def __init__(self, console: Console, max_trials: int, done: int):
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=True,
        )
        self.trials = self.progress.add_task(
            "trials", total=max_trials, completed=done, info=""
        )
        self.epochs = self.progress.add_task("epochs", total=1, info="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def on_trial_begin(self, trial_id, config, reason):
        self.console.print(f"[bold]trial {trial_id}[/] {config.label}: {reason or ''}")
        self.progress.update(self.epochs, description=config.label, completed=0)

    def on_epoch_end(self, trial_id, epoch, epochs, logs):
        info = (
            f"acc {100 * logs.get('accuracy', 0):.1f} % "
            f"val {100 * logs.get('val_accuracy', 0):.1f} %"
        )
        self.progress.update(self.epochs, total=epochs, completed=epoch + 1, info=info)

    def on_trial_end(self, trial_id, summary):
        trial = next((t for t in summary["trials"] if t["trial_id"] == trial_id), None)
        if trial is not None and trial["status"] == "COMPLETED":
            m = trial["metrics"]
            self.console.print(
                f"  -> val {100 * m['val_accuracy']:.1f} %, {int(m['params']):,} "
                f"params, {trial['verdict']} ({m['seconds']:.0f} s)"
            )
        elif trial is not None:
            self.console.print(f"  -> [red]failed[/]: {trial.get('message')}")
        rec = summary.get("recommendation")
        best = f"knee so far: {rec['label']}" if rec else ""
        self.progress.update(self.trials, advance=1, info=best)


def _search(args, console: Console) -> int:
    project = Path(args.directory) / "kt_capacity"
    exists = (project / "oracle.json").is_file()
    if exists and not (args.resume or args.overwrite):
        raise UsageError(
            f"{PROG} search: error: '{args.directory}' already holds a search; pass "
            "--resume to continue it or --overwrite to start over"
        )
    if args.resume and args.overwrite:
        raise UsageError(
            f"{PROG} search: error: --resume and --overwrite exclude each other"
        )
    import keras

    from kt_capacity.data import DataError, load_dataset
    from kt_capacity.hypermodel import CapacityHyperModel
    from kt_capacity.oracle import CapacityOracle
    from kt_capacity.records import save_summary
    from kt_capacity.report.tables import recommendation_panel, trial_table
    from kt_capacity.tuner import CapacityTuner

    try:
        data = load_dataset(args.dataset, seed=args.seed, max_train=args.max_train)
    except DataError as e:
        raise UsageError(f"{PROG} search: error: {e}") from None
    keras.utils.set_random_seed(args.seed)
    hypermodel = CapacityHyperModel(
        data.input_shape,
        data.num_classes,
        depths=args.depths,
        widths=args.widths,
        families=args.families,
    )
    oracle = CapacityOracle(
        max_trials=args.max_trials,
        threshold=args.threshold,
        seed=args.seed,
        explore=args.explore,
    )
    tuner = CapacityTuner(
        hypermodel,
        oracle,
        directory=args.directory,
        project_name="kt_capacity",
        overwrite=args.overwrite,
    )
    done = len(tuner.oracle.end_order)
    console.print(
        f"[bold]kt-capacity[/] {data.name}: {len(data.x_train):,} train / "
        f"{len(data.x_val):,} val images {data.input_shape}, {data.num_classes} "
        f"classes; depths {args.depths}, widths {args.widths}, "
        f"families {args.families}; {args.epochs} epochs per trial"
        + (f"; resuming after {done} finished trials" if done else "")
    )
    train, val = data.pipelines(batch_size=args.batch_size, seed=args.seed)
    interrupted = False
    with LiveProgress(console, args.max_trials, done) as live:
        tuner.listener = live
        try:
            tuner.search(
                train, validation_data=val, epochs=args.epochs, shuffle=False, verbose=0
            )
        except KeyboardInterrupt:
            interrupted = True
    summary = tuner.summary()
    save_summary(tuner.project_dir, summary)
    console.print(trial_table(summary))
    console.print(recommendation_panel(summary))
    console.print(f"summary: {Path(tuner.project_dir) / 'summary.json'}")
    if interrupted:
        completed = sum(t["status"] == "COMPLETED" for t in summary["trials"])
        console.print(
            f"[yellow]interrupted[/]: {completed} completed trials are kept; "
            f"continue with: {PROG} search --directory {args.directory} --resume"
        )
        return EXIT_INTERRUPTED
    return 0


def _report(args, console: Console) -> int:
    from kt_capacity.records import load_summary
    from kt_capacity.report.tables import recommendation_panel, trial_table

    try:
        summary = load_summary(args.directory)
    except FileNotFoundError as e:
        raise UsageError(f"{PROG} report: error: {e}") from None
    console.print(trial_table(summary))
    console.print(recommendation_panel(summary))
    if args.plots:
        from kt_capacity.records import find_project_dir
        from kt_capacity.report.plots import write_plots

        _print_plots(console, write_plots(summary, find_project_dir(args.directory)))
    return 0


def _print_plots(console: Console, written: dict) -> None:
    """List the plots written and the ones skipped, with the reason."""
    for name, result in written.items():
        if isinstance(result, Path):
            console.print(f"plot: {result}", highlight=False, soft_wrap=True)
        else:
            console.print(
                f"[dim]skipped {name}: {result}[/]", highlight=False, soft_wrap=True
            )


def _load_user_model(path: str):
    """Load a saved Keras model, as a UsageError on any failure."""
    if not Path(path).is_file():
        raise UsageError(f"{PROG} diagnose: error: no such model file: '{path}'")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise UsageError(
            f"{PROG} diagnose: error: cannot load model '{path}': not a valid .keras "
            "file (a .keras model is a zip archive)"
        )
    import keras

    import kt_capacity.ops  # noqa: F401  (registers the ops layers for loading)

    try:
        model = keras.models.load_model(path)
    except Exception as e:  # corrupt zip, unknown format, missing custom layer...
        first = (str(e).strip().splitlines() or [""])[0]
        raise UsageError(
            f"{PROG} diagnose: error: cannot load model '{path}': "
            f"{type(e).__name__}: {first}"
        ) from None
    if not isinstance(model, keras.Model):
        raise UsageError(
            f"{PROG} diagnose: error: '{path}' holds a {type(model).__name__}, "
            "not a keras.Model"
        )
    return model


def _diagnose(args, console: Console) -> int:
    if args.model is not None:
        given = [
            f"--{n}"
            for n in ("depth", "width", "family")
            if getattr(args, n) is not None
        ]
        if given:
            raise UsageError(
                f"{PROG} diagnose: error: --model excludes {', '.join(given)}"
            )
    elif args.depth is None or args.width is None:
        raise UsageError(
            f"{PROG} diagnose: error: pass --depth and --width, or --model PATH.keras"
        )
    family = args.family or "plain"
    if family not in FAMILIES:
        raise UsageError(
            f"{PROG} diagnose: error: argument --family: expected one of "
            f"{','.join(FAMILIES)}, received {family!r}"
        )
    import keras

    from kt_capacity.data import DataError, load_dataset
    from kt_capacity.diagnose_run import check_model, run_diagnosis
    from kt_capacity.gradient_health import GradientFlag
    from kt_capacity.hypermodel import CapacityHyperModel, InfeasibleConfigError
    from kt_capacity.report.gradients import gradient_table
    from kt_capacity.report.panels import diagnosis_panel
    from kt_capacity.space import Config

    model = _load_user_model(args.model) if args.model is not None else None
    try:
        data = load_dataset(args.dataset, seed=args.seed, max_train=args.max_train)
    except DataError as e:
        raise UsageError(f"{PROG} diagnose: error: {e}") from None
    if model is None:
        config = Config(family, args.depth, args.width)
        hypermodel = CapacityHyperModel(
            data.input_shape,
            data.num_classes,
            depths=[args.depth],
            widths=[args.width],
            families=[family],
        )
        keras.utils.set_random_seed(args.seed)
        try:
            model = hypermodel.build_config(config)
        except InfeasibleConfigError as e:
            raise UsageError(f"{PROG} diagnose: error: {e}") from None
        label = config.label
    else:
        label = Path(args.model).name
    try:
        check_model(model, data)
    except ValueError as e:
        raise UsageError(f"{PROG} diagnose: error: {label}: {e}") from None
    console.print(
        f"[bold]kt-capacity diagnose[/] {label} on {data.name}: "
        f"{len(data.x_train):,} train / {len(data.x_val):,} val images, "
        f"{model.count_params():,} params, {args.epochs} epoch(s)",
        highlight=False,
    )
    record = run_diagnosis(
        model,
        data,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        every_n_steps=args.every_n_steps,
        depth=args.depth,
        width=args.width,
        label=label,
    )
    console.print(diagnosis_panel(record, label))
    flags = [
        GradientFlag(f["kind"], tuple(f["layers"]), f["evidence"])
        for f in record["gradient_flags"]
    ]
    console.print(gradient_table(record["gradient_history"], flags))
    if args.out is not None:
        from kt_capacity.report.plots import write_record_plots

        _print_plots(console, write_record_plots(record, args.out, label))
    return 0


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 muted.

    TensorFlow's C++ runtime prints start-up lines (oneDNN, CUDA probing) straight
    to file descriptor 2 before any log setting applies; they would bury the
    CLI's one-line messages. Python-level errors of the import still surface.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    console = Console()
    try:
        args = build_parser().parse_args(argv)
        _load_tensorflow_quietly()
        if args.command == "search":
            return _search(args, console)
        if args.command == "diagnose":
            return _diagnose(args, console)
        return _report(args, console)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
