"""The hyperparameter declaration is the one source of MLP's defaults, bounds and choices."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from nnexp.nn import DEFAULTS, HYPERPARAMETERS, MLP


def test_mlp_keywords_and_defaults_are_the_declaration():
    sig = inspect.signature(MLP.__init__).parameters
    names = [n for n in sig if n != "self"]
    assert names == list(HYPERPARAMETERS)
    assert {n: sig[n].default for n in names} == DEFAULTS
    assert MLP().get_params() == DEFAULTS
    MLP().validate_params()


def _outside(h):
    """A value just outside each declared bound (and one bad choice)."""
    if h.kind == "choice":
        return ["not-a-choice"]
    if h.kind not in ("int", "real", "width"):
        return []
    step = 1 if h.kind in ("int", "width") else 1e-9
    bad = []
    if h.low is not None:
        bad.append(h.low if h.low_open else h.low - step)
    if h.high is not None:
        bad.append(h.high if h.high_open else h.high + step)
    return [type(h.default or h.low)(v) if h.kind != "real" else float(v) for v in bad]


@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_every_bound_and_choice_is_enforced(name):
    h = HYPERPARAMETERS[name]
    for value in _outside(h):
        with pytest.raises(ValueError, match=name):
            MLP(**{name: value}).validate_params()
    if h.low is not None and not h.low_open and h.kind in ("int", "real"):
        MLP(**{name: h.low}).validate_params()  # the closed end itself is fine


def test_default_mlp_reaches_97_percent_on_digits():
    """``MLP(seed=0)`` alone (early stopping on a held-out 10% of the training rows)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):
        model = MLP(seed=0).fit(X_train, y_train)
    assert "val_loss" in model.history_ and model.best_epoch_ is not None
    assert model.score(X_test, y_test) >= 0.97


def test_holdout_is_stratified_seeded_and_only_without_x_val(blobs):
    X, y, Xv, yv = blobs
    a = MLP(depth=1, width=4, epochs=2, seed=3).fit(X, y)
    b = MLP(depth=1, width=4, epochs=2, seed=3).fit(X, y)
    assert a.weights_checksum() == b.weights_checksum() and a.history_["val_loss"] == b.history_["val_loss"]
    # the scaler is fitted on the training part only, not on the held-out rows
    ref = MLP(depth=1, width=4, epochs=1, early_stopping=False).initialize(X, y)
    assert not np.allclose(a.scaler_offset_, ref.scaler_offset_)
    c = MLP(depth=1, width=4, epochs=2, seed=3).fit(X, y, Xv, yv)
    np.testing.assert_allclose(c.scaler_offset_, ref.scaler_offset_)
    assert "val_loss" not in MLP(depth=1, width=4, epochs=1, early_stopping=False).fit(X, y).history_
