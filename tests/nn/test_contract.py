"""The public surface promised in docs/ARCHITECTURE.md."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from nnexp.nn import MLP, StopTraining


def test_constructor_keywords_of_the_contract():
    model = MLP(
        depth=2,
        width=64,
        activation="relu",
        dropout=0.0,
        l2=0.0,
        batch_norm=False,
        optimizer="adam",
        lr=1e-3,
        batch_size=128,
        epochs=20,
        seed=0,
        dtype="float32",
        momentum=0.9,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        weight_decay=0.01,
        clip_norm=None,
        schedule="constant",
        init="auto",
        task="auto",
        scaling="standard",
        early_stopping=False,
        monitor="val_loss",
        mode="auto",
        patience=10,
        min_delta=0.0,
        restore_best=True,
        leaky_slope=0.01,
        verbose=False,
    )
    model.validate_params()
    assert model.get_params()["width"] == 64


def test_fitted_attributes(blobs):
    X, y, Xv, yv = blobs
    model = MLP(depth=1, width=8, epochs=3)
    assert model.fit(X, y, X_val=Xv, y_val=yv, callbacks=None) is model
    assert model.task_ == "classification"
    assert model.n_classes_ == 3
    assert model.n_features_in_ == 4
    assert model.stop_reason_ == "completed"
    assert model.n_epochs_run_ == 3
    assert 1 <= model.best_epoch_ <= 3
    assert model.best_score_ == model.history_["val_loss"][model.best_epoch_ - 1]
    assert isinstance(model.weights_checksum(), str) and len(model.weights_checksum()) == 64
    loss, grads = model.loss_and_grads(X, y)
    assert isinstance(loss, float) and len(grads) == len(model.params) == 4
    assert issubclass(StopTraining, Exception)


def test_initialize_draws_weights_without_training(blobs):
    X, y, _, _ = blobs
    model = MLP(depth=2, width=[5, 6]).initialize(X, y)
    assert [p.shape for p in model.params] == [(4, 5), (5,), (5, 6), (6,), (6, 3), (3,)]
    assert model.n_epochs_run_ == 0 and model.history_ == {}


def test_sklearn_clone_and_set_params(blobs):
    X, y, _, _ = blobs
    model = MLP(depth=1, width=8, epochs=2, lr=0.01)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(lr=0.1) is copy and copy.lr == 0.1 and model.lr == 0.01
    np.testing.assert_array_equal(clone(model).fit(X, y).predict(X), model.fit(X, y).predict(X))
