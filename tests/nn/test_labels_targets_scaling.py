"""Any class labels, regression targets in their own units, and input scaling, all kept by save/load."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from nnexp.nn import MLP

QUICK = dict(depth=1, width=16, epochs=30, lr=1e-2, early_stopping=False, seed=0)


@pytest.mark.parametrize(
    "names",
    [np.array(["B", "M"]), np.array(["no", "yes"]), np.array(["cat", "dog", "emu"]), np.array([3, 7, 11])],
)
def test_any_labels_come_back_as_themselves(blobs, tmp_path, names):
    X, y, Xv, yv = blobs
    k = len(names)
    labels, val_labels = names[y % k], names[yv % k]
    model = MLP(**QUICK).fit(X, labels, Xv, val_labels)
    np.testing.assert_array_equal(model.classes_, np.sort(names))
    assert model.n_classes_ == k and model.network_.head == ("sigmoid" if k == 2 else "softmax")
    pred = model.predict(Xv)
    assert set(pred.tolist()) <= set(names.tolist())
    assert model.score(Xv, val_labels) == np.mean(pred == val_labels) > 0.6
    assert model.predict_proba(Xv).shape == (len(Xv), k)
    loaded = MLP.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.predict(Xv), pred)
    assert loaded.classes_.dtype == model.classes_.dtype
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["classes_"], np.sort(names))


def test_object_and_pandas_style_labels(blobs):
    X, y, _, _ = blobs
    labels = np.array(["yes" if v else "no" for v in (y == 1)], dtype=object)
    model = MLP(**QUICK).fit(X, labels)
    assert model.classes_.tolist() == ["no", "yes"] and model.predict(X[:3]).dtype.kind == "U"


def test_integer_labels_keep_their_contract(blobs):
    X, y, Xv, yv = blobs
    model = MLP(**QUICK).fit(X, y, Xv, yv)
    assert model.classes_.tolist() == [0, 1, 2] and model.predict(Xv).dtype == np.int64
    forced = MLP(**QUICK, n_classes=5).fit(X, y)
    assert forced.n_classes_ == 5 and forced.predict_proba(Xv).shape == (len(Xv), 5)


def test_unknown_validation_label_is_named(blobs):
    X, y, Xv, yv = blobs
    names = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"y_val contains labels the model was not fitted on: \['zebra'\]"):
        MLP(**QUICK).fit(X, names[y], Xv, np.where(yv == 0, "zebra", names[yv]))


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return train_test_split(X, y, test_size=0.2, random_state=0)


def test_regression_target_is_scaled_inside_fit_and_reported_in_its_units(diabetes, tmp_path):
    X_train, X_test, y_train, y_test = diabetes
    X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, test_size=0.25, random_state=0)
    model = MLP(depth=1, width=32, l2=1e-2, epochs=200, patience=20, seed=0).fit(X_tr, y_tr, X_val, y_val)
    assert model.task_ == "regression"
    np.testing.assert_allclose(model.target_mean_, [y_tr.mean()])
    np.testing.assert_allclose(model.target_scale_, [y_tr.std()])
    pred = model.predict(X_test)
    assert pred.shape == y_test.shape and abs(pred.mean() - y_test.mean()) < 20  # original units (~150)
    assert model.score(X_test, y_test) > 0.3
    # val_loss is the MSE in the target's units: the restored best epoch's loss is the MSE of predict
    val_mse = float(np.mean((model.predict(X_val).astype(np.float64) - y_val) ** 2))
    assert model.best_score_ == pytest.approx(val_mse, rel=1e-4)
    assert model.history_["train_loss"][-1] > 100  # units of progression^2, not of a standardized target
    loaded = MLP.load(model.save(tmp_path / "r.npz"))
    np.testing.assert_array_equal(loaded.predict(X_test), pred)
    np.testing.assert_array_equal(loaded.target_scale_, model.target_scale_)


def test_train_loss_in_target_units_matches_a_direct_computation(regression_data):
    X, y = regression_data
    Y = np.column_stack([y * 100 + 5, y * 0.01])  # two outputs on very different scales
    model = MLP(
        depth=1,
        width=8,
        epochs=1,
        batch_size=len(X),
        optimizer="sgd",
        lr=1e-9,
        early_stopping=False,
        dtype="float64",
        seed=0,
    )
    before = MLP(**{**model.get_params()}).initialize(X, Y)
    model.fit(X, Y)
    expected = float(np.mean((before.predict(X) - Y) ** 2))
    assert model.history_["train_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_minmax_scaling_is_pixels_over_255_and_is_saved(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (60, 12)).astype(np.float64)
    X[0, 0], X[1, 1] = 0, 255
    y = (X[:, 0] > 127).astype(int)
    model = MLP(**QUICK, scaling="minmax").fit(X, y)
    np.testing.assert_array_equal(model.scaler_offset_, 0.0)
    np.testing.assert_array_equal(model.scaler_scale_, 255.0)
    np.testing.assert_allclose(model._transform(X), X / 255.0, rtol=1e-6)
    loaded = MLP.load(model.save(tmp_path / "p.npz"))
    assert loaded.scaling == "minmax"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    raw = MLP(**QUICK, scaling="none").fit(X, y)
    np.testing.assert_array_equal(raw._transform(X), X.astype(np.float32))
