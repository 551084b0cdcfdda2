"""Generated toy datasets: ``xor`` and ``moons`` (2 features, 2 classes, seeded)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons

from nnexp.data.dataset import RawData


def load_xor(
    *, seed: int = 0, n_samples: int = 400, noise: float = 0.15, data_seed: int | None = None
) -> RawData:
    """Noisy XOR: points around the four corners of the unit square, label = x0 XOR x1.

    Each sample picks a corner ``(a, b)`` with ``a, b`` in {0, 1} uniformly, adds Gaussian noise
    of standard deviation ``noise`` and is labelled ``a ^ b``. Generated with ``data_seed``
    (default: ``seed``, the split seed).
    """
    n_samples = int(n_samples)
    if n_samples < 8:
        raise ValueError(f"xor: n_samples must be >= 8, got {n_samples}")
    if noise < 0:
        raise ValueError(f"xor: noise must be >= 0, got {noise}")
    gen_seed = int(seed if data_seed is None else data_seed)
    rng = np.random.default_rng(gen_seed)
    corners = rng.integers(0, 2, size=(n_samples, 2))
    X = corners + rng.normal(0.0, float(noise), size=(n_samples, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return RawData(
        name="xor",
        X=X.astype(np.float32),
        y=y,
        task="classification",
        source="generated: noisy XOR (numpy default_rng)",
        options={"n_samples": n_samples, "noise": float(noise), "data_seed": gen_seed},
        class_names=("0", "1"),
        feature_names=("x0", "x1"),
    )


def load_moons(
    *, seed: int = 0, n_samples: int = 1000, noise: float = 0.2, data_seed: int | None = None
) -> RawData:
    """Two interleaving half circles: ``sklearn.datasets.make_moons``, generated with ``data_seed``
    (default: ``seed``, the split seed)."""
    n_samples = int(n_samples)
    if n_samples < 8:
        raise ValueError(f"moons: n_samples must be >= 8, got {n_samples}")
    if noise < 0:
        raise ValueError(f"moons: noise must be >= 0, got {noise}")
    gen_seed = int(seed if data_seed is None else data_seed)
    X, y = make_moons(n_samples=n_samples, noise=float(noise), random_state=gen_seed)
    return RawData(
        name="moons",
        X=X.astype(np.float32),
        y=y.astype(np.int64),
        task="classification",
        source="generated: sklearn.datasets.make_moons",
        options={"n_samples": n_samples, "noise": float(noise), "data_seed": gen_seed},
        class_names=("0", "1"),
        feature_names=("x0", "x1"),
    )
