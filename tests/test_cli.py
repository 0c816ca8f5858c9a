"""The command line: usage errors, a tiny search, report, and resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kt_capacity.cli import int_list, main

TINY = [
    "--max-train",
    "300",
    "--depths",
    "1-2",
    "--widths",
    "4,8",
    "--epochs",
    "1",
    "--batch-size",
    "64",
]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "--depths", "0"], "argument --depths: expected integers >= 1"),
        (["search", "--widths", "x"], "received 'x'"),
        (["search", "--families", "dense"], "expected a comma-separated subset"),
        (["search", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
        (["search", "--threshold", "-1"], "expected a number >= 0"),
        (["search", "--dataset", "nope"], "Unknown dataset 'nope'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["report", "/nonexistent/dir"], "no search found in '/nonexistent/dir'"),
    ],
)
def test_cli_usage_errors_are_one_line_exit_2(argv, message, capsys, tmp_path):
    assert (
        main([*argv, "--directory", str(tmp_path)] if argv[0] == "search" else argv)
        == 2
    )
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_npz_with_pickled_objects_is_rejected(tmp_path, capsys):
    path = tmp_path / "bad.npz"
    objects = np.empty(2, dtype=object)
    objects[:] = [{"a": 1}, {"b": 2}]
    np.savez(
        path, x_train=objects, y_train=np.zeros(2), x_val=objects, y_val=np.zeros(2)
    )
    assert (
        main(["search", "--dataset", f"npz:{path}", "--directory", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert "pickle" in err and err.count("\n") == 1


def test_cli_npz_labels_out_of_range_are_rejected(tmp_path, capsys):
    path = tmp_path / "labels.npz"
    x = np.zeros((20, 8, 8), dtype="uint8")
    y = np.arange(20) % 3
    y_val = y.copy()
    y_val[0] = -1
    np.savez(path, x_train=x, y_train=y, x_val=x, y_val=y_val)
    assert (
        main(["search", "--dataset", f"npz:{path}", "--directory", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert "labels" in err and err.count("\n") == 1


def test_cli_refuses_to_clobber_an_existing_search(tmp_path, capsys):
    project = tmp_path / "kt_capacity"
    project.mkdir()
    (project / "oracle.json").write_text("{}")
    assert main(["search", "--directory", str(tmp_path)]) == 2
    assert "pass --resume to continue it or --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1-5", [1, 2, 3, 4, 5]),
        ("16,32,64", [16, 32, 64]),
        ("1-3,5", [1, 2, 3, 5]),
        ("2,2,1", [1, 2]),
    ],
)
def test_int_list_parses_ranges_and_lists(text, expected):
    assert int_list(text) == expected


def test_cli_search_then_report_in_process(tmp_path, capsys):
    assert (
        main(["search", *TINY, "--max-trials", "2", "--directory", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "Capacity trials" in out and "Recommendation" in out and "Use plain d" in out
    summary = json.loads((tmp_path / "kt_capacity" / "summary.json").read_text())
    assert len(summary["trials"]) == 2
    assert main(["report", str(tmp_path)]) == 0
    assert "Use plain d" in capsys.readouterr().out


def _completed(project: Path) -> dict[str, float]:
    """trial id -> mtime of its record, for every completed trial."""
    return {
        p.parent.name: p.stat().st_mtime for p in project.glob("trial_*/capacity.json")
    }


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_cli_interrupted_search_resumes_without_retraining(tmp_path, sig):
    cmd = [
        sys.executable,
        "-m",
        "kt_capacity.cli",
        "search",
        *TINY,
        "--max-trials",
        "4",
        "--directory",
        str(tmp_path),
    ]
    project = tmp_path / "kt_capacity"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.time() + 240
    while not _completed(project) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert _completed(project), proc.communicate()[1].decode()[-2000:]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err.decode()[-2000:]
        assert b"interrupted" in out and b"--resume" in out
    before = _completed(project)

    resumed = subprocess.run(
        [*cmd, "--resume"], capture_output=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    after = _completed(project)
    for trial_id, mtime in before.items():  # never trained again
        assert after[trial_id] == mtime
    summary = json.loads((project / "summary.json").read_text())
    ids = [t["trial_id"] for t in summary["trials"]]
    assert set(before) <= {f"trial_{i}" for i in ids}
    assert len(ids) == len(set(ids)) >= len(before)
    assert b"Capacity trials" in resumed.stdout


@pytest.mark.parametrize(
    "argv", [["search", "--families", "dense"], ["search", "--dataset", "nope"]]
)
def test_cli_error_process_stderr_is_exactly_one_line(argv, tmp_path):
    # TensorFlow's C++ start-up lines go to fd 2, beyond capsys's reach.
    out = subprocess.run(
        [sys.executable, "-m", "kt_capacity.cli", *argv, "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("kt-capacity search")
