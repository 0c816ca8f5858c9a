"""Device-aware choice between the native and the XLA-compiled execution path.

DESIGN.md measured XLA on the CPU at 20x slower for depthwise convolutions (TF 2.21),
so `"auto"` compiles only where a GPU is there to run the layer (and falls back to
native for inputs placed on a CPU); `"xla"` and `"native"` force a path.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

COMPILE_MODES = ("auto", "xla", "native")


def check_compile_mode(compile: str) -> str:
    """Validates a `compile` constructor argument.

    Args:
        compile: one of `"auto"`, `"xla"` or `"native"`.

    Returns:
        The argument, unchanged.

    Raises:
        ValueError: for any other value, or `"xla"` on a backend other than
            TensorFlow.
    """
    if compile not in COMPILE_MODES:
        raise ValueError(
            "Invalid value for argument `compile`. Expected one of "
            f"{list(COMPILE_MODES)}. Received compile={compile!r}."
        )
    if compile == "xla" and keras.backend.backend() != "tensorflow":
        raise ValueError(
            "Invalid value for argument `compile`: compile='xla' needs the "
            f"TensorFlow backend. Received backend={keras.backend.backend()!r}."
        )
    return compile


def gpu_available() -> bool:
    """Returns whether TensorFlow sees at least one GPU."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def resolve_compile_mode(compile: str) -> str:
    """Turns a `compile` argument into the path a layer will run.

    Args:
        compile: one of `"auto"`, `"xla"` or `"native"`.

    Returns:
        `"xla"` or `"native"`; `"auto"` gives `"xla"` only when a GPU is visible.
    """
    check_compile_mode(compile)
    if compile == "auto":
        return "xla" if gpu_available() else "native"
    return compile


def mode_for_device(compile: str, resolved: str, device: str | None) -> str:
    """Refines a resolved path with the device an input tensor is placed on.

    Args:
        compile: the layer's `compile` argument.
        resolved: the path from `resolve_compile_mode`.
        device: the input's device string (`tensor.device`), "" when unknown.

    Returns:
        `"native"` for `compile="auto"` with an input placed on a CPU (e.g. under
        `tf.device("/CPU:0")` on a GPU machine); `resolved` otherwise.
    """
    if compile == "auto" and resolved == "xla" and "CPU" in (device or "").upper():
        return "native"
    return resolved


def make_kernels(fn: Callable, resolved: str) -> dict[str, Callable]:
    """Returns `{"native": fn, resolved: ...}`: every path a layer may take."""
    return {mode: make_kernel(fn, mode) for mode in {"native", resolved}}


def make_kernel(fn: Callable, mode: str) -> Callable:
    """Wraps a pure tensor function for the resolved execution path.

    Args:
        fn: a function of tensors only (weights passed in as arguments, no captured
            state), so that the compiled version is safe to nest in any model.
        mode: `"xla"` or `"native"`, as returned by `resolve_compile_mode`.

    Returns:
        `fn` itself for `"native"`; a `tf.function(jit_compile=True)` of it for
        `"xla"`, which also runs inside `jit_compile=True` models (XLA inlines it).
    """
    if mode == "native":
        return fn
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, reduce_retracing=True, autograph=False)
