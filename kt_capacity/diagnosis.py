"""Fit diagnosis from a training history (pure: no I/O, no training).

`diagnose` turns per-epoch metrics (a Keras ``History.history`` dict) and, when
available, batch losses and gradient-health flags into a verdict with its evidence
and the next move, following the tutorial's rules: overfit when the train loss falls
while the validation loss rises, when the train-validation gap is wide, or when batch
losses swing widely; underfit when the model cannot even fit its training data.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kt_capacity.gradient_health import GradientFlag

UNDERFIT = "underfit"
OVERFIT = "overfit"
BALANCED = "balanced"
STILL_IMPROVING = "still_improving"
VERDICTS = (UNDERFIT, STILL_IMPROVING, BALANCED, OVERFIT)


@dataclass(frozen=True)
class Thresholds:
    """Tunable limits of the diagnosis rules (accuracies as fractions).

    Attributes:
        overfit_gap: train-val accuracy gap at or above which the fit is overfit.
        underfit_gap: gap below which a plateaued model is underfit when its train
            accuracy is also below `fit_ceiling`.
        fit_ceiling: train accuracy above which a model is never called underfit.
        improving: last-epoch val accuracy gain (fraction) that counts as still
            improving.
        val_loss_rise: relative rise of the val loss above its minimum that counts
            as rising.
        early_epochs: how many first epochs "train accuracy > early_train_acc
            within the first epochs" looks at.
        early_train_acc: the tutorial's early-memorisation sign.
        volatility: batch-to-batch swing of the last epoch's batch losses (see
            `batch_loss_swing`) above which they "swing widely".
    """

    overfit_gap: float = 0.10
    underfit_gap: float = 0.02
    fit_ceiling: float = 0.97
    improving: float = 0.005
    val_loss_rise: float = 0.05
    early_epochs: int = 2
    early_train_acc: float = 0.80
    volatility: float = 0.5


@dataclass(frozen=True)
class Diagnosis:
    """A fit verdict with the figures behind it.

    Attributes:
        verdict: one of `VERDICTS`.
        evidence: one short sentence per observation, most important first.
        next_moves: concrete remedies, most promising first.
        gradient_flags: the gradient-health findings that were considered.
    """

    verdict: str
    evidence: tuple[str, ...]
    next_moves: tuple[str, ...]
    gradient_flags: tuple[GradientFlag, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        """The verdict and its first piece of evidence, in one line."""
        first = self.evidence[0] if self.evidence else "no evidence"
        return f"{self.verdict}: {first}"


def verdict_code(verdict: str) -> float:
    """The verdict as a float, so it travels as a Keras Tuner trial metric."""
    return float(VERDICTS.index(verdict))


def verdict_from_code(code: float) -> str:
    """Inverse of `verdict_code`."""
    return VERDICTS[int(round(code))]


def batch_loss_swing(losses: Sequence[float]) -> float:
    """Batch-to-batch volatility of losses, relative to their mean.

    The standard deviation of consecutive differences divided by sqrt(2) (the
    noise of one batch when batches are independent) over the mean loss: a steady
    downward trend, as in a first epoch, does not count as a swing. 0.0 for fewer
    than three losses.
    """
    if len(losses) < 3:
        return 0.0
    diffs = [b - a for a, b in zip(losses, losses[1:], strict=False)]
    mean = statistics.fmean(losses)
    return statistics.pstdev(diffs) / math.sqrt(2) / mean if mean > 0 else 0.0


def _series(history: Mapping[str, Sequence[float]], key: str) -> list[float]:
    values = history.get(key)
    if values is None:
        raise ValueError(
            f"Invalid value for argument `history`. Expected per-epoch '{key}' "
            f"values. Received keys {sorted(history)}."
        )
    values = [float(v) for v in values]
    if not values:
        raise ValueError(
            f"Invalid value for argument `history`. Expected at least one epoch of "
            f"'{key}'. Received an empty list."
        )
    return values


def diagnose(
    history: Mapping[str, Sequence[float]],
    *,
    batch_losses: Sequence[float] | None = None,
    gradient_flags: Sequence[GradientFlag] = (),
    depth: int | None = None,
    width: int | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Diagnosis:
    """Diagnose a fit from its history.

    Args:
        history: per-epoch metrics with keys accuracy, val_accuracy, loss, val_loss.
        batch_losses: losses of the last epoch's batches, for the volatility sign.
        gradient_flags: findings of `kt_capacity.GradientStats`.
        depth: depth of the diagnosed configuration, to phrase the next move.
        width: width of the diagnosed configuration, to phrase the next move.
        thresholds: the rule limits.

    Returns:
        A `Diagnosis`.

    Raises:
        ValueError: if a required series is missing or empty.
    """
    acc = _series(history, "accuracy")
    val_acc = _series(history, "val_accuracy")
    loss = _series(history, "loss")
    val_loss = _series(history, "val_loss")
    t = thresholds
    gap = acc[-1] - val_acc[-1]
    evidence_over: list[str] = []
    evidence_other: list[str] = []

    if not all(math.isfinite(v) for v in loss + val_loss):
        evidence = ("the loss became non-finite (NaN/inf): training diverged",)
        moves = ("lower the learning rate", "add BatchNorm", "clip gradients")
        return Diagnosis(UNDERFIT, evidence, moves, tuple(gradient_flags))

    if gap >= t.overfit_gap:
        evidence_over.append(
            f"train-val gap {100 * gap:.1f} pts (train {100 * acc[-1]:.1f} %, "
            f"val {100 * val_acc[-1]:.1f} %) >= {100 * t.overfit_gap:.0f} pts"
        )
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    if (
        best < len(val_loss) - 1
        and val_loss[-1] > val_loss[best] * (1 + t.val_loss_rise)
        and loss[-1] < loss[best]
    ):
        evidence_over.append(
            f"val loss rose from {val_loss[best]:.3f} (epoch {best + 1}) to "
            f"{val_loss[-1]:.3f} while train loss fell to {loss[-1]:.3f}"
        )
    swing = batch_loss_swing(batch_losses or [])
    if swing > t.volatility:
        evidence_over.append(
            f"batch losses swing widely (batch-to-batch swing {swing:.2f} of the mean "
            f"loss > {t.volatility:g})"
        )
    early = acc[: t.early_epochs]
    if evidence_over and max(early) > t.early_train_acc:
        evidence_over.append(
            f"train accuracy reached {100 * max(early):.1f} % within the first "
            f"{len(early)} epoch(s)"
        )

    gain = val_acc[-1] - val_acc[-2] if len(val_acc) >= 2 else math.inf
    improving = gain > t.improving and val_loss[-1] <= min(val_loss) * (1 + 1e-9)
    if evidence_over:
        verdict = OVERFIT
    elif improving:
        verdict = STILL_IMPROVING
        evidence_other.append(
            "only one epoch: no trend yet"
            if len(val_acc) < 2
            else f"val accuracy still rising ({100 * gain:+.1f} pts in the last "
            "epoch) and val loss at its minimum"
        )
    elif abs(gap) < t.underfit_gap and acc[-1] < t.fit_ceiling:
        verdict = UNDERFIT
        evidence_other.append(
            f"train accuracy {100 * acc[-1]:.1f} % is barely above val "
            f"{100 * val_acc[-1]:.1f} % (gap {100 * gap:.1f} pts) and has plateaued: "
            "the model cannot fit its own training data"
        )
    else:
        verdict = BALANCED
        evidence_other.append(
            f"val accuracy has plateaued at {100 * val_acc[-1]:.1f} % with a "
            f"moderate gap of {100 * gap:.1f} pts"
        )

    flags = tuple(gradient_flags)
    for flag in flags:
        evidence_other.append(
            f"{flag.kind} gradients in {', '.join(flag.layers)}: {flag.evidence}"
        )
    moves = _next_moves(verdict, flags, depth, width, best, len(val_loss))
    return Diagnosis(verdict, tuple(evidence_over + evidence_other), moves, flags)


def _next_moves(
    verdict: str,
    flags: tuple[GradientFlag, ...],
    depth: int | None,
    width: int | None,
    best_epoch: int,
    epochs: int,
) -> tuple[str, ...]:
    deeper = f"+1 layer (depth {depth} -> {depth + 1})" if depth else "+1 layer"
    wider = (
        f"width x1.5 ({width} -> {math.ceil(1.5 * width)})" if width else "width x1.5"
    )
    moves: list[str] = []
    kinds = {f.kind for f in flags}
    if "vanishing" in kinds:
        layers = ", ".join(next(f for f in flags if f.kind == "vanishing").layers)
        moves.append(
            f"vanishing gradients in {layers}: add residual connections or BatchNorm"
        )
    if kinds & {"exploding", "nonfinite"}:
        moves.append("exploding gradients: lower the learning rate or clip gradients")
    if verdict == UNDERFIT:
        moves += [
            deeper,
            wider,
            "train longer",
            "larger learning rate",
            "add BatchNorm",
            "use LeakyReLU",
        ]
        if depth and depth >= 4:
            moves.append("add residual connections")
    elif verdict == STILL_IMPROVING:
        moves += ["train longer: validation accuracy is still rising", deeper, wider]
    elif verdict == OVERFIT:
        shrink = f"shrink: depth {depth - 1}" if depth and depth > 1 else "shrink"
        moves += [shrink, "regularise: dropout, L2 weight decay, data augmentation"]
        if best_epoch < epochs - 1:
            moves.append(f"stop early at epoch {best_epoch + 1} (lowest val loss)")
    else:
        moves.append("keep this capacity: growing it is unlikely to pay")
    return tuple(moves)
