"""Golden renders of the report renderables (rich's own testing style).

Each renderable is built from the hand-written search summary in
`tests/fixtures/summary.json`, rendered without colour at a fixed width of 100
columns, and compared with the stored text in `tests/golden/<name>.txt`.

After an intended change of a renderable, regenerate the stored renders with

    KT_REGEN_GOLDEN=1 python -m pytest tests/test_report_golden.py

then read the diff (`git diff tests/golden`) before committing it.
"""

from __future__ import annotations

import copy
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from kt_capacity.diagnosis import diagnose
from kt_capacity.gradient_health import GradientFlag
from kt_capacity.report.panels import diagnosis_panel
from kt_capacity.report.tables import recommendation_panel, trial_table

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "summary.json"
GOLDEN = HERE / "golden"
WIDTH = 100
REGEN = os.environ.get("KT_REGEN_GOLDEN") == "1"


def load_fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def render(renderable) -> str:
    console = Console(
        width=WIDTH, file=io.StringIO(), color_system=None, force_terminal=False
    )
    console.print(renderable)
    return console.file.getvalue()


def _trial(summary: dict, trial_id: str) -> dict:
    return next(t for t in summary["trials"] if t["trial_id"] == trial_id)


def _diagnosis_of_overfit_trial(summary: dict):
    """A `Diagnosis` object computed from the depth-5 trial's history and flags."""
    t = _trial(summary, "4")
    flags = [
        GradientFlag(f["kind"], tuple(f["layers"]), f["evidence"])
        for f in t["gradient_flags"]
    ]
    return diagnose(
        t["history"], gradient_flags=flags, depth=t["depth"], width=t["width"]
    )


CASES = {
    "trial_table": lambda s: trial_table(s),
    "recommendation_panel": lambda s: recommendation_panel(s),
    "diagnosis_panel": lambda s: diagnosis_panel(_trial(s, "4"), "plain d5 w32"),
    "diagnosis_panel_from_diagnosis": lambda s: diagnosis_panel(
        _diagnosis_of_overfit_trial(s), "plain d5 w32"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_matches_golden(name):
    text = render(CASES[name](load_fixture()))
    path = GOLDEN / f"{name}.txt"
    if REGEN:
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {path.name}")
    assert path.is_file(), (
        f"missing golden {path}; create it with KT_REGEN_GOLDEN=1 python -m pytest "
        f"{Path(__file__).name}"
    )
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name, change",
    [
        ("trial_table", lambda s: s["trials"][1]["metrics"].update(val_accuracy=0.5)),
        ("recommendation_panel", lambda s: s["recommendation"].update(label="x d9")),
        ("diagnosis_panel", lambda s: s["trials"][4]["evidence"].pop(0)),
    ],
)
def test_render_golden_detects_a_change(name, change):
    summary = copy.deepcopy(load_fixture())
    change(summary)
    assert render(CASES[name](summary)) != (GOLDEN / f"{name}.txt").read_text()


def test_diagnosis_panel_record_and_diagnosis_agree_on_findings():
    summary = load_fixture()
    from_record = render(CASES["diagnosis_panel"](summary))
    from_diagnosis = render(CASES["diagnosis_panel_from_diagnosis"](summary))
    # The record adds its metrics line and gradient spread; the rest is the same.
    for line in from_diagnosis.splitlines():
        assert line in from_record


def test_diagnosis_panel_rejects_a_record_without_verdict():
    with pytest.raises(ValueError, match="Expected a Diagnosis or a record dict"):
        diagnosis_panel({"evidence": []}, "x")
