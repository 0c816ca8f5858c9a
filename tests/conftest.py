"""Shared fixtures: tiny, seeded data so tests stay fast on 2 CPU cores."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def seeded():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits: small enough to train a trial in a second."""
    from kt_capacity.data import load_dataset

    return load_dataset("digits", seed=0, max_train=400, max_val=200)
