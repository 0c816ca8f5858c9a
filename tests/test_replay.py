"""Replay harness and search-efficiency benchmark on the smoke capacity table."""

import json

import pytest

from benchmarks import capacity_table, search_efficiency
from benchmarks.replay import STRATEGIES, Table, make_oracle, replay, replay_strategy
from kt_capacity.space import Config


@pytest.fixture(scope="module")
def smoke_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "smoke.json"
    capacity_table.main(["--smoke", "--out", str(path)])
    return path


def _synthetic(tmp_path, epochs=3):
    """A hand-made 3 x 3 table whose best cell is (3, 32) at its last epoch."""
    cells = []
    for depth in (1, 2, 3):
        for width in (8, 16, 32):
            top = 0.5 + 0.05 * depth + 0.001 * width
            val = [top - 0.1 * (epochs - 1 - e) for e in range(epochs)]
            cells.append(
                {
                    "family": "plain",
                    "depth": depth,
                    "width": width,
                    "params": 1000 * depth * width,
                    "flops": 2000 * depth * width,
                    "seconds": 1.0,
                    "history": {
                        "accuracy": [v + 0.02 for v in val],
                        "val_accuracy": val,
                        "loss": [2.0 - v for v in val],
                        "val_loss": [2.1 - v for v in val],
                    },
                }
            )
    path = tmp_path / "synthetic.json"
    path.write_text(
        json.dumps(
            {"name": "synthetic", "protocol": {"epochs": epochs}, "cells": cells}
        )
    )
    return Table.load(path)


def test_capacity_table_smoke_records_every_cell(smoke_path):
    raw = json.loads(smoke_path.read_text())
    assert raw["command"].startswith("python -m benchmarks.capacity_table --smoke")
    assert raw["protocol"]["epochs"] == 1 and raw["protocol"]["train_size"] == 200
    cells = {(c["depth"], c["width"]) for c in raw["cells"]}
    assert cells == {(1, 4), (2, 4), (1, 8), (2, 8)}
    for cell in raw["cells"]:
        assert cell["params"] > 0 and cell["flops"] > 0 and cell["seconds"] > 0
        assert all(len(v) == 1 for v in cell["history"].values())


def test_capacity_table_rerun_skips_present_cells(smoke_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a present cell was trained again")

    monkeypatch.setattr(capacity_table, "train_cell", fail)
    capacity_table.main(["--smoke", "--out", str(smoke_path)])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_replay_counts_epochs_and_regret_on_smoke_table(smoke_path, strategy):
    table = Table.load(smoke_path)
    run = replay_strategy(strategy, table, seed=1)
    assert run.trials, "the oracle proposed nothing"
    assert run.epochs == sum(t[2] for t in run.trials) <= table.grid_epochs
    for budget in range(table.grid_epochs + 1):
        assert run.regret_at(table, budget) >= 0
    seen_best = [t for t in run.trials if t[0] == table.best_config]
    if seen_best:
        assert run.regret_at(table, seen_best[0][4]) == 0


def test_replay_grid_search_reaches_zero_regret(tmp_path):
    table = _synthetic(tmp_path)
    run = replay_strategy("grid", table, seed=0)
    assert run.epochs == table.grid_epochs
    assert run.regret_at(table, table.grid_epochs) == 0
    assert run.regret_at(table, table.grid_epochs - 1) > 0  # best cell comes last
    assert run.epochs_to_within(table, 0.5) == table.grid_epochs
    assert run.knee_distance(table) == 0


def test_replay_hyperband_charges_only_new_epochs(tmp_path):
    table = _synthetic(tmp_path)
    run = replay_strategy("hyperband", table, seed=0)
    asked = [t[1] for t in run.trials]
    charged = [t[2] for t in run.trials]
    assert min(asked) < table.epochs  # short runs first
    assert any(c < a for a, c in zip(asked, charged, strict=True))  # continuations
    assert run.epochs == sum(charged)


def test_replay_stops_at_the_budget(tmp_path):
    table = _synthetic(tmp_path)
    oracle = make_oracle("random", table, seed=3)
    run = replay(oracle, table, budget=7)
    assert run.epochs <= 7 and len(run.trials) == 2


def test_search_efficiency_smoke_runs_every_strategy(smoke_path, capsys):
    table = Table.load(smoke_path)
    results = search_efficiency.evaluate(table, seeds=2)
    assert set(results) == set(STRATEGIES)
    for rows in results.values():
        assert len(rows["to_within"]) == 2
        assert all(r >= 0 for r in rows["regret@1"])
    text = search_efficiency.report(table, results, 2)
    assert all(s in text for s in STRATEGIES)
    search_efficiency.main(["--table", str(smoke_path), "--seeds", "1"])
    assert "capacity" in capsys.readouterr().out


def test_table_complete_keeps_the_full_sub_grid(tmp_path):
    table = _synthetic(tmp_path)
    del table.cells[Config("plain", 2, 32)]
    sub = table.complete()
    assert sub.widths == [8, 16] and len(sub.cells) == 6


def test_capacity_oracle_explore_spends_the_budget_after_the_knee(tmp_path):
    table = _synthetic(tmp_path)
    knee_run = replay_strategy("capacity_knee", table, seed=0)
    oracle = make_oracle("capacity", table, seed=0)
    run = replay(oracle, table, budget=table.grid_epochs)
    assert knee_run.stopped and knee_run.epochs < run.epochs
    configs = [t[0] for t in run.trials]
    assert len(configs) == len(set(configs)) == len(table.cells)
    assert oracle.stop_reason == "every configuration of the space is tried"
    assert run.regret_at(table, table.grid_epochs) == 0
    state = json.loads(json.dumps(oracle.get_state()))
    assert state["explore"] is True
    fresh = make_oracle("capacity_knee", table, seed=0)
    fresh.set_state(state)
    assert fresh.explore is True
