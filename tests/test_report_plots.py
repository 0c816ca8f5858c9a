"""PNG plots of a search summary and of one fit, and `kt-capacity report --plots`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from kt_capacity import cli
from kt_capacity.report.plots import (
    PLOT_NAMES,
    RECORD_PLOT_NAMES,
    write_plots,
    write_record_plots,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "summary.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def assert_png_nontrivial(path: Path) -> None:
    """A decodable PNG that is not blank: varied pixels, many distinct colours."""
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_MAGIC, path
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    rgb = pixels[..., :3]
    assert float(rgb.std()) > 0.05, f"{path.name} is nearly uniform"
    colours = np.unique((rgb.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 20, f"{path.name} has only {len(colours)} colours"


def test_write_plots_fixture_writes_every_plot(tmp_path):
    written = write_plots(load_fixture(), tmp_path / "plots")
    assert list(written) == list(PLOT_NAMES)
    for name, result in written.items():
        assert isinstance(result, Path), f"{name} skipped: {result}"
        assert result == tmp_path / "plots" / f"{name}.png"
        assert_png_nontrivial(result)


def _only(summary: dict, trial_ids: set[str]) -> dict:
    summary = copy.deepcopy(summary)
    summary["trials"] = [t for t in summary["trials"] if t["trial_id"] in trial_ids]
    summary["pareto"] = [i for i in summary["pareto"] if i in trial_ids]
    return summary


@pytest.mark.parametrize(
    "keep, skipped",
    [
        ({"2"}, {"accuracy_by_depth", "accuracy_by_width", "depth_width_heatmap"}),
        ({"1", "2"}, {"accuracy_by_depth"}),  # d3 w16 and d3 w32: a width sweep
        ({"2", "4"}, {"accuracy_by_width"}),  # d3 w32 and d5 w32: a depth sweep
    ],
)
def test_write_plots_skips_with_reason_when_too_few_points(tmp_path, keep, skipped):
    written = write_plots(_only(load_fixture(), keep), tmp_path)
    for name, result in written.items():
        if name in skipped:
            assert isinstance(result, str) and "fewer than 2" in result
            assert not (tmp_path / f"{name}.png").exists()
        else:
            assert isinstance(result, Path), f"{name} skipped: {result}"
            assert_png_nontrivial(result)


def test_write_plots_without_completed_trial_skips_all(tmp_path):
    summary = _only(load_fixture(), {"5"})  # the failed trial only
    summary.update(recommendation=None, best=None, pareto=[])
    written = write_plots(summary, tmp_path)
    assert all(isinstance(r, str) for r in written.values())
    assert "nothing is recommended" in written["pareto_front"]
    assert list(tmp_path.glob("*.png")) == []


def test_write_plots_gradient_health_skipped_without_stats(tmp_path):
    summary = load_fixture()
    for t in summary["trials"]:
        t["gradients"] = {}
    written = write_plots(summary, tmp_path)
    assert written["gradient_health"] == "no gradient statistics were recorded"


def test_write_record_plots_learning_curve_and_gradients(tmp_path):
    record = next(t for t in load_fixture()["trials"] if t["trial_id"] == "4")
    written = write_record_plots(record, tmp_path, "plain d5 w32")
    assert list(written) == list(RECORD_PLOT_NAMES)
    for result in written.values():
        assert_png_nontrivial(result)


@pytest.mark.slow
def test_cli_report_plots_after_a_tiny_search(tmp_path, capsys):
    directory = tmp_path / "search"
    status = cli.main(
        [
            "search",
            "--max-trials", "2",
            "--epochs", "1",
            "--max-train", "600",
            "--depths", "1-2",
            "--widths", "8",
            "--directory", str(directory),
        ]
    )  # fmt: skip
    assert status == 0
    capsys.readouterr()
    assert cli.main(["report", str(directory), "--plots"]) == 0
    out = capsys.readouterr().out
    project = directory / "kt_capacity"
    # Two depths at width 8: a depth sweep, a 2-cell heatmap, no width sweep.
    expected = [
        "accuracy_by_depth",
        "depth_width_heatmap",
        "pareto_front",
        "learning_curves",
        "gradient_health",
    ]
    for name in expected:
        path = project / f"{name}.png"
        assert f"{name}.png" in out.replace("\n", "")
        assert_png_nontrivial(path)
    assert "skipped accuracy_by_width" in out
    assert not (project / "accuracy_by_width.png").exists()


def test_cli_report_plots_missing_search_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path), "--plots"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no search found" in err
