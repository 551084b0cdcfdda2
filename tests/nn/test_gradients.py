"""Finite-difference checks of ``MLP.loss_and_grads`` in float64."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from nnexp.nn import ACTIVATIONS, MLP

HEADS = {
    # head -> (number of classes or None for regression, target factory)
    "softmax": lambda rng, n: rng.integers(0, 3, n),
    "sigmoid": lambda rng, n: rng.integers(0, 2, n),
    "identity": lambda rng, n: rng.standard_normal((n, 2)),
}


def _numerical_grads(model: MLP, X, y, h: float = 1e-6, **kw) -> list[np.ndarray]:
    grads = []
    for p in model.params:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            plus, _ = model.loss_and_grads(X, y, **kw)
            flat[i] = old - h
            minus, _ = model.loss_and_grads(X, y, **kw)
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


def _relative_error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    va = np.concatenate([x.ravel() for x in a])
    vb = np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(va - vb) / max(np.linalg.norm(va) + np.linalg.norm(vb), 1e-300))


def _model(activation: str, head: str, l2: float, batch_norm: bool, dropout: float = 0.0):
    rng = np.random.default_rng(zlib.crc32(f"{activation}-{head}-{l2}-{batch_norm}".encode()))
    n = 7
    X = rng.standard_normal((n, 3))
    y = HEADS[head](rng, n)
    model = MLP(
        depth=2,
        width=[4, 3],
        activation=activation,
        l2=l2,
        batch_norm=batch_norm,
        dropout=dropout,
        dtype="float64",
        seed=1,
        scaling="none",
        task="regression" if head == "identity" else "auto",
        n_classes=3 if head == "softmax" else None,
    ).initialize(X, y)
    # move biases / batch-norm parameters away from their special initial values
    for p in model.params:
        if p.ndim == 1:
            p += 0.3 * rng.standard_normal(p.shape)
    assert model.network_.head == head
    return model, X, y


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("l2", [0.0, 0.1], ids=["no_l2", "l2"])
@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradients_match_finite_differences(activation, head, l2, batch_norm):
    model, X, y = _model(activation, head, l2, batch_norm)
    loss, grads = model.loss_and_grads(X, y)
    assert np.isfinite(loss)
    assert [g.shape for g in grads] == [p.shape for p in model.params]
    assert all(g.dtype == np.float64 for g in grads)
    err = _relative_error(grads, _numerical_grads(model, X, y))
    assert err < 1e-6, f"relative gradient error {err:.2e}"


def test_gradients_with_fixed_dropout_mask():
    model, X, y = _model("tanh", "softmax", 0.0, False, dropout=0.5)
    rng = np.random.default_rng(0)
    masks = [(rng.random((X.shape[0], w)) >= 0.5).astype(float) for w in (4, 3)]
    _, grads = model.loss_and_grads(X, y, dropout_masks=masks)
    err = _relative_error(grads, _numerical_grads(model, X, y, dropout_masks=masks))
    assert err < 1e-6
    # the mask really is applied: a different mask gives a different loss
    loss_a, _ = model.loss_and_grads(X, y, dropout_masks=masks)
    loss_b, _ = model.loss_and_grads(X, y)
    assert loss_a != loss_b


def test_gradients_with_fixed_input_and_hidden_dropout_masks():
    model, X, y = _model("relu", "softmax", 0.1, False, dropout=0.5)
    model.set_params(input_dropout=0.25)
    rng = np.random.default_rng(1)
    input_mask = (rng.random(X.shape) >= 0.25).astype(float)
    masks = [(rng.random((X.shape[0], w)) >= 0.5).astype(float) for w in (4, 3)]
    kw = dict(dropout_masks=masks, input_mask=input_mask)
    _, grads = model.loss_and_grads(X, y, **kw)
    err = _relative_error(grads, _numerical_grads(model, X, y, **kw))
    assert err < 1e-6, f"relative gradient error {err:.2e}"


def test_an_input_mask_is_inverted_dropout_of_the_inputs():
    """Dropping inputs is the same network on X * mask / (1 - p): same loss, same gradients."""
    model, X, y = _model("tanh", "sigmoid", 0.0, False)
    model.set_params(input_dropout=0.5)
    mask = (np.random.default_rng(2).random(X.shape) >= 0.5).astype(float)
    loss, grads = model.loss_and_grads(X, y, input_mask=mask)
    loss_ref, grads_ref = model.loss_and_grads(X * mask * 2.0, y)
    assert loss == pytest.approx(loss_ref, rel=1e-12) and loss != model.loss_and_grads(X, y)[0]
    assert all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(grads, grads_ref, strict=True))
    with pytest.raises(ValueError, match=r"input_mask must have shape \(7, 3\)"):
        model.loss_and_grads(X, y, input_mask=mask[:, :2])


def test_loss_includes_l2_penalty_and_is_deterministic():
    model, X, y = _model("relu", "softmax", 0.0, False)
    base, _ = model.loss_and_grads(X, y)
    model.set_params(l2=0.5)
    with_l2, _ = model.loss_and_grads(X, y)
    weights = model.params[0:6:2]
    expected = 0.25 * sum(float((w**2).sum()) for w in weights)
    assert with_l2 - base == pytest.approx(expected, rel=1e-12)
    again, _ = model.loss_and_grads(X, y)
    assert again == with_l2


def test_batch_norm_loss_and_grads_leaves_running_statistics_alone():
    model, X, y = _model("relu", "softmax", 0.0, True)
    before = model.network_.stats.copy()
    model.loss_and_grads(X, y)
    np.testing.assert_array_equal(model.network_.stats, before)
    # batch norm parameters follow all W/b pairs in params
    assert len(model.params) == 2 * 3 + 2 * 2
    assert [p.shape for p in model.params[6:]] == [(4,), (4,), (3,), (3,)]
