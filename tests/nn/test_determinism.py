"""Same seed -> bit-identical weights and history; different seed -> different."""

from __future__ import annotations

import numpy as np

from nnexp.nn import MLP

SETTINGS = dict(depth=2, width=16, epochs=4, batch_size=32, dropout=0.2, batch_norm=True)


def _fit(seed, data):
    X, y, Xv, yv = data
    return MLP(seed=seed, **SETTINGS).fit(X, y, Xv, yv)


def _history_without_timing(model):
    return {k: v for k, v in model.history_.items() if k != "epoch_seconds"}


def test_same_seed_gives_identical_arrays(blobs):
    a, b = _fit(5, blobs), _fit(5, blobs)
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(a.network_.stats, b.network_.stats)
    assert _history_without_timing(a) == _history_without_timing(b)
    assert a.weights_checksum() == b.weights_checksum()
    np.testing.assert_array_equal(a.predict_proba(blobs[2]), b.predict_proba(blobs[2]))


def test_different_seed_gives_different_weights(blobs):
    a, b = _fit(5, blobs), _fit(6, blobs)
    assert a.weights_checksum() != b.weights_checksum()
    assert not np.array_equal(a.params[0], b.params[0])
    assert _history_without_timing(a)["train_loss"] != _history_without_timing(b)["train_loss"]


def test_refit_starts_from_scratch(blobs):
    X, y, Xv, yv = blobs
    model = MLP(seed=1, **SETTINGS)
    first = model.fit(X, y, Xv, yv).weights_checksum()
    assert model.fit(X, y, Xv, yv).weights_checksum() == first


def test_no_global_random_state_is_used(blobs):
    np.random.seed(0)
    a = _fit(9, blobs).weights_checksum()
    np.random.seed(12345)
    np.random.random(100)
    assert _fit(9, blobs).weights_checksum() == a


def test_initial_weights_do_not_depend_on_dtype(blobs):
    X, y, _, _ = blobs
    w32 = MLP(seed=2, dtype="float32").initialize(X, y).params[0]
    w64 = MLP(seed=2, dtype="float64").initialize(X, y).params[0]
    np.testing.assert_array_equal(w32, w64.astype(np.float32))


def test_weights_checksum_is_sha256_of_params_in_order(blobs):
    import hashlib

    X, y, _, _ = blobs
    model = MLP(depth=1, width=3).initialize(X, y)
    h = hashlib.sha256()
    for p in model.params:
        h.update(p.tobytes())
    assert model.weights_checksum() == h.hexdigest()
    model.params[1][0] += 1.0
    assert model.weights_checksum() != h.hexdigest()
