"""The capacity search policy, replayed on hand-made results (no training)."""

import pytest

from kt_capacity.policy import Result, next_design, next_exploration, next_proposal
from kt_capacity.space import Config, Lattice

LATTICE = Lattice(("plain",), (1, 2, 3), (16, 32, 64))


def C(d, w, family="plain"):
    return Config(family, d, w)


def run(table, lattice=LATTICE, excluded=None, threshold=0.01, limit=50):
    """Drive the policy against a lookup table {config: (val_acc, cost, verdict)}."""
    results, proposals = [], []
    for _ in range(limit):
        p = next_proposal(lattice, results, excluded or {}, threshold)
        if p is None:
            return proposals
        proposals.append(p)
        row = table.get(p.config)
        results.append(Result(p.config, *row) if row else Result(p.config))
    raise AssertionError("policy did not stop")


def test_policy_starts_small_with_reason():
    p = next_proposal(LATTICE, [])
    assert p.config == C(1, 16)
    assert p.reason == "start small: the cheapest feasible plain network"


def test_policy_grows_depth_while_it_pays_then_width():
    table = {
        C(1, 16): (0.70, 1000, "underfit"),
        C(2, 16): (0.78, 1200, "underfit"),  # 8 pts / 20 % = 0.4: pays
        C(3, 16): (0.781, 1400, "balanced"),  # 0.1 / 16.7 %: does not pay
        C(2, 32): (0.80, 2400, "balanced"),  # 2 / 100 % = 0.02: pays
        C(3, 32): (0.801, 2800, "balanced"),
        C(2, 64): (0.805, 4800, "overfit"),
        C(3, 64): (0.80, 5600, "overfit"),
    }
    configs = [p.config for p in run(table)]
    assert configs == [
        C(1, 16),
        C(2, 16),
        C(3, 16),
        C(2, 32),
        C(3, 32),
        C(2, 64),
        C(3, 64),
    ]
    reasons = [p.reason for p in run(table)]
    assert reasons[1] == "plain d1 w16 is underfit (val 70.0 %): try +1 layer"
    assert reasons[3].startswith("plain d2 w16 is underfit (val 78.0 %): try wider")
    assert "depth closed: plain d2 w16 -> plain d3 w16: 0.006 < 0.01" in reasons[3]


def test_policy_overfitting_anchor_stops_the_family():
    table = {C(1, 16): (0.70, 1000, "overfit")}
    assert [p.config for p in run(table)] == [C(1, 16)]


def test_policy_overfitting_step_closes_the_axis():
    table = {
        C(1, 16): (0.70, 1000, "underfit"),
        C(2, 16): (0.80, 1200, "overfit"),
        C(1, 32): (0.701, 2000, "balanced"),
        C(2, 32): (0.70, 2400, "balanced"),
    }
    proposals = run(table)
    assert [p.config for p in proposals] == [C(1, 16), C(2, 16), C(1, 32), C(2, 32)]
    assert "but it overfits" in proposals[2].reason
    assert "try the compound step" in proposals[3].reason


def test_policy_skips_excluded_and_failed_configs():
    excluded = {C(3, 16): "collapses", C(3, 32): "collapses", C(3, 64): "collapses"}
    table = {
        C(1, 16): (0.70, 1000, "underfit"),
        C(2, 16): (0.78, 1200, "underfit"),
        # C(2, 32) fails: no row
    }
    proposals = run(table, excluded=excluded)
    assert [p.config for p in proposals] == [C(1, 16), C(2, 16), C(2, 32)]
    assert "depth closed: collapses" in proposals[2].reason


def test_policy_is_deterministic_on_replay():
    table = {
        C(d, w): (0.6 + 0.02 * d + 0.001 * w, 100 * d + w * w, "underfit")
        for d in (1, 2, 3)
        for w in (16, 32, 64)
    }
    assert run(table) == run(table)


def test_policy_moves_on_to_the_next_family():
    lattice = Lattice(("plain", "residual"), (1, 2), (16,))
    table = {
        C(1, 16): (0.70, 1000, "underfit"),
        C(2, 16): (0.70, 1200, "balanced"),
        C(1, 16, "residual"): (0.72, 1500, "underfit"),
        C(2, 16, "residual"): (0.80, 1800, "balanced"),
    }
    configs = [p.config for p in run(table, lattice)]
    assert configs == [C(1, 16), C(2, 16), C(1, 16, "residual"), C(2, 16, "residual")]


