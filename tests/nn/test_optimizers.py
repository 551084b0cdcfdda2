"""Optimizers, learning-rate schedules and gradient clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnexp.nn import (
    MLP,
    OPTIMIZERS,
    clip_by_global_norm,
    global_norm,
    make_optimizer,
    make_schedule,
)

# lr and steps per optimizer for the quadratic below
SETTINGS = {
    "sgd": (0.1, 300),
    "momentum": (0.02, 300),
    "nesterov": (0.02, 300),
    "rmsprop": (0.01, 1500),
    "adagrad": (0.5, 1500),
    "adam": (0.02, 1500),
    "adamw": (0.02, 1500),
}


def _quadratic():
    h = np.array([1.0, 3.0, 10.0, 0.5, 2.0])  # ill-conditioned diagonal Hessian
    target = np.array([1.0, -2.0, 0.5, 3.0, -1.0])

    def loss_grad(p):
        d = p - target
        return 0.5 * float(np.sum(h * d * d)), h * d

    return loss_grad, target


def test_every_optimizer_is_covered():
    assert set(SETTINGS) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_minimises_convex_quadratic(name):
    loss_grad, target = _quadratic()
    params = np.zeros(5)
    lr, steps = SETTINGS[name]
    opt = make_optimizer(name, params, n_decay=0)
    start, _ = loss_grad(params)
    for _ in range(steps):
        _, g = loss_grad(params)
        opt.step(g, lr)
    end, _ = loss_grad(params)
    assert end < 1e-4 * start, (name, start, end)
    np.testing.assert_allclose(params, target, atol=2e-2)


def test_adamw_decays_only_the_weight_prefix():
    params = np.ones(6)
    opt = make_optimizer("adamw", params, n_decay=4, weight_decay=0.1)
    for _ in range(10):
        opt.step(np.zeros(6), 0.5)
    np.testing.assert_allclose(params[:4], (1 - 0.05) ** 10)
    np.testing.assert_array_equal(params[4:], 1.0)


def test_adam_first_step_moves_each_parameter_by_lr():
    params = np.zeros(3)
    make_optimizer("adam", params).step(np.array([0.1, -5.0, 1e3]), 0.01)
    np.testing.assert_allclose(params, [-0.01, 0.01, -0.01], rtol=1e-6)


def test_unknown_optimizer_lists_choices():
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'.*adam.*sgd"):
        make_optimizer("lbfgs", np.zeros(2))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_fits_linear_regression_through_mlp(name, regression_data):
    X, y = regression_data
    lr = {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.3}.get(name, 0.01)
    model = MLP(
        depth=1,
        width=4,
        activation="identity",
        optimizer=name,
        lr=lr,
        epochs=60,
        batch_size=20,
        weight_decay=0.0,
    )
    model.fit(X, y)
    assert model.score(X, y) > 0.999, name


# ------------------------------------------------------------------ schedules
def test_constant_schedule():
    s = make_schedule("constant", 0.1, epochs=5)
    assert [s(e) for e in range(5)] == [0.1] * 5


def test_step_schedule():
    s = make_schedule("step", 1.0, step_size=2, gamma=0.5)
    assert [s(e) for e in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_exponential_schedule():
    s = make_schedule("exponential", 2.0, decay_rate=0.9)
    for e in range(5):
        assert s(e) == pytest.approx(2.0 * 0.9**e)


def test_cosine_schedule():
    s = make_schedule("cosine", 1.0, epochs=4, min_lr=0.1)
    expected = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert [s(e) for e in range(4)] == pytest.approx(expected)
    assert s(0) == 1.0 and s(4) == pytest.approx(0.1) and s(10) == pytest.approx(0.1)


def test_schedule_values_reach_the_history(blobs):
    X, y, _, _ = blobs
    model = MLP(depth=1, width=4, lr=0.1, epochs=5, schedule="step", step_size=2, gamma=0.5).fit(X, y)
    assert model.history_["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_unknown_schedule_lists_choices():
    with pytest.raises(ValueError, match=r"unknown schedule 'linear'.*constant.*cosine"):
        make_schedule("linear", 0.1)


# ------------------------------------------------------------------ clipping
def test_clipping_caps_the_global_norm():
    g = np.array([3.0, 4.0, 0.0, 12.0])  # norm 13
    before = clip_by_global_norm(g, 1.0)
    assert before == pytest.approx(13.0)
    assert global_norm(g) == pytest.approx(1.0)
    np.testing.assert_allclose(g, np.array([3.0, 4.0, 0.0, 12.0]) / 13.0)


def test_clipping_leaves_small_gradients_alone():
    g = np.array([0.3, 0.4])
    clip_by_global_norm(g, 1.0)
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_clip_norm_limits_each_sgd_step(blobs):
    X, y, _, _ = blobs
    model = MLP(depth=1, width=8, optimizer="sgd", lr=1.0, epochs=1, batch_size=len(X), clip_norm=0.01)
    model.initialize(X, y)
    before = model.network_.flat.copy()
    model.fit(X, y)  # one full-batch step from the same initial weights
    step = np.linalg.norm(model.network_.flat.astype(np.float64) - before)
    assert step == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_decaying_state_never_becomes_subnormal(name):
    """A gradient that goes quiet must not leave subnormal state behind (it is ~100x slower)."""
    params = np.zeros(4, dtype=np.float32)
    opt = make_optimizer(name, params)
    g = np.array([1e-3, 1.0, 0.0, 1e-20], dtype=np.float32)
    opt.step(g.copy(), 1e-3)
    tiny = np.finfo(np.float32).tiny
    assert 0 < opt._flush_every <= 256
    for _ in range(3000):
        opt.step(np.zeros(4, dtype=np.float32), 1e-3)
        # decay alone never produces a subnormal; one that enters directly (1e-20 squared) lives
        # until the next flush at the latest
        if opt.t % opt._flush_every == 0 or opt.t > 300:
            for state in opt._decaying:
                assert not np.any((state != 0) & (np.abs(state) < tiny)), (opt.t, state)
