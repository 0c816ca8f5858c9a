"""CapacityHyperModel: the depth x width (x block family) space of a small CNN."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import keras_tuner as kt

from kt_capacity.space import FAMILIES, Config

ACTIVATIONS = ("relu", "leaky_relu")


class InfeasibleConfigError(ValueError):
    """A configuration that cannot exist for the given input (e.g. it collapses)."""


def _check_ints(name: str, values: Sequence[int]) -> tuple[int, ...]:
    values = tuple(values)
    if not values or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a non-empty list of "
            f"integers >= 1. Received {name}={list(values)}."
        )
    return tuple(sorted(set(values)))


class CapacityHyperModel(kt.HyperModel):
    """Depth x width x family search space of the tutorial's CNN.

    The `plain` family is the tutorial's network: `depth` valid 3x3 convolutions of
    `width` filters, one 2x2 max-pool, Flatten, Dense(64), Dense(classes). The
    `residual` family is a 3x3 stem followed by `depth` residual blocks
    (conv-BN-ReLU-conv-BN + shortcut, same padding). The `separable_se` family uses
    `kt_capacity.ops.SeparableConvSE` (depthwise + pointwise + channel attention) in
    place of each valid convolution.

    Args:
        input_shape: (H, W, C); inferred from the data by `CapacityTuner.search`.
        num_classes: number of classes; inferred from the labels likewise.
        depths: depths to search.
        widths: widths (filters per conv) to search.
        families: block families to search, a subset of `FAMILIES`.
        batch_norm: add BatchNorm after each conv of the plain/separable families.
        activation: "relu" or "leaky_relu".
        learning_rate: Adam learning rate.
        build_fn: optional user builder `build_fn(depth, width, hp) -> keras.Model`
            (compiled or not) used instead of the built-in families.

    Example:
        >>> hm = CapacityHyperModel((28, 28, 1), 10, depths=[1, 2], widths=[16])
        >>> model = hm.build(kt.HyperParameters())
    """

    def __init__(
        self,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
        *,
        depths: Sequence[int] = (1, 2, 3, 4, 5),
        widths: Sequence[int] = (16, 32, 64, 128),
        families: Sequence[str] = ("plain",),
        batch_norm: bool = False,
        activation: str = "relu",
        learning_rate: float = 1e-3,
        build_fn: Callable[[int, int, kt.HyperParameters], keras.Model] | None = None,
        name: str | None = None,
        tunable: bool = True,
    ):
        super().__init__(name=name, tunable=tunable)
        self.depths = _check_ints("depths", depths)
        self.widths = _check_ints("widths", widths)
        families = tuple(dict.fromkeys(families))
        unknown = [f for f in families if f not in FAMILIES]
        if not families or unknown:
            raise ValueError(
                "Invalid value for argument `families`. Expected a non-empty subset "
                f"of {list(FAMILIES)}. Received families={list(families)}."
            )
        self.families = families
        if activation not in ACTIVATIONS:
            raise ValueError(
                "Invalid value for argument `activation`. Expected one of "
                f"{list(ACTIVATIONS)}. Received activation={activation!r}."
            )
        if not learning_rate > 0:
            raise ValueError(
                "Invalid value for argument `learning_rate`. Expected a strictly "
                f"positive value. Received learning_rate={learning_rate}."
            )
        self.batch_norm = bool(batch_norm)
        self.activation = activation
        self.learning_rate = float(learning_rate)
        self.build_fn = build_fn
        self.input_shape = None
        self.num_classes = None
        if input_shape is not None or num_classes is not None:
            self.set_data_shape(input_shape, num_classes)

    def set_data_shape(self, input_shape: Sequence[int], num_classes: int) -> None:
        """Set the input shape (H, W, C) and class count the models are built for."""
        shape = tuple(input_shape) if input_shape is not None else ()
        if len(shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in shape):
            raise ValueError(
                "Invalid value for argument `input_shape`. Expected (height, width, "
                f"channels) of positive integers. Received input_shape={input_shape}."
            )
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                "Invalid value for argument `num_classes`. Expected an integer >= 2. "
                f"Received num_classes={num_classes}."
            )
        self.input_shape, self.num_classes = shape, num_classes

    # -- the lattice -----------------------------------------------------------
    def configs(self) -> list[Config]:
        """Every configuration of the space, family-major, then depth, then width."""
        return [
            Config(f, d, w)
            for f in self.families
            for d in self.depths
            for w in self.widths
        ]

    def infeasibility(self, config: Config) -> str | None:
        """Why `config` cannot be built for the input shape, or None if it can."""
        if self.build_fn is not None or config.family == "residual":
            return None
        if self.input_shape is None:
            return None
        side = min(self.input_shape[:2]) - 2 * config.depth
        if side < 2:
            return (
                f"depth {config.depth} of valid 3x3 convs shrinks the "
                f"{self.input_shape[0]}x{self.input_shape[1]} input to {side}x{side} "
                "before the 2x2 max-pool (needs >= 2)"
            )
        return None

    # -- keras_tuner.HyperModel ------------------------------------------------
    def declare_hyperparameters(self, hp: kt.HyperParameters) -> Config:
        """Register family, depth and width in `hp` and return the chosen config."""
        family = hp.Choice("family", list(self.families), default=self.families[0])
        depth = hp.Choice("depth", list(self.depths), default=self.depths[0])
        width = hp.Choice("width", list(self.widths), default=self.widths[0])
        return Config(family, depth, width)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Build and compile the model for the configuration chosen in `hp`.

        Raises:
            InfeasibleConfigError: if the configuration cannot exist for the input.
            ValueError: if the input shape and class count are not known yet.
        """
        config = self.declare_hyperparameters(hp)
        if self.build_fn is not None:
            model = self.build_fn(config.depth, config.width, hp)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    "Invalid return value of `build_fn`. Expected a keras.Model. "
                    f"Received {type(model).__name__}."
                )
        else:
            model = self.build_config(config)
        if not model.compiled:
            model.compile(
                optimizer=keras.optimizers.Adam(self.learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
        return model

    def build_config(self, config: Config) -> keras.Model:
        """Build the (uncompiled) model of one configuration of a built-in family."""
        if self.input_shape is None:
            raise ValueError(
                "CapacityHyperModel needs the input shape and class count: pass "
                "`input_shape=` and `num_classes=`, or let CapacityTuner.search infer "
                "them from the data. Received input_shape=None."
            )
        reason = self.infeasibility(config)
        if reason:
            raise InfeasibleConfigError(f"{config.label} is infeasible: {reason}.")
        inputs = keras.Input(self.input_shape)
        x = inputs
        if config.family == "residual":
            x = self._conv(x, config.width, "same", "stem", batch_norm=True)
            for i in range(1, config.depth + 1):
                x = _res_block(x, config.width, self._act, f"res{i}")
        else:
            for i in range(1, config.depth + 1):
                x = self._conv(
                    x,
                    config.width,
                    "valid",
                    f"conv_{i}",
                    separable=config.family == "separable_se",
                )
        x = keras.layers.MaxPooling2D(2, name="pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(64, name="dense")(x)
        x = self._act(x, "dense_act")
        outputs = keras.layers.Dense(
            self.num_classes, activation="softmax", name="classifier"
        )(x)
        return keras.Model(inputs, outputs, name=config.label.replace(" ", "_"))

    def _act(self, x, name):
        if self.activation == "leaky_relu":
            # The slope of keras.activations.leaky_relu, which SeparableConvSE uses.
            return keras.layers.LeakyReLU(negative_slope=0.2, name=name)(x)
        return keras.layers.ReLU(name=name)(x)

    def _conv(self, x, width, padding, name, *, separable=False, batch_norm=None):
        use_bn = self.batch_norm if batch_norm is None else batch_norm
        if separable:  # the layer applies its activation before channel attention
            from kt_capacity.ops import SeparableConvSE

            x = SeparableConvSE(
                width,
                3,
                padding=padding,
                reduction=min(8, width),
                activation=self.activation,
                name=name,
            )(x)
            if use_bn:
                x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
            return x
        x = keras.layers.Conv2D(width, 3, padding=padding, name=name)(x)
        if use_bn:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        return self._act(x, f"{name}_act")


def _res_block(x, width, act, name):
    """The tutorial's res_block: conv-BN-ReLU-conv-BN + shortcut, then ReLU."""
    shortcut = x
    y = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = act(y, f"{name}_act1")
    y = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return act(y, f"{name}_out")
