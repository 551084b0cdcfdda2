"""Shared fixtures for the network tests: small, fast, deterministic data sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits_split():
    """scikit-learn digits, stratified 75/25 split (raw 0..16 pixel values)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture
def blobs():
    """Three well-separated Gaussian classes in 4-D: 150 train / 60 validation rows."""
    rng = np.random.default_rng(123)
    centers = np.array([[0.0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 0]])
    y = rng.integers(0, 3, 210)
    X = centers[y] + rng.standard_normal((210, 4))
    return X[:150], y[:150], X[150:], y[150:]


@pytest.fixture
def regression_data():
    """Noisy linear regression in 3-D with float targets."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(200)
    return X, y
