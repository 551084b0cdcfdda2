"""The numpy stratified split draws the same rows as scikit-learn's ``train_test_split``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from nnexp.data.splits import stratified_pick


@pytest.mark.parametrize("n_classes, n, k, seed", [(2, 1000, 200, 0), (3, 997, 311, 7), (10, 5000, 1000, 3)])
def test_same_rows_as_train_test_split(n_classes: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.choice(n_classes, size=n, p=np.linspace(1, 2, n_classes) / np.linspace(1, 2, n_classes).sum())
    idx = np.sort(rng.choice(3 * n, size=n, replace=False))
    rest, picked = train_test_split(idx, test_size=k, random_state=seed, stratify=y)
    fast_rest, fast_picked = stratified_pick(idx, y, k, seed)
    np.testing.assert_array_equal(np.sort(fast_rest), np.sort(rest))
    np.testing.assert_array_equal(np.sort(fast_picked), np.sort(picked))


@pytest.mark.parametrize("stratify", [True, False])
def test_split_rows_come_sorted(stratify: bool) -> None:
    """Each split keeps the file's row order, stratified or not (training subsample included)."""
    from nnexp.data.dataset import RawData
    from nnexp.data.splits import split_raw

    rng = np.random.default_rng(0)
    X = np.arange(600, dtype=np.float32).reshape(-1, 1)
    raw = RawData(name="t", X=X, y=rng.integers(0, 3, 600), task="classification", source="t", files={})
    ds = split_raw(raw, seed=1, stratify=stratify, max_train_samples=300)
    for part in (ds.X_train, ds.X_val, ds.X_test):
        rows = part[:, 0]
        assert (np.diff(rows) > 0).all()
    together = np.concatenate([ds.X_train[:, 0], ds.X_val[:, 0], ds.X_test[:, 0]])
    assert len(np.unique(together)) == len(together)


@pytest.mark.parametrize(
    "counts, n_test, n_val, test_seed, seed",
    [([500, 500], 200, 200, 0, 0), ([300, 120, 577], 250, 180, 5, 9), ([2, 2, 40, 956], 900, 50, 1, 2)],
)
def test_test_then_validation_rows_as_two_train_test_splits(
    counts: list[int], n_test: int, n_val: int, test_seed: int, seed: int
) -> None:
    """The one-pass three-way split picks the rows of scikit-learn's test split, then of its
    validation split from the rest (the last case leaves a class out of the rest)."""
    from nnexp.data.splits import stratified_test_val

    y = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=n_test, random_state=test_seed, stratify=y)
    rest = np.sort(rest)
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=y[rest])
    got = stratified_test_val(y, n_test, test_seed, n_val, seed, None)
    for ours, theirs in zip(got, (train, val, test)):
        np.testing.assert_array_equal(ours, np.sort(theirs))
