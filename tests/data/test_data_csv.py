"""CSV datasets: task inference, label encoding, NaN and missing-file errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from nnexp.data import load_dataset


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in r) for r in rows]) + "\n")
    return path


def _rows(n: int, label: callable) -> list[list[object]]:  # type: ignore[valid-type]
    rng = np.random.default_rng(0)
    return [
        [round(float(a), 3), round(float(b), 3), label(i)] for i, (a, b) in enumerate(rng.normal(size=(n, 2)))
    ]


def test_string_labels_classification(tmp_path: Path) -> None:
    names = ["setosa", "versicolor", "virginica"]
    p = write_csv(tmp_path / "iris.csv", ["a", "b", "species"], _rows(60, lambda i: names[i % 3]))
    ds = load_dataset("csv", path=str(p), target="species", seed=0)
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.class_names == tuple(names)
    assert ds.feature_names == ("a", "b")
    assert ds.y_train.dtype == np.int64 and ds.X_train.dtype == np.float32
    assert ds.sizes == {"train": 36, "val": 12, "test": 12}
    assert ds.identity["files"].keys() == {"iris.csv"} and ds.identity["options"]["target"] == "species"
    # the file's checksum, computed beside the split, is the identity
    assert ds.identity["files"]["iris.csv"] == hashlib.sha256(p.read_bytes()).hexdigest()


def test_integer_labels_encoded_numerically(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "d.csv", ["x", "z", "y"], _rows(40, lambda i: [2, 10][i % 2]))
    ds = load_dataset("csv", path=p, target="y")
    assert ds.task == "classification" and ds.class_names == ("2", "10")


def test_float_target_regression_and_explicit_task(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "r.csv", ["x", "z", "y"], _rows(50, lambda i: i * 0.5 + 0.25))
    ds = load_dataset("csv", path=p, target="y")
    assert ds.task == "regression" and ds.n_classes == 0 and ds.class_names is None
    assert ds.y_train.dtype == np.float32
    p2 = write_csv(tmp_path / "r2.csv", ["x", "z", "y"], _rows(50, lambda i: i))
    assert load_dataset("csv", path=p2, target="y", task="regression").task == "regression"
    p3 = write_csv(tmp_path / "s.csv", ["x", "z", "y"], _rows(50, lambda i: "ab"[i % 2]))
    with pytest.raises(ValueError, match="task='regression' but target column 'y' is not numeric"):
        load_dataset("csv", path=p3, target="y", task="regression")


def test_missing_feature_values_are_counted_and_imputed(tmp_path: Path) -> None:
    rows = _rows(30, lambda i: i % 2)
    rows[3][1] = ""
    rows[7][1] = "NaN"
    p = write_csv(tmp_path / "n.csv", ["a", "b", "y"], rows)
    ds = load_dataset("csv", path=p, target="y")
    assert ds.roles.missing == {"b": 2}
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()


def test_missing_file_and_bad_columns(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_dataset("csv", path=str(missing), target="y")
    p = write_csv(tmp_path / "c.csv", ["a", "b", "y"], _rows(20, lambda i: i % 2))
    with pytest.raises(ValueError, match="target column 'label' not found; columns: \\['a', 'b', 'y'\\]"):
        load_dataset("csv", path=p, target="label")


def test_relative_path_in_data_dir(tmp_path: Path) -> None:
    write_csv(tmp_path / "rel.csv", ["a", "b", "y"], _rows(20, lambda i: i % 2))
    ds = load_dataset("csv", data_dir=tmp_path, path="rel.csv", target="y")
    assert ds.n_features == 2


# --- task inference (issue 14.1) ------------------------------------------------------------------


def test_whole_number_floats_with_many_values_are_regression(tmp_path: Path) -> None:
    """Diabetes-style targets written as ``151.0``: many distinct whole numbers -> regression."""
    p = write_csv(tmp_path / "d.csv", ["x", "z", "progression"], _rows(100, lambda i: f"{25 + 3 * i}.0"))
    ds = load_dataset("csv", path=p, target="progression")
    assert ds.task == "regression" and ds.y_train.dtype == np.float32
    assert "100 distinct whole numbers (more than 20)" in ds.task_reason
    assert "data.task=classification" in ds.task_reason


def test_a_few_whole_numbers_are_classes(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "c.csv", ["x", "z", "grade"], _rows(100, lambda i: f"{i % 5}.0"))
    ds = load_dataset("csv", path=p, target="grade")
    assert ds.task == "classification" and ds.class_names == ("0", "1", "2", "3", "4")
    assert "5 distinct whole numbers (at most 20)" in ds.task_reason
    assert "data.task=regression" in ds.task_reason


def test_text_labels_are_classes_with_their_names(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "t.csv", ["x", "z", "diagnosis"], _rows(60, lambda i: "MB"[i % 3 == 0]))
    ds = load_dataset("csv", path=p, target="diagnosis")
    assert ds.task == "classification" and ds.class_names == ("B", "M")
    assert set(np.unique(ds.y_train)) == {0, 1}
    assert ds.task_reason == "target 'diagnosis' holds text labels ('B', 'M')"


def test_fractional_values_are_regression_and_task_overrides(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "f.csv", ["x", "z", "y"], _rows(40, lambda i: [1, 2.5][i % 2]))
    ds = load_dataset("csv", path=p, target="y")
    assert ds.task == "regression" and "fractional part (e.g. 2.5)" in ds.task_reason
    forced = load_dataset("csv", path=p, target="y", task="classification")
    assert (
        forced.task == "classification"
        and forced.task_reason == "data.task=classification (set in the config)"
    )


def test_other_datasets_say_their_task() -> None:
    assert load_dataset("digits").task_reason == "digits is a classification dataset"


def test_unstratifiable_split_names_the_small_classes(tmp_path: Path) -> None:
    labels = ["a"] * 20 + ["b"] * 20 + ["rare"] + ["odd"]
    p = write_csv(tmp_path / "s.csv", ["x", "z", "y"], _rows(len(labels), lambda i: labels[i]))
    with pytest.raises(ValueError) as err:
        load_dataset("csv", path=p, target="y")
    msg = str(err.value)
    assert "test split: cannot stratify 42 rows into 34/8 by class" in msg
    assert "2 of 4 classes have fewer than 2 rows: 'odd' (1 row), 'rare' (1 row)" in msg
    assert "data.task=regression" in msg and "merge or remove" in msg


def test_split_too_small_for_every_class_says_so(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "k.csv", ["x", "z", "y"], _rows(40, lambda i: i % 10))
    with pytest.raises(ValueError, match=r"each side needs at least one row of each of the 10 classes"):
        load_dataset("csv", path=p, target="y", test_size=5)


def test_a_checksum_that_fails_raises_where_its_result_is_read(tmp_path: Path) -> None:
    from nnexp.data.csvfile import sha256_in_background

    with pytest.raises(FileNotFoundError):
        sha256_in_background(tmp_path / "gone.csv").result(timeout=60)
