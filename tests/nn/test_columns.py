"""The column transform's numeric helpers (the transform itself: ``tests/data/test_table_columns.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.nn.columns import MEDIAN_SAMPLE, MEDIAN_SAMPLE_FROM, median


def _columns() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    n = MEDIAN_SAMPLE_FROM * 3
    return [
        rng.normal(size=n).round(6),  # an even count
        rng.normal(size=n + 1),  # odd
        rng.integers(0, 5, n).astype(np.float64),  # ties across the sample's bracket
        np.sort(rng.exponential(size=n)),  # sorted, skewed: the sample is a stride
        np.r_[np.zeros(n // 2 + 3), rng.normal(size=n // 2)],  # the median inside a run of ties
        np.r_[rng.normal(size=n - 7), np.full(7, 1e300)],  # extremes
        _stride_trap(rng.normal(size=n)),  # the sample misses the median: the whole column
        rng.normal(size=999),  # small: one partition
        np.array([2.5]),
        np.array([1.0, 4.0]),
    ]


def _stride_trap(values: np.ndarray) -> np.ndarray:
    """Every value the sample would take made the largest."""
    values[:: values.shape[0] // MEDIAN_SAMPLE] = 1e9
    return values


@pytest.mark.parametrize("k", range(10))
def test_median_is_numpys_exactly(k: int) -> None:
    values = _columns()[k]
    kept = values.copy()
    assert median(values) == float(np.median(values))
    np.testing.assert_array_equal(values, kept)  # not reordered unless allowed
    assert median(values.copy(), overwrite=True) == float(np.median(kept))
