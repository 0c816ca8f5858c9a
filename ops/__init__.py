"""Drop-in Keras 3 layers and compiled kernels, imported as `kt_capacity.ops`."""
