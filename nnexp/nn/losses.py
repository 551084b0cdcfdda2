"""Output heads and their losses, written to be numerically stable and allocation-light.

Every loss takes the output layer's pre-activation ``Z`` (logits, shape ``(n, k)``) and the
targets, returns the **mean** data loss over the ``n`` rows as a Python float, and when
``grad=True`` overwrites ``Z`` in place with ``dL/dZ`` (already divided by ``n``). Fusing the
head's activation into the loss gives the simple, exact gradients ``p - y`` and avoids
``log(0)``:

* ``softmax_cross_entropy``: multi-class, ``y`` integer labels ``(n,)``; log-sum-exp shifted by
  the row maximum.
* ``binary_cross_entropy``: one logit per row, ``y`` 0/1 as ``(n, 1)`` floats;
  ``max(z, 0) - z*y + log1p(exp(-|z|))``, finite for any logit.
* ``mean_squared_error``: identity head, ``y`` floats ``(n, k)``; mean over rows *and*
  outputs of ``(z - y)^2``.

``OUTPUTS[head](Z)`` turns logits into predictions (probabilities for the classification
heads) in place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Loss = Callable[..., float]


def _stable_sigmoid(Z: np.ndarray) -> np.ndarray:
    """Sigmoid in place as 0.5 * (1 + tanh(z / 2)): no overflow, dtype preserved."""
    np.multiply(Z, 0.5, out=Z)
    np.tanh(Z, out=Z)
    np.add(Z, 1.0, out=Z)
    return np.multiply(Z, 0.5, out=Z)


def softmax_cross_entropy(Z: np.ndarray, y: np.ndarray, grad: bool = True) -> float:
    """Mean of ``logsumexp(z) - z[y]``; with ``grad`` Z becomes ``(softmax(Z) - onehot(y)) / n``."""
    n = Z.shape[0]
    rows = np.arange(n)
    np.subtract(Z, Z.max(axis=1, keepdims=True), out=Z)
    z_true = Z[rows, y].sum(dtype=np.float64)
    np.exp(Z, out=Z)
    sums = Z.sum(axis=1, keepdims=True)
    loss = (np.log(sums).sum(dtype=np.float64) - z_true) / n
    if grad:
        np.multiply(sums, n, out=sums)
        np.divide(Z, sums, out=Z)  # softmax / n in one pass
        Z[rows, y] -= 1.0 / n
    return float(loss)


def binary_cross_entropy(Z: np.ndarray, y: np.ndarray, grad: bool = True) -> float:
    """Mean binary cross-entropy from logits; with ``grad`` Z becomes ``(sigmoid(Z) - y) / n``."""
    n = Z.shape[0]
    per_row = np.maximum(Z, 0) - Z * y + np.log1p(np.exp(-np.abs(Z)))
    loss = per_row.sum(dtype=np.float64) / n
    if grad:
        _stable_sigmoid(Z)
        np.subtract(Z, y, out=Z)
        np.multiply(Z, 1.0 / n, out=Z)
    return float(loss)


def mean_squared_error(Z: np.ndarray, y: np.ndarray, grad: bool = True) -> float:
    """Mean over rows and outputs of ``(z - y)^2``; with ``grad`` Z becomes ``2 (Z - y) / Z.size``."""
    np.subtract(Z, y, out=Z)
    loss = np.dot(Z.ravel(), Z.ravel()) / Z.size
    if grad:
        np.multiply(Z, 2.0 / Z.size, out=Z)
    return float(loss)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in place (shifted by the row maximum)."""
    np.subtract(Z, Z.max(axis=1, keepdims=True), out=Z)
    np.exp(Z, out=Z)
    return np.divide(Z, Z.sum(axis=1, keepdims=True), out=Z)


def identity(Z: np.ndarray) -> np.ndarray:
    """Regression output: the logits themselves."""
    return Z


#: head name -> loss function
LOSSES: dict[str, Loss] = {
    "softmax": softmax_cross_entropy,
    "sigmoid": binary_cross_entropy,
    "identity": mean_squared_error,
}

#: head name -> in-place map from logits to predictions / probabilities
OUTPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softmax": softmax,
    "sigmoid": _stable_sigmoid,
    "identity": identity,
}
