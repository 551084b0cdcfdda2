"""Tabular datasets: scikit-learn's bundled ``digits`` and user ``csv`` files."""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import os
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits as _sk_load_digits
from sklearn.preprocessing import LabelEncoder

from nnexp.data.dataset import TASKS, RawData
from nnexp.data.idx import sha256_of_content
from nnexp.data.paths import resolve_data_dir

#: Cell values read as missing (compared case-insensitively after stripping blanks).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


def load_digits(*, seed: int = 0) -> RawData:
    """The 8x8 handwritten digits bundled with scikit-learn (1797 rows, 64 features 0..16, 10 classes).

    No download. Identity: sha256 of the bundled ``digits.csv`` (decompressed).
    """
    del seed  # fixed data; the seed only drives the split
    X, y = _sk_load_digits(return_X_y=True)
    files: dict[str, str] = {}
    try:
        ref = importlib.resources.files("sklearn.datasets.data") / "digits.csv.gz"
        with importlib.resources.as_file(ref) as path:
            files["digits.csv"] = sha256_of_content(path)
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover - unusual sklearn layout
        pass
    return RawData(
        name="digits",
        X=X.astype(np.float32),
        y=y.astype(np.int64),
        task="classification",
        source=f"sklearn.datasets.load_digits (bundled with scikit-learn {sklearn.__version__})",
        files=files,
        class_names=tuple(str(i) for i in range(10)),
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
    )


def _resolve_csv_path(path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None) -> Path:
    """An absolute path as is; a relative one against the current directory, then the data dir."""
    p = Path(path).expanduser()
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path.cwd() / p, resolve_data_dir(data_dir) / p]
    for c in candidates:
        if c.is_file():
            return c
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"csv dataset: file {str(path)!r} not found (looked at: {tried})")


def _to_float(values: list[str], column: str, path: Path) -> np.ndarray:
    """Parse one column to float64, mapping missing tokens to NaN; non-numbers raise ValueError."""
    cleaned = ["nan" if v.strip().lower() in MISSING_TOKENS else v.strip() for v in values]
    try:
        return np.asarray(cleaned, dtype=np.float64)
    except ValueError:
        for row, v in enumerate(cleaned, start=2):
            try:
                float(v)
            except ValueError:
                raise ValueError(
                    f"{path}: column {column!r} is not numeric (line {row}: {v!r}); "
                    "nnexp needs numeric features (encode categories before loading)"
                ) from None
        raise  # pragma: no cover - numpy failed but every value parsed


#: A numeric target of whole numbers with more distinct values than this is a quantity
#: (regression), not class labels. 20 covers ratings, grades and digit-like labels; counts,
#: prices and scores have far more distinct values.
MAX_INFERRED_CLASSES = 20


def infer_task(y_text: list[str], y_num: np.ndarray | None, target: str) -> tuple[str, str]:
    """The task a target column implies, and a one-line reason to show the user.

    Text labels -> classification; any value with a fractional part -> regression; whole numbers
    (``3`` or ``151.0``) -> classification when at most :data:`MAX_INFERRED_CLASSES` distinct
    values, else regression.
    """
    if y_num is None:
        labels = sorted(set(y_text))
        shown = ", ".join(repr(v) for v in labels[:5]) + (", ..." if len(labels) > 5 else "")
        return "classification", f"target {target!r} holds text labels ({shown})"
    distinct = np.unique(y_num)
    fractional = distinct[np.mod(distinct, 1.0) != 0]
    if fractional.size:
        return "regression", (f"target {target!r} has values with a fractional part (e.g. {fractional[0]:g})")
    if distinct.size > MAX_INFERRED_CLASSES:
        return "regression", (
            f"target {target!r} has {distinct.size} distinct whole numbers "
            f"(more than {MAX_INFERRED_CLASSES}); set data.task=classification if they are labels"
        )
    return "classification", (
        f"target {target!r} has {distinct.size} distinct whole numbers "
        f"(at most {MAX_INFERRED_CLASSES}); set data.task=regression if they are quantities"
    )


