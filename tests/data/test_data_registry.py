"""Registry, synthetic/tabular datasets, splitting and identity."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.data import DATASETS, Dataset, load_dataset


def test_registry_names() -> None:
    assert set(DATASETS) == {"xor", "moons", "digits", "mnist", "fashion_mnist", "csv"}


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*moons.*fashion_mnist"):
        load_dataset("nope")


def test_unknown_option_rejected_but_none_ignored() -> None:
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['bogus'\] for dataset 'digits'"):
        load_dataset("digits", bogus=1)
    ds = load_dataset("digits", path=None, target=None, n_samples=None)
    assert ds.name == "digits"


@pytest.mark.parametrize(
    ("name", "n_features", "n_classes", "n_rows"),
    [("xor", 2, 2, 400), ("moons", 2, 2, 1000), ("digits", 64, 10, 1797)],
)
def test_small_datasets_shapes_dtypes(name: str, n_features: int, n_classes: int, n_rows: int) -> None:
    ds = load_dataset(name, seed=0)
    assert isinstance(ds, Dataset)
    assert ds.name == name and ds.task == "classification" and ds.n_classes == n_classes
    assert ds.class_names is not None and len(ds.class_names) == n_classes
    total = 0
    for X, y in ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test)):
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.ndim == 2 and X.shape[1] == n_features and len(X) == len(y)
        assert X.flags.c_contiguous
        assert set(np.unique(y)) == set(range(n_classes))
        total += len(y)
    assert total == n_rows
    assert ds.sizes == {
        "train": n_rows - 2 * round(0.2 * n_rows),
        "val": round(0.2 * n_rows),
        "test": round(0.2 * n_rows),
    }


def test_digits_raw_values_not_scaled() -> None:
    ds = load_dataset("digits")
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 16.0
    assert "digits.csv" in ds.identity["files"]


def test_moons_options() -> None:
    ds = load_dataset("moons", n_samples=200, noise=0.0, val_size=0.25, test_size=0.25)
    assert ds.sizes == {"train": 100, "val": 50, "test": 50}
    assert ds.identity["options"]["n_samples"] == 200


def test_stratified_proportions() -> None:
    ds = load_dataset("digits", seed=3, val_size=0.2, test_size=0.2)
    full = np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test])) / 1797
    for y in (ds.y_train, ds.y_val, ds.y_test):
        frac = np.bincount(y, minlength=10) / len(y)
        assert np.abs(frac - full).max() < 0.01


def test_seed_determinism_and_identity() -> None:
    a = load_dataset("moons", seed=1)
    b = load_dataset("moons", seed=1)
    c = load_dataset("moons", seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert a.identity == b.identity and a.split == b.split
    assert a.identity["sha256"] != c.identity["sha256"]  # moons data generated from the seed
    d1 = load_dataset("digits", seed=1)
    d2 = load_dataset("digits", seed=2)
    assert d1.identity == d2.identity  # same data ...
    assert d1.split["indices_sha256"] != d2.split["indices_sha256"]  # ... split differently
    # data_seed decouples generation from the split seed
    e = load_dataset("moons", seed=5, data_seed=1)
    assert e.identity["sha256"] == a.identity["sha256"]


@pytest.mark.parametrize("name", ["digits", "moons"])
def test_data_seed_pins_the_test_rows_while_seed_redraws_train_and_validation(name: str) -> None:
    """What a confirmation run relies on: the same test rows, a new train/validation partition."""
    first = load_dataset(name, seed=0)
    again = load_dataset(name, seed=3, data_seed=0)
    np.testing.assert_array_equal(first.X_test, again.X_test)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.X_val, again.X_val)
    assert again.identity["sha256"] == first.identity["sha256"] and again.split["test_seed"] == 0
    assert "test_seed" not in first.split  # unchanged for runs that do not pin it
    rows = lambda d: {r.tobytes() for r in np.vstack([d.X_train, d.X_val])}  # noqa: E731
    assert rows(first) == rows(again)  # the same non-test rows, partitioned anew


def test_identity_keys() -> None:
    ident = load_dataset("xor").identity
    assert set(ident) >= {"name", "source", "files", "sha256"}
    assert len(ident["sha256"]) == 64


def test_integer_sizes_and_zero() -> None:
    ds = load_dataset("digits", val_size=100, test_size=0)
    assert ds.sizes == {"train": 1697, "val": 100, "test": 0}
    assert ds.X_test.shape == (0, 64) and ds.y_test.dtype == np.int64


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="leaving none to train on"):
        load_dataset("xor", val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="val_size"):
        load_dataset("xor", val_size=-0.1)


def test_train_caps() -> None:
    ds = load_dataset("digits", max_train_samples=200)
    assert len(ds.y_train) == 200 and set(np.unique(ds.y_train)) == set(range(10))
    assert ds.sizes["val"] == 359  # caps touch only the training split
    ds = load_dataset("digits", subsample=0.5)
    assert len(ds.y_train) == round(0.5 * 1079)
    ds = load_dataset("digits", subsample=0.5, max_train_samples=100)
    assert len(ds.y_train) == 100
    with pytest.raises(ValueError, match="subsample"):
        load_dataset("digits", subsample=1.5)


def test_alias_and_case() -> None:
    assert load_dataset("XOR").name == "xor"
