"""kt_capacity: find the right depth and width of a CNN with Keras Tuner.

Public API:
    CapacityHyperModel, CapacityOracle, CapacityTuner: the Keras Tuner plugin.
    GradientStats: per-layer gradient health from the train step's own gradients.
    load_dataset, Dataset, DataError: the data sources (embedded Fashion-MNIST, ...).
    diagnose, Diagnosis, cost_efficiency, knee, pareto_front: the pure logic.

Names are imported on first use, so `python -m kt_capacity.cli --help` and its usage
errors answer without loading TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "CapacityHyperModel": "kt_capacity.hypermodel",
    "InfeasibleConfigError": "kt_capacity.hypermodel",
    "CapacityOracle": "kt_capacity.oracle",
    "CapacityTuner": "kt_capacity.tuner",
    "GradientStats": "kt_capacity.gradient_stats",
    "DataError": "kt_capacity.data",
    "Dataset": "kt_capacity.data",
    "load_dataset": "kt_capacity.data",
    "Diagnosis": "kt_capacity.diagnosis",
    "diagnose": "kt_capacity.diagnosis",
    "cost_efficiency": "kt_capacity.scoring",
    "knee": "kt_capacity.scoring",
    "pareto_front": "kt_capacity.scoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kt_capacity' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
