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
