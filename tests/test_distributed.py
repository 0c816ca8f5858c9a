"""Keras Tuner's distributed mode: a chief and two workers on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "distributed_search.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers_complete_the_search(tmp_path):
    env = {
        **os.environ,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(free_port()),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    cmd = [sys.executable, str(EXAMPLE), str(tmp_path)]

    def start(role):
        return subprocess.Popen(
            cmd,
            env={**env, "KERASTUNER_TUNER_ID": role},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    chief = start("chief")
    project = tmp_path / "distributed"
    deadline = time.time() + 60
    while not (project / "oracle.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    workers = [start("tuner0"), start("tuner1")]
    try:
        outputs = [p.communicate(timeout=240)[0].decode() for p in [*workers, chief]]
    finally:
        for p in [*workers, chief]:
            p.kill()
    for p, out in zip([*workers, chief], outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    assert "done tuner0" in outputs[0] and "done tuner1" in outputs[1]

    trials = [json.loads(p.read_text()) for p in project.glob("trial_*/trial.json")]
    assert len(trials) == 4
    assert all(t["status"] == "COMPLETED" for t in trials)
    configs = {tuple(sorted(t["hyperparameters"]["values"].items())) for t in trials}
    assert len(configs) == 4  # no configuration trained twice
    summary = json.loads((project / "summary.json").read_text())
    assert len(summary["trials"]) == 4
    assert all(t["reason"] for t in summary["trials"])  # the chief's reasons
    assert summary["recommendation"] is not None
