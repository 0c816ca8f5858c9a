"""Cost-efficiency, Pareto front and knee, against the tutorial's own numbers."""

import math

import pytest

from kt_capacity.scoring import Candidate, cost_efficiency, knee, pareto_front


@pytest.mark.parametrize(
    "acc_a, acc_b, growth, expected",
    [
        (0.68, 0.74, 4.0, 6 / 300),  # width 16 -> 32: +6 pts / +300 % = 0.02
        (0.74, 0.76, 5.0, 2 / 400),  # 32 -> 64: 2 / 400 = 0.005
        (0.76, 0.77, 4.0, 1 / 300),  # 64 -> 128: 1 / 300 ~ 0.003
    ],
)
def test_cost_efficiency_reproduces_tutorial(acc_a, acc_b, growth, expected):
    assert cost_efficiency(acc_a, 1000, acc_b, 1000 * growth) == pytest.approx(
        expected, rel=1e-6
    )


def test_cost_efficiency_tutorial_rounding():
    assert round(cost_efficiency(0.68, 1, 0.74, 4), 3) == 0.02
    assert round(cost_efficiency(0.74, 1, 0.76, 5), 3) == 0.005
    assert round(cost_efficiency(0.76, 1, 0.77, 4), 3) == 0.003


@pytest.mark.parametrize(
    "acc_b, cost_b, expected",
    [
        (0.80, 900, math.inf),  # cheaper and better: dominates
        (0.70, 900, math.inf),  # cheaper at equal accuracy: dominates
        (0.70, 1000, 0.0),  # nothing changes
        (0.65, 900, -math.inf),  # cheaper but worse
        (0.65, 1000, -math.inf),  # same cost, worse
    ],
)
def test_cost_efficiency_non_positive_growth(acc_b, cost_b, expected):
    assert cost_efficiency(0.70, 1000, acc_b, cost_b) == expected


def test_cost_efficiency_rejects_non_positive_cost():
    with pytest.raises(ValueError, match="Expected a strictly positive cost"):
        cost_efficiency(0.5, 0, 0.6, 10)


def test_pareto_front_drops_dominated_and_sorts_by_cost():
    cands = [
        Candidate("a", 0.70, 100),
        Candidate("b", 0.69, 200),  # dominated by a
        Candidate("c", 0.75, 400),
        Candidate("d", 0.75, 800),  # dominated by c (same acc, more cost)
        Candidate("e", 0.77, 1600),
    ]
    assert [c.key for c in pareto_front(cands)] == ["a", "c", "e"]


def test_knee_tutorial_width_sweep_stops_at_32():
    # Tutorial width sweep at depth 3: 16: 68, 32: 74, 64: 76, 128: 77.
    cands = [
        Candidate(16, 0.68, 1000),
        Candidate(32, 0.74, 4000),
        Candidate(64, 0.76, 20000),
        Candidate(128, 0.77, 80000),
    ]
    k = knee(cands, threshold=0.01)
    assert k.candidate.key == 32
    assert [s.target.key for s in k.steps] == [32]
    assert k.rejected.target.key == 64
    assert "0.005 < 0.01" in k.reason


def test_knee_lower_threshold_goes_further():
    cands = [
        Candidate(16, 0.68, 1000),
        Candidate(32, 0.74, 4000),
        Candidate(64, 0.76, 20000),
        Candidate(128, 0.77, 80000),
    ]
    assert knee(cands, threshold=0.004).candidate.key == 64
    assert knee(cands, threshold=0.0).candidate.key == 128


def test_knee_skips_a_noisy_point_to_a_paying_one():
    cands = [
        Candidate("a", 0.70, 100),
        Candidate("b", 0.7001, 200),  # barely better: 0.0001 per %
        Candidate("c", 0.80, 300),  # 10 pts / 200 % = 0.05 from a
    ]
    assert knee(cands).candidate.key == "c"


def test_knee_param_drop_dominates():
    # The tutorial's CNN: depth 2 has fewer params than depth 1 (DESIGN.md).
    cands = [Candidate("d1", 0.80, 347146), Candidate("d2", 0.83, 305194)]
    k = knee(cands)
    assert k.candidate.key == "d2"
    assert k.steps == ()  # d1 is not on the front at all


@pytest.mark.parametrize(
    "cands, threshold, match",
    [([], 0.01, "at least one"), ([Candidate("a", 0.5, 1)], -1, "threshold")],
)
def test_knee_rejects_bad_input(cands, threshold, match):
    with pytest.raises(ValueError, match=match):
        knee(cands, threshold)
