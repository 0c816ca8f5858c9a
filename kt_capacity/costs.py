"""Cost of a model: parameters and forward FLOPs (TensorFlow's graph profiler)."""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)


def count_flops(model: keras.Model) -> int:
    """Floating-point operations of one forward pass on a single example.

    Counted by TensorFlow's profiler on the frozen inference graph (a multiply-add
    counts as two operations), so user models with any layer types are covered.

    Raises:
        ValueError: if the model has no known input shape.
    """
    shape = getattr(model, "input_shape", None)
    if shape is None or any(d is None for d in tuple(shape)[1:]):
        raise ValueError(
            "count_flops needs a model with a fully known input shape. "
            f"Received input_shape={shape}."
        )
    spec = tf.TensorSpec([1, *tuple(shape)[1:]], tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        spec
    )
    graph = convert_variables_to_constants_v2(concrete).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # the v1 profiler logs a deprecation notice per call
    try:
        profile = tf.compat.v1.profiler.profile(
            graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
        )
    finally:
        logger.setLevel(level)
    return int(profile.total_float_ops)
