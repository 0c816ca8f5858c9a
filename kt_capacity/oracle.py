"""CapacityOracle: a Keras Tuner Oracle that walks the capacity lattice."""

from __future__ import annotations

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module

from kt_capacity import policy
from kt_capacity.diagnosis import verdict_from_code
from kt_capacity.scoring import DEFAULT_THRESHOLD
from kt_capacity.space import Config, Lattice

COSTS = ("params", "flops")
OBJECTIVE = "val_accuracy"


class CapacityOracle(kt.Oracle):
    """Grow a CNN one step at a time while the step pays for its parameters.

    Each proposal follows `kt_capacity.policy`: start with the cheapest network,
    try one more layer and the next width from the current best anchor, keep a
    step when its cost-efficiency (accuracy points per percent of cost growth) is
    at least `threshold` and it does not overfit. Every proposal records a one-line
    reason (`reason(trial_id)`). The search stops by itself once no step pays,
    unless `explore=True`: for a fixed trial budget spent on accuracy, the search
    first trains a coarse design of the corners and centre of the lattice
    (`policy.next_design`), then alternates the walk to the knee with a best-first
    local search for accuracy around the most accurate configurations
    (`policy.next_exploration`), so that neither starves, and spends the trials
    left (up to `max_trials`) on that local search.

    All state is JSON and goes through `get_state`/`set_state`, and the policy is a
    function of the finished trials only, so `overwrite=False` resumes exactly, and
    Keras Tuner's distributed mode (the oracle on the chief) works unchanged. The
    trial metrics it reads (`val_accuracy`, `params`/`flops`, `fit_verdict`) are
    floats, so they travel over gRPC.

    Args:
        max_trials: upper bound on the number of trials.
        threshold: minimum cost-efficiency for a step to count as paying.
        cost: "params" or "flops", the cost axis of the efficiency.
        seed: recorded for reproducibility; the policy itself is deterministic.
        explore: after the knee, keep searching for accuracy until `max_trials`
            (or every configuration is tried) instead of stopping.
        **kwargs: passed to `keras_tuner.Oracle` (e.g. `hyperparameters`,
            `max_consecutive_failed_trials`).

    Example:
        >>> oracle = CapacityOracle(max_trials=12, threshold=0.01)
    """

    def __init__(
        self,
        max_trials: int = 20,
        threshold: float = DEFAULT_THRESHOLD,
        cost: str = "params",
        seed: int | None = None,
        explore: bool = False,
        **kwargs,
    ):
        if kwargs.get("objective", OBJECTIVE) != OBJECTIVE:
            raise ValueError(
                "Invalid value for argument `objective`. CapacityOracle optimises "
                f"'{OBJECTIVE}'. Received objective={kwargs['objective']!r}."
            )
        kwargs.pop("objective", None)
        if not isinstance(max_trials, int) or max_trials < 1:
            raise ValueError(
                "Invalid value for argument `max_trials`. Expected an integer >= 1. "
                f"Received max_trials={max_trials!r}."
            )
        if not threshold >= 0:
            raise ValueError(
                "Invalid value for argument `threshold`. Expected a value >= 0. "
                f"Received threshold={threshold!r}."
            )
        if cost not in COSTS:
            raise ValueError(
                f"Invalid value for argument `cost`. Expected one of {list(COSTS)}. "
                f"Received cost={cost!r}."
            )
        super().__init__(
            objective=kt.Objective(OBJECTIVE, "max"),
            max_trials=max_trials,
            seed=seed,
            **kwargs,
        )
        self.threshold = float(threshold)
        self.cost = cost
        self.explore = bool(explore)
        self.reasons: dict[str, str] = {}
        self.excluded: dict[str, str] = {}
        self.stop_reason: str | None = None

    # -- what the tuner tells the oracle ----------------------------------------
    def exclude(self, config: Config, reason: str) -> None:
        """Never propose `config`; `reason` says why (e.g. it collapses the input)."""
        self.excluded[_key(config)] = reason

    def reason(self, trial_id: str) -> str | None:
        """The one-line reason the oracle gave for proposing `trial_id`."""
        return self.reasons.get(trial_id)

    # -- keras_tuner.Oracle ------------------------------------------------------
    def populate_space(self, trial_id: str) -> dict:
        lattice = self.lattice()
        results = self.results()
        excluded = {_config(k): v for k, v in self.excluded.items()}
        proposal = None
        if self.explore:
            proposal = policy.next_design(lattice, results, excluded)
            if proposal is None and len(results) % 2:
                proposal = policy.next_exploration(lattice, results, excluded)
        if proposal is None:
            proposal = policy.next_proposal(lattice, results, excluded, self.threshold)
        if proposal is None and self.explore:
            proposal = policy.next_exploration(lattice, results, excluded)
            if proposal is None:
                self.stop_reason = "every configuration of the space is tried"
                return {"status": trial_module.TrialStatus.STOPPED}
        if proposal is None:
            self.stop_reason = (
                "the capacity knee is found: no further step pays "
                f">= {self.threshold:g}"
            )
            return {"status": trial_module.TrialStatus.STOPPED}
        running = {
            _config_of(t.hyperparameters.values) for t in self.ongoing_trials.values()
        }
        if proposal.config in running:
            # Another worker trains it; never IDLE without ongoing trials.
            return {"status": trial_module.TrialStatus.IDLE}
        hp = self.hyperparameters.copy()
        values = {p.name: p.default for p in hp.space}
        values.update(
            family=proposal.config.family,
            depth=proposal.config.depth,
            width=proposal.config.width,
        )
        self.reasons[trial_id] = proposal.reason
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}

    def lattice(self) -> Lattice:
        """The search space's axes, read from the declared hyperparameters."""
        hps = {p.name: p for p in self.hyperparameters.space}
        missing = [n for n in ("family", "depth", "width") if n not in hps]
        if missing:
            raise ValueError(
                "CapacityOracle needs the hyperparameters 'family', 'depth' and "
                f"'width' (declared by CapacityHyperModel). Missing: {missing}."
            )
        return Lattice(
            tuple(hps["family"].values),
            tuple(sorted(hps["depth"].values)),
            tuple(sorted(hps["width"].values)),
        )

    def results(self) -> list[policy.Result]:
        """Finished trials in completion order, as the policy sees them."""
        out = []
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            config = _config_of(trial.hyperparameters.values)
            metrics = trial.metrics
            if trial.status == trial_module.TrialStatus.COMPLETED and all(
                metrics.exists(m) for m in (OBJECTIVE, self.cost, "fit_verdict")
            ):
                out.append(
                    policy.Result(
                        config,
                        float(metrics.get_best_value(OBJECTIVE)),
                        float(metrics.get_last_value(self.cost)),
                        verdict_from_code(metrics.get_last_value("fit_verdict")),
                    )
                )
            else:
                out.append(policy.Result(config))
        return out

    def get_state(self) -> dict:
        state = super().get_state()
        state.update(
            threshold=self.threshold,
            cost=self.cost,
            explore=self.explore,
            reasons=dict(self.reasons),
            excluded=dict(self.excluded),
            stop_reason=self.stop_reason,
        )
        return state

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.threshold = state["threshold"]
        self.cost = state["cost"]
        self.explore = state.get("explore", False)
        self.reasons = dict(state["reasons"])
        self.excluded = dict(state["excluded"])
        self.stop_reason = state.get("stop_reason")


def _key(config: Config) -> str:
    return f"{config.family}/{config.depth}/{config.width}"


def _config(key: str) -> Config:
    family, depth, width = key.split("/")
    return Config(family, int(depth), int(width))


def _config_of(values: dict) -> Config:
    return Config(values["family"], int(values["depth"]), int(values["width"]))
