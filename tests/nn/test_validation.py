"""Every bad input raises a ValueError that names the problem and the valid range or choices."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.nn import MLP

X = np.random.default_rng(0).standard_normal((20, 3))
Y = np.arange(20) % 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(depth=0), r"depth must be an integer in \[1, 10\], got 0"),
        (dict(depth=11), r"depth must be an integer in \[1, 10\], got 11"),
        (dict(depth=2.0), r"depth must be an integer"),
        (dict(width=0), r"width must be an integer in \[1, 65536\] or a list of them, got 0"),
        (dict(depth=2, width=[8, 8, 8]), r"width has 3 entries but depth is 2"),
        (dict(depth=2, width=[8, -1]), r"every width must be an integer in \[1, 65536\]"),
        (dict(width="64"), r"width must be an integer in \[1, 65536\] or a list"),
        (
            dict(activation="gelu"),
            r"unknown activation 'gelu'; valid choices: \['relu', 'leaky_relu', 'tanh', 'sigmoid', 'identity'\]",
        ),
        (dict(optimizer="lbfgs"), r"unknown optimizer 'lbfgs'; valid choices: .*'adamw'"),
        (
            dict(schedule="linear"),
            r"unknown schedule 'linear'; valid choices: \['constant', 'step', 'exponential', 'cosine'\]",
        ),
        (dict(init="lecun"), r"unknown init 'lecun'; valid choices: \['auto', 'he', 'xavier'\]"),
        (dict(lr=0.0), r"lr must be a number in \(0.0, 10.0\], got 0.0"),
        (dict(lr=-1e-3), r"lr must be a number in \(0.0, 10.0\]"),
        (dict(lr=float("nan")), r"lr must be a number in \(0.0, 10.0\], got nan"),
        (dict(dropout=1.0), r"dropout must be a number in \[0.0, 1.0\), got 1.0"),
        (dict(dropout=-0.1), r"dropout must be a number in \[0.0, 1.0\)"),
        (dict(l2=-1.0), r"l2 must be a number >= 0.0"),
        (dict(batch_size=0), r"batch_size must be an integer >= 1, got 0"),
        (dict(epochs=0), r"epochs must be an integer >= 1, got 0"),
        (dict(seed=-1), r"seed must be an integer in \[0, 4294967295\]"),
        (dict(dtype="float16"), r"unknown dtype 'float16'; valid choices: \['float32', 'float64'\]"),
        (dict(momentum=1.0), r"momentum must be a number in \[0.0, 1.0\)"),
        (dict(beta2=1.5), r"beta2 must be a number in \[0.0, 1.0\)"),
        (dict(eps=0.0), r"eps must be a number in \(0.0, 1.0\]"),
        (dict(clip_norm=0.0), r"clip_norm must be a number > 0.0 or None"),
        (dict(step_size=0), r"step_size must be an integer >= 1"),
        (dict(schedule="cosine", lr=0.01, min_lr=0.1), r"min_lr must be <= lr"),
        (
            dict(task="ranking"),
            r"unknown task 'ranking'; valid choices: \['auto', 'classification', 'regression'\]",
        ),
        (
            dict(monitor="val_f1"),
            r"unknown monitor 'val_f1'; valid choices: \['val_loss', 'val_accuracy', 'train_loss'\]",
        ),
        (dict(mode="up"), r"unknown mode 'up'; valid choices: \['min', 'max', 'auto'\]"),
        (dict(patience=0), r"patience must be an integer >= 1"),
        (dict(leaky_slope=1.0), r"leaky_slope must be a number in \[0.0, 1.0\)"),
        (dict(batch_norm="yes"), r"batch_norm must be True or False"),
        (dict(n_classes=1), r"n_classes must be an integer >= 2"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    model = MLP(**kwargs)
    with pytest.raises(ValueError, match=message):
        model.validate_params()
    with pytest.raises(ValueError, match=message):  # fit validates too, before touching data
        model.fit(X, Y)


def test_valid_defaults_pass_validation():
    MLP().validate_params()
    MLP(depth=10, width=[1] * 10, dropout=0.99, clip_norm=5.0, schedule="cosine", t_max=3).validate_params()


def test_set_params_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown hyperparameter 'hidden'.*'width'"):
        MLP().set_params(hidden=3)
    assert MLP().set_params(lr=0.5).get_params()["lr"] == 0.5


@pytest.mark.parametrize(
    "X_bad, y_bad, message",
    [
        (np.zeros(20), Y, r"X must be a 2-D array of shape \(n_samples, n_features\), got 1-D"),
        (np.zeros((20, 3, 1)), Y, r"X must be a 2-D array .* got 3-D"),
        (X, Y[:-1], r"y has 19 rows but X has 20"),
        (np.where(np.eye(20, 3) > 0, np.nan, X), Y, r"X contains NaN or infinity"),
        (np.where(np.eye(20, 3) > 0, np.inf, X), Y, r"X contains NaN or infinity"),
        (X, np.where(np.arange(20) == 3, np.nan, 1.0), r"y contains NaN or infinity"),
        (X, np.full(20, -1), r"at least 2 classes, but y only contains"),
        (X, np.array([{"a": 1}] * 20), r"y must hold numbers or text labels"),
        (np.array([["a"] * 3] * 20), Y, r"X must be numeric"),
    ],
)
def test_bad_training_data(X_bad, y_bad, message):
    with pytest.raises(ValueError, match=message):
        MLP(epochs=1).fit(X_bad, y_bad)


def test_non_integer_labels_for_classification():
    with pytest.raises(ValueError, match=r"labels y must be integers or text, got non-integer values"):
        MLP(task="classification", epochs=1).fit(X, Y + 0.5)


def test_labels_beyond_n_classes():
    with pytest.raises(ValueError, match=r"out of range: found 0\.\.2, valid range is 0\.\.1"):
        MLP(n_classes=2, epochs=1).fit(X, Y)


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLP(epochs=1).fit(X, np.zeros(20, dtype=int))


def test_validation_set_problems():
    with pytest.raises(ValueError, match="pass both X_val and y_val"):
        MLP(epochs=1).fit(X, Y, X_val=X)
    with pytest.raises(ValueError, match=r"X_val has 2 features, but the model was fitted with 3 features"):
        MLP(epochs=1).fit(X, Y, X[:, :2], Y)
    with pytest.raises(ValueError, match=r"y_val has 5 rows but X_val has 20"):
        MLP(epochs=1).fit(X, Y, X, Y[:5])
    with pytest.raises(ValueError, match=r"labels y_val out of range: found 1\.\.7, valid range is 0\.\.2"):
        MLP(epochs=1).fit(X, Y, X, Y * 3 + 1)


def test_early_stopping_needs_what_it_monitors():
    with pytest.raises(
        ValueError, match=r"early stopping needs validation rows, but validation_fraction=0.01 of 20"
    ):
        MLP(epochs=1, early_stopping=True, validation_fraction=0.01).fit(X, Y)
    with pytest.raises(ValueError, match=r"monitors 'val_accuracy', which needs a classification task"):
        MLP(epochs=1, early_stopping=True, monitor="val_accuracy").fit(X, Y.astype(float), X, Y.astype(float))


def test_prediction_input_checks():
    model = MLP(depth=1, width=4, epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"X has 4 features, but the model was fitted with 3 features"):
        model.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="X contains NaN"):
        model.predict_proba(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"got 1-D .*reshape"):
        model.predict(np.zeros(3))
    with pytest.raises(ValueError, match=r"y has 2 rows but X has 3"):
        model.score(np.zeros((3, 3)), [0, 1])
    with pytest.raises(ValueError, match="not fitted"):
        MLP().predict(X)


def test_loss_and_grads_checks_masks():
    model = MLP(depth=2, width=4, dropout=0.5).initialize(X, Y)
    with pytest.raises(ValueError, match=r"one mask per hidden layer \(2\), got 1"):
        model.loss_and_grads(X, Y, dropout_masks=[np.ones((20, 4))])
    with pytest.raises(ValueError, match=r"dropout_masks\[1\] must have shape \(20, 4\)"):
        model.loss_and_grads(X, Y, dropout_masks=[np.ones((20, 4)), np.ones((20, 3))])