@pytest.mark.parametrize(
    "threshold, expected",
    [
        # 0.5 and 0.55 per % pay; the width step from d3 gains nothing; d3 is the
        # depth edge, so there is no compound step either.
        (0.01, [C(1, 16), C(2, 16), C(3, 16), C(3, 32)]),
        # Nothing pays 100 pts per %: depth, width, the compound step, stop.
        (100.0, [C(1, 16), C(2, 16), C(1, 32), C(2, 32)]),
    ],
)
def test_policy_threshold_changes_the_walk(threshold, expected):
    table = {
        C(1, 16): (0.70, 1000, "underfit"),
        C(2, 16): (0.75, 1100, "underfit"),
        C(3, 16): (0.80, 1200, "underfit"),
        C(1, 32): (0.70, 2000, "underfit"),
        C(2, 32): (0.70, 2200, "underfit"),
        C(3, 32): (0.80, 2400, "underfit"),
    }
    assert [p.config for p in run(table, threshold=threshold)] == expected


def explore(table, lattice=LATTICE, excluded=None, limit=50):
    """The knee walk, then `next_exploration` until every config is tried."""
    results, proposals = [], []
    for _ in range(limit):
        p = next_proposal(lattice, results, excluded or {}) or next_exploration(
            lattice, results, excluded or {}
        )
        if p is None:
            return proposals
        proposals.append(p)
        row = table.get(p.config)
        results.append(Result(p.config, *row) if row else Result(p.config))
    raise AssertionError("exploration did not stop")


def test_exploration_follows_the_accuracy_trend_past_the_knee():
    # Width 32 does not pay for its params, so the knee walk stops at d1 w16; the
    # most accurate cell is d3 w64, reached by following the accuracy gains.
    table = {
        C(d, w): (0.60 + 0.01 * d + 0.0005 * w, 1000 * d * w, "still_improving")
        for d in (1, 2, 3)
        for w in (16, 32, 64)
    }
    knee_walk = [p.config for p in run(table)]
    proposals = explore(table)
    configs = [p.config for p in proposals]
    assert configs[: len(knee_walk)] == knee_walk
    assert C(3, 64) not in knee_walk
    assert configs.index(C(3, 64)) < len(configs) - 1  # found before the end
    assert sorted(configs, key=str) == sorted(table, key=str)  # each once
    assert proposals[len(knee_walk)].reason.startswith("explore: ")


def test_exploration_shrinks_an_overfitting_best():
    lattice = Lattice(("plain",), (1, 2, 3), (16,))
    results = [Result(C(2, 16), 0.80, 1000, "overfit")]
    p = next_exploration(lattice, results)
    assert p.config == C(1, 16) and "-1 layer" in p.reason


def test_exploration_skips_excluded_and_ends():
    lattice = Lattice(("plain",), (1, 2), (16,))
    results = [Result(C(1, 16), 0.7, 100, "underfit")]
    assert next_exploration(lattice, results, {C(2, 16): "collapses"}) is None


def test_exploration_brackets_a_rising_axis_at_its_far_end():
    lattice = Lattice(("plain",), (1, 2), (16, 32, 64, 128))
    results = [
        Result(C(1, 16), 0.70, 100, "still_improving"),
        Result(C(1, 32), 0.72, 200, "still_improving"),
        Result(C(1, 64), 0.71, 400, "still_improving"),  # a dip: noise or not
    ]
    p = next_exploration(lattice, results)
    assert p.config == C(1, 128) and "bracket the width axis" in p.reason


def test_design_bounds_the_space_with_corners_and_centre():
    lattice = Lattice(("plain",), (1, 2, 3), (16, 32, 64))
    results, configs = [], []
    while (p := next_design(lattice, results, {C(3, 64): "too big"})) is not None:
        configs.append(p.config)
        results.append(Result(p.config, 0.7, 100, "balanced"))
    assert configs == [C(1, 16), C(1, 64), C(3, 16), C(2, 32)]
    assert next_design(lattice, results).config == C(3, 64)