def _read_rows(
    raw_bytes: bytes, delimiter: str, target: str, file: Path
) -> tuple[list[str], list[tuple[str, ...]]]:
    """The header and the columns of a CSV (blank rows skipped), every row as wide as the header."""
    text = raw_bytes.decode("utf-8-sig")
    rows = [r for r in csv.reader(text.splitlines(), delimiter=delimiter) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ValueError(f"{file}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise ValueError(f"{file}: target column {target!r} not found; columns: {header}")
    if len(set(header)) != len(header):
        raise ValueError(f"{file}: duplicate column names in header {header}")
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise ValueError(f"{file}: row {line} has {len(r)} fields, the header has {len(header)}")
    return header, list(zip(*rows[1:]))


def _features(
    header: list[str], columns: list[tuple[str, ...]], t_idx: int, target: str, file: Path
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The feature matrix (float64) and names: every column but the target, all finite."""
    feature_names = tuple(h for i, h in enumerate(header) if i != t_idx)
    if not feature_names:
        raise ValueError(f"{file}: no feature columns besides the target {target!r}")
    feats = [_to_float(list(columns[i]), header[i], file) for i in range(len(header)) if i != t_idx]
    X = np.stack(feats, axis=1)
    bad = ~np.isfinite(X)
    if bad.any():
        per_col = bad.sum(axis=0)
        detail = ", ".join(f"{feature_names[j]!r} ({per_col[j]} rows)" for j in np.flatnonzero(per_col))
        raise ValueError(
            f"{file}: missing/NaN or infinite values in feature column(s) {detail}; "
            f"{int(bad.any(axis=1).sum())} of {len(X)} rows affected. Clean or drop them before loading."
        )
    return X, feature_names


def _target(
    column: tuple[str, ...], task: str | None, target: str, file: Path
) -> tuple[np.ndarray, str, str, tuple[str, ...] | None]:
    """``(y, task, task_reason, class_names)`` of the target column: float32 values for
    regression, int64 codes ``0..K-1`` (``LabelEncoder``) with their names for classification."""
    y_text = [v.strip() for v in column]
    n_missing = sum(v.lower() in MISSING_TOKENS for v in y_text)
    if n_missing:
        raise ValueError(f"{file}: target column {target!r} has {n_missing} missing values")
    try:
        y_num: np.ndarray | None = np.asarray(y_text, dtype=np.float64)
    except ValueError:
        y_num = None
    if task in (None, "auto"):
        task, reason = infer_task(y_text, y_num, target)
    else:
        reason = f"data.task={task} (set in the config)"
    if task == "regression":
        if y_num is None:
            raise ValueError(f"{file}: task='regression' but target column {target!r} is not numeric")
        if not np.all(np.isfinite(y_num)):
            raise ValueError(f"{file}: target column {target!r} has infinite values")
        return y_num.astype(np.float32), task, reason, None
    enc = LabelEncoder()
    if y_num is not None and np.all(np.mod(y_num, 1.0) == 0):
        y = enc.fit_transform(y_num.astype(np.int64))
    elif y_num is not None:
        y = enc.fit_transform(y_num)
    else:
        y = enc.fit_transform(np.asarray(y_text))
    class_names = tuple(str(c) for c in enc.classes_)
    if len(class_names) < 2:
        raise ValueError(f"{file}: target column {target!r} has a single class {class_names}")
    return y.astype(np.int64), task, reason, class_names


def load_csv(
    *,
    path: str | os.PathLike[str],
    target: str,
    task: str | None = None,
    delimiter: str = ",",
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> RawData:
    """Load a CSV with a header row; ``target`` names the label column, every other column is a feature.

    Task inference (unless ``task=`` is given): see :func:`infer_task`. Class labels are encoded
    to ``0..K-1`` with ``LabelEncoder`` (numerically ordered for numbers, alphabetically for text);
    their names are kept in ``class_names``, the reason for the task in ``task_reason``.
    Missing values (empty, NA, NaN, null, ?) or infinities in a feature raise ``ValueError`` naming
    the columns and how many rows are affected; nnexp does not impute.
    """
    del seed
    if task is not None and task not in TASKS and task != "auto":
        raise ValueError(f"csv dataset: task must be one of {TASKS} or 'auto', got {task!r}")
    if not target:
        raise ValueError("csv dataset: the 'target' option (label column name) is required")
    file = _resolve_csv_path(path, data_dir)
    raw_bytes = file.read_bytes()
    header, columns = _read_rows(raw_bytes, delimiter, target, file)
    t_idx = header.index(target)
    X, feature_names = _features(header, columns, t_idx, target, file)
    y, task, reason, class_names = _target(columns[t_idx], task, target, file)
    return RawData(
        name="csv",
        X=X.astype(np.float32),
        y=y,
        task=task,
        source=f"csv:{file}",
        files={file.name: hashlib.sha256(raw_bytes).hexdigest()},
        options={"target": target, "task": task, "delimiter": delimiter},
        task_reason=reason,
        class_names=class_names,
        feature_names=feature_names,
        info={"path": str(file)},
    )
