"""Keras Tuner's distributed mode with kt_capacity: one chief, any number of workers.

Run the same command in every process, with its role in the environment:

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief  python examples/distributed_search.py runs/shared &
    KERASTUNER_TUNER_ID=tuner0 python examples/distributed_search.py runs/shared &
    KERASTUNER_TUNER_ID=tuner1 python examples/distributed_search.py runs/shared

The chief holds the CapacityOracle behind gRPC; workers train the trials it
proposes. All share the directory (overwrite=False).
"""

import sys

import keras

from kt_capacity import CapacityHyperModel, CapacityOracle, CapacityTuner, load_dataset


def main(directory: str, max_trials: int = 4) -> None:
    keras.utils.set_random_seed(0)
    data = load_dataset("digits", seed=0, max_train=400, max_val=200)
    tuner = CapacityTuner(
        CapacityHyperModel(depths=[1, 2, 3], widths=[4, 8]),
        CapacityOracle(max_trials=max_trials, seed=0),
        directory=directory,
        project_name="distributed",
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=1,
        batch_size=64,
        verbose=0,
    )
    print("done", tuner.tuner_id)


if __name__ == "__main__":
    main(sys.argv[1])
