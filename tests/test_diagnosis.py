"""Fit diagnosis on synthetic histories (no training)."""

import pytest

from kt_capacity.diagnosis import (
    BALANCED,
    OVERFIT,
    STILL_IMPROVING,
    UNDERFIT,
    batch_loss_swing,
    diagnose,
    verdict_code,
    verdict_from_code,
)
from kt_capacity.gradient_health import GradientFlag


def hist(acc, val_acc, loss, val_loss):
    return {
        "accuracy": acc,
        "val_accuracy": val_acc,
        "loss": loss,
        "val_loss": val_loss,
    }


def test_diagnose_overfit_val_loss_rising_while_train_falls():
    # The tutorial's depth-5 pattern: train keeps improving, validation turns.
    h = hist(
        [0.60, 0.80, 0.90, 0.95],
        [0.60, 0.70, 0.70, 0.69],
        [1.2, 0.6, 0.3, 0.15],
        [1.1, 0.85, 0.95, 1.10],
    )
    d = diagnose(h, depth=5, width=32)
    assert d.verdict == OVERFIT
    assert any("val loss rose from 0.850 (epoch 2)" in e for e in d.evidence)
    assert any("gap 26.0 pts" in e for e in d.evidence)
    assert d.next_moves[0] == "shrink: depth 4"
    assert "stop early at epoch 2 (lowest val loss)" in d.next_moves


def test_diagnose_overfit_early_memorisation_is_supporting_evidence():
    h = hist([0.85, 0.95], [0.70, 0.72], [0.4, 0.1], [0.8, 0.82])
    d = diagnose(h)
    assert d.verdict == OVERFIT
    assert any("within the first 2 epoch(s)" in e for e in d.evidence)


def test_diagnose_early_high_train_accuracy_alone_is_not_overfit():
    h = hist(
        [0.85, 0.88, 0.885], [0.84, 0.86, 0.862], [0.4, 0.33, 0.32], [0.45, 0.40, 0.39]
    )
    assert diagnose(h).verdict != OVERFIT


def test_diagnose_underfit_plateau_with_no_gap():
    # The tutorial's depth-1 net: low accuracy, train barely above val, flat.
    h = hist(
        [0.55, 0.58, 0.582], [0.52, 0.57, 0.571], [1.30, 1.20, 1.19], [1.35, 1.22, 1.21]
    )
    d = diagnose(h, depth=1, width=32)
    assert d.verdict == UNDERFIT
    assert "+1 layer (depth 1 -> 2)" in d.next_moves
    assert "width x1.5 (32 -> 48)" in d.next_moves
    assert "larger learning rate" in d.next_moves


def test_diagnose_still_improving():
    h = hist([0.60, 0.70, 0.75], [0.58, 0.66, 0.72], [1.1, 0.8, 0.7], [1.2, 0.9, 0.75])
    d = diagnose(h)
    assert d.verdict == STILL_IMPROVING
    assert "+6.0 pts in the last epoch" in d.evidence[0]
    assert d.next_moves[0].startswith("train longer")


def test_diagnose_balanced_plateau_with_moderate_gap():
    h = hist(
        [0.80, 0.85, 0.86], [0.78, 0.80, 0.801], [0.5, 0.4, 0.38], [0.55, 0.52, 0.52]
    )
    d = diagnose(h)
    assert d.verdict == BALANCED
    assert "moderate gap of 5.9 pts" in d.evidence[0]


def test_diagnose_volatile_batch_losses_flag_overfit():
    h = hist(
        [0.80, 0.85, 0.86], [0.78, 0.80, 0.801], [0.5, 0.4, 0.38], [0.55, 0.52, 0.52]
    )
    d = diagnose(h, batch_losses=[0.1, 1.5, 0.05, 2.0, 0.1])
    assert d.verdict == OVERFIT
    assert "batch losses swing widely" in d.evidence[0]


def test_diagnose_steadily_falling_batch_losses_are_not_a_swing():
    h = hist(
        [0.80, 0.85, 0.86], [0.78, 0.80, 0.801], [0.5, 0.4, 0.38], [0.55, 0.52, 0.52]
    )
    falling = [2.3 - 0.1 * i for i in range(17)]  # a first epoch: 2.3 -> 0.7
    assert batch_loss_swing(falling) == pytest.approx(0.0, abs=1e-9)
    assert diagnose(h, batch_losses=falling).verdict == BALANCED


def test_diagnose_gradient_flags_lead_the_moves():
    flag = GradientFlag("vanishing", ("conv_4", "conv_5"), "mean |g| 1e-7")
    h = hist(
        [0.55, 0.58, 0.582], [0.52, 0.57, 0.571], [1.30, 1.20, 1.19], [1.35, 1.22, 1.21]
    )
    d = diagnose(h, gradient_flags=[flag], depth=5)
    assert d.next_moves[0] == (
        "vanishing gradients in conv_4, conv_5: add residual connections or BatchNorm"
    )
    assert any(
        e.startswith("vanishing gradients in conv_4, conv_5") for e in d.evidence
    )
    assert d.gradient_flags == (flag,)


def test_diagnose_non_finite_loss_is_diverged():
    h = hist([0.1, 0.1], [0.1, 0.1], [2.3, float("nan")], [2.3, float("nan")])
    d = diagnose(h)
    assert "diverged" in d.evidence[0]
    assert d.next_moves[0] == "lower the learning rate"


def test_diagnose_single_epoch_has_no_trend():
    d = diagnose(hist([0.7], [0.68], [0.8], [0.85]))
    assert d.verdict == STILL_IMPROVING
    assert d.evidence == ("only one epoch: no trend yet",)


@pytest.mark.parametrize(
    "history, match",
    [({"accuracy": [0.5]}, "'val_accuracy'"), (hist([], [], [], []), "at least one")],
)
def test_diagnose_rejects_incomplete_history(history, match):
    with pytest.raises(ValueError, match=match):
        diagnose(history)


@pytest.mark.parametrize("verdict", [UNDERFIT, STILL_IMPROVING, BALANCED, OVERFIT])
def test_verdict_code_round_trip(verdict):
    assert verdict_from_code(verdict_code(verdict)) == verdict
