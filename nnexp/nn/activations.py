"""Hidden-layer activation functions and their derivatives.

Two tables, in the spirit of scikit-learn's ``neural_network._base``:

* ``ACTIVATIONS[name](Z, slope)`` applies the activation to the pre-activation ``Z`` **in
  place** and returns ``Z`` (no allocation in the training hot loop).
* ``DERIVATIVES[name](A, delta, slope)`` multiplies the back-propagated gradient ``delta``
  **in place** by the derivative of the activation, expressed through the activation's
  *output* ``A``. Expressing derivatives through outputs means the forward pass only has to
  keep one buffer per layer.

``slope`` is the negative-side slope of ``leaky_relu`` (``0 <= slope < 1``); the other
activations ignore it. All functions preserve the dtype of their inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Activation = Callable[[np.ndarray, float], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def identity(Z: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f(z) = z."""
    return Z


def relu(Z: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f(z) = max(z, 0)."""
    return np.maximum(Z, 0, out=Z)


def leaky_relu(Z: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """f(z) = z for z > 0, slope * z otherwise (0 <= slope < 1, so this is max(z, slope*z))."""
    return np.maximum(Z, Z * Z.dtype.type(slope), out=Z)


def tanh(Z: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f(z) = tanh(z)."""
    return np.tanh(Z, out=Z)


def sigmoid(Z: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f(z) = 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    # 0.5 * (1 + tanh(z / 2)) is exact algebra, never overflows and stays in Z's dtype.
    np.multiply(Z, 0.5, out=Z)
    np.tanh(Z, out=Z)
    np.add(Z, 1.0, out=Z)
    return np.multiply(Z, 0.5, out=Z)


def identity_derivative(A: np.ndarray, delta: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f'(z) = 1: delta unchanged."""
    return delta


def relu_derivative(A: np.ndarray, delta: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f'(z) = 1 where the unit is active (A > 0), else 0."""
    return np.multiply(delta, A > 0, out=delta)


def leaky_relu_derivative(A: np.ndarray, delta: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """f'(z) = 1 where A > 0, else slope (valid because slope >= 0 keeps the sign of z)."""
    factor = np.where(A > 0, A.dtype.type(1), A.dtype.type(slope))
    return np.multiply(delta, factor, out=delta)


def tanh_derivative(A: np.ndarray, delta: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f'(z) = 1 - tanh(z)^2 = 1 - A^2."""
    return np.multiply(delta, 1.0 - A * A, out=delta)


def sigmoid_derivative(A: np.ndarray, delta: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """f'(z) = s(z) * (1 - s(z)) = A * (1 - A)."""
    return np.multiply(delta, A * (1.0 - A), out=delta)


ACTIVATIONS: dict[str, Activation] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "identity": identity,
}

DERIVATIVES: dict[str, Derivative] = {
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
    "tanh": tanh_derivative,
    "sigmoid": sigmoid_derivative,
    "identity": identity_derivative,
}

#: Activations whose default initialisation is He (variance 2 / fan_in); the rest use Glorot.
RELU_FAMILY = frozenset({"relu", "leaky_relu"})
