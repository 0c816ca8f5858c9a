"""Keras Tuner's getting-started flow with kt_capacity.

Run: python examples/getting_started.py  (about a minute on 2 CPU cores)
"""

import keras

from kt_capacity import CapacityHyperModel, CapacityOracle, CapacityTuner, load_dataset


def main(directory="kt_runs_example", max_train=2000, epochs=2):
    keras.utils.set_random_seed(0)
    data = load_dataset("sample", max_train=max_train)  # embedded Fashion-MNIST
    x, y, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val

    tuner = CapacityTuner(
        hypermodel=CapacityHyperModel(depths=[1, 2, 3], widths=[8, 16]),
        oracle=CapacityOracle(max_trials=4, seed=0),
        directory=directory,
        project_name="getting_started",
        overwrite=True,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=epochs)
    best = tuner.get_best_models(1)[0]
    print(best.predict(x[:4], verbose=0).argmax(axis=1))
    print("recommended:", tuner.summary()["recommendation"]["label"])
    return tuner


if __name__ == "__main__":
    main()
