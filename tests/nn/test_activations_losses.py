"""Unit checks of the activation table, the losses and the initialisers."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.nn import ACTIVATIONS, DERIVATIVES, MLP
from nnexp.nn.losses import (
    binary_cross_entropy,
    mean_squared_error,
    softmax_cross_entropy,
)

Z = np.linspace(-4, 4, 16).reshape(1, -1)
REFERENCE = {
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "identity": lambda z: z,
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_forward_and_derivative(name, dtype):
    z = Z.astype(dtype)
    a = ACTIVATIONS[name](z.copy(), 0.01)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, REFERENCE[name](Z), rtol=1e-6, atol=1e-7)
    delta = DERIVATIVES[name](a, np.ones_like(z), 0.01)
    assert delta.dtype == dtype
    h = 1e-6
    numeric = (REFERENCE[name](Z + h) - REFERENCE[name](Z - h)) / (2 * h)
    np.testing.assert_allclose(delta, numeric, rtol=1e-4, atol=1e-6)


def test_sigmoid_does_not_overflow():
    z = np.array([[-1e4, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(ACTIVATIONS["sigmoid"](z, 0.0), [[0.0, 1.0]])


def test_softmax_cross_entropy_is_stable_and_correct():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    y = np.array([0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = softmax_cross_entropy(z.copy(), y, grad=False)
    expected_second = np.log(np.exp([1.0, 2.0, 3.0]).sum()) - 3.0
    assert loss == pytest.approx((0.0 + expected_second) / 2)
    g = z.copy()
    softmax_cross_entropy(g, y, grad=True)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-12)


def test_binary_cross_entropy_from_logits_is_stable():
    z = np.array([[800.0], [-800.0], [0.0]])
    y = np.array([[0.0], [0.0], [1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = binary_cross_entropy(z.copy(), y, grad=False)
    assert loss == pytest.approx((800.0 + 0.0 + np.log(2)) / 3)


def test_mean_squared_error():
    z = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[1.0, 0.0], [3.0, 4.0]])
    assert mean_squared_error(z.copy(), y, grad=False) == pytest.approx((4 + 1) / 4)


@pytest.mark.parametrize(
    "activation, expected",
    [("relu", "he"), ("leaky_relu", "he"), ("tanh", "xavier"), ("sigmoid", "xavier"), ("identity", "xavier")],
)
def test_initialisation_scale_follows_activation(activation, expected):
    X = np.random.default_rng(0).standard_normal((10, 400))
    model = MLP(depth=1, width=400, activation=activation, seed=0).initialize(X, np.arange(10) % 3)
    W = model.params[0].astype(np.float64)
    std = {"he": np.sqrt(2 / 400), "xavier": np.sqrt(2 / 800)}[expected]
    if activation == "leaky_relu":
        std /= np.sqrt(1 + 0.01**2)
    assert W.std() == pytest.approx(std, rel=0.02)
    assert np.all(model.params[1] == 0)
    forced = MLP(depth=1, width=400, activation=activation, init="xavier").initialize(X, np.arange(10) % 3)
    assert forced.params[0].std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)
