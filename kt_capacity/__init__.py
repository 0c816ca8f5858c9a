"""kt_capacity: find the right depth and width of a CNN with Keras Tuner.

Public API:
    CapacityHyperModel, CapacityOracle, CapacityTuner: the Keras Tuner plugin.
    GradientStats: per-layer gradient health from the train step's own gradients.
    load_dataset, DataError: the data sources (embedded Fashion-MNIST sample, ...).
    diagnose, cost_efficiency, knee: the pure scoring and diagnosis logic.
"""

from kt_capacity.data import DataError, Dataset, load_dataset
from kt_capacity.diagnosis import Diagnosis, diagnose
from kt_capacity.gradient_stats import GradientStats
from kt_capacity.hypermodel import CapacityHyperModel, InfeasibleConfigError
from kt_capacity.oracle import CapacityOracle
from kt_capacity.scoring import cost_efficiency, knee, pareto_front
from kt_capacity.tuner import CapacityTuner

__version__ = "0.1.0"

__all__ = [
    "CapacityHyperModel",
    "CapacityOracle",
    "CapacityTuner",
    "DataError",
    "Dataset",
    "Diagnosis",
    "GradientStats",
    "InfeasibleConfigError",
    "cost_efficiency",
    "diagnose",
    "knee",
    "load_dataset",
    "pareto_front",
]
