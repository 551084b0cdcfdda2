"""Weight initialisation schemes.

* ``he``: ``N(0, gain^2 / fan_in)`` with ``gain^2 = 2 / (1 + slope^2)`` (He et al. 2015);
  keeps the activation variance constant through ReLU-family layers.
* ``xavier`` (Glorot & Bengio 2010): ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``;
  suited to tanh, sigmoid and linear layers.

``init="auto"`` picks He for ReLU-family hidden layers and Xavier otherwise; the output layer
(softmax / sigmoid / identity head, all linear in their logits) uses Xavier under "auto".
Biases start at zero. Draws are made in float64 from the given ``np.random.Generator`` and
then cast, so float32 and float64 models built with the same seed start from the same values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .activations import RELU_FAMILY

Initializer = Callable[[np.random.Generator, int, int, float], np.ndarray]


def he_normal(rng: np.random.Generator, fan_in: int, fan_out: int, slope: float = 0.0) -> np.ndarray:
    """He normal: std = sqrt(2 / ((1 + slope^2) * fan_in))."""
    std = np.sqrt(2.0 / ((1.0 + slope * slope) * fan_in))
    return rng.standard_normal((fan_in, fan_out)) * std


def xavier_uniform(rng: np.random.Generator, fan_in: int, fan_out: int, slope: float = 0.0) -> np.ndarray:
    """Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


INITIALIZERS: dict[str, Initializer] = {"he": he_normal, "xavier": xavier_uniform}

#: Valid values of ``MLP(init=...)``.
INIT_CHOICES = ("auto", "he", "xavier")


def resolve_init(init: str, activation: str, *, output_layer: bool) -> str:
    """Name of the scheme used for one layer given the ``init`` setting and the activation."""
    if init != "auto":
        return init
    if not output_layer and activation in RELU_FAMILY:
        return "he"
    return "xavier"
