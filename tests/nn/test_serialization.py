"""save / load round trips through one pickle-free .npz."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest

from nnexp.nn import MLP


def test_round_trip_gives_identical_predictions(blobs, tmp_path):
    X, y, Xv, yv = blobs
    model = MLP(
        depth=2, width=[16, 8], batch_norm=True, scaling="standard", dropout=0.1, epochs=5, batch_size=32
    )
    model.fit(X * 10 + 3, y, Xv * 10 + 3, yv)
    path = model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.exists()

    real_load = np.load
    with mock.patch("numpy.load", side_effect=lambda *a, **k: real_load(*a, **k)) as spy:
        loaded = MLP.load(path)
    assert spy.call_args.kwargs["allow_pickle"] is False

    np.testing.assert_array_equal(loaded.predict_proba(Xv * 10 + 3), model.predict_proba(Xv * 10 + 3))
    np.testing.assert_array_equal(loaded.predict(Xv * 10 + 3), model.predict(Xv * 10 + 3))
    assert loaded.weights_checksum() == model.weights_checksum()
    np.testing.assert_array_equal(loaded.network_.stats, model.network_.stats)
    np.testing.assert_array_equal(loaded.scaler_offset_, model.scaler_offset_)
    assert loaded.get_params() == {**model.get_params(), "width": [16, 8]}
    assert loaded.history_ == model.history_
    assert (loaded.stop_reason_, loaded.best_epoch_, loaded.n_epochs_run_) == (
        "completed",
        model.best_epoch_,
        5,
    )
    assert loaded.score(Xv * 10 + 3, yv) == model.score(Xv * 10 + 3, yv)


def test_file_holds_no_pickled_objects(blobs, tmp_path):
    X, y, _, _ = blobs
    path = MLP(depth=1, width=4, epochs=1, batch_norm=True).fit(X, y).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
        meta = json.loads(str(data["__meta__"]))
        assert {"bn_mean_0", "bn_var_0", "scaler_offset_", "scaler_scale_", "classes_", "param_000"} <= set(
            data.files
        )
    assert meta["hyperparameters"]["batch_norm"] is True


def test_regression_round_trip(regression_data, tmp_path):
    X, y = regression_data
    model = MLP(depth=1, width=8, epochs=3, dtype="float64").fit(X, y)
    loaded = MLP.load(model.save(tmp_path / "r.npz"))
    assert loaded.task_ == "regression"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.params[0].dtype == np.float64


def test_saving_non_finite_weights_is_refused(blobs, tmp_path):
    X, y, _, _ = blobs
    model = MLP(depth=1, width=4, epochs=1).fit(X, y)
    model.params[2][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        model.save(tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_saving_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        MLP().save(tmp_path / "x.npz")


def test_loading_a_foreign_npz_fails_clearly(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not an nnexp model"):
        MLP.load(tmp_path / "other.npz")


def test_width_given_as_tuple_or_config_sequence_is_stored_as_a_list(blobs, tmp_path):
    from collections import UserList

    X, y, _, _ = blobs
    for width in [(5, 3), UserList([5, 3])]:
        model = MLP(depth=2, width=width, epochs=1).fit(X, y)
        loaded = MLP.load(model.save(tmp_path / "w.npz"))
        assert loaded.width == [5, 3]
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_version_1_files_still_load(blobs, tmp_path):
    """A file from before ``scaling``/``classes_`` (standardize=True, labels 0..K-1) loads unchanged."""
    from nnexp.nn.serialization import write_state

    X, y, Xv, yv = blobs
    model = MLP(depth=1, width=8, epochs=3, early_stopping=False).fit(X, y)
    meta, arrays = model.state_dict()
    hp = dict(meta["hyperparameters"])
    hp["standardize"] = hp.pop("scaling") == "standard"
    del hp["validation_fraction"]
    old = {k: v for k, v in arrays.items() if not k.endswith("_")}
    old.update(scaler_mean=arrays["scaler_offset_"], scaler_scale=arrays["scaler_scale_"])
    path = write_state(tmp_path / "v1.npz", {**meta, "version": 1, "hyperparameters": hp}, old)
    loaded = MLP.load(path)
    assert loaded.scaling == "standard" and loaded.classes_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(loaded.predict_proba(Xv), model.predict_proba(Xv))


def test_state_dict_is_plain_data(blobs):
    X, y, _, _ = blobs
    meta, arrays = MLP(depth=1, width=4, epochs=1).fit(X, y).state_dict()
    json.dumps(meta)
    assert all(isinstance(a, np.ndarray) and a.dtype.kind in "biufU" for a in arrays.values())
    again = MLP.from_state(meta, arrays)
    assert again.state_dict()[0] == meta


def test_a_state_from_before_input_dropout_loads_with_it_off(blobs):
    X, y, Xv, yv = blobs
    model = MLP(depth=1, width=8, epochs=2, input_dropout=0.1, seed=0).fit(X, y, Xv, yv)
    meta, arrays = model.state_dict()
    assert meta["hyperparameters"]["input_dropout"] == 0.1
    del meta["hyperparameters"]["input_dropout"]  # what models saved before it existed hold
    old = MLP.from_state(meta, arrays)
    assert old.input_dropout == 0.0
    assert np.array_equal(old.predict_proba(Xv), model.predict_proba(Xv))
