"""Tabular datasets: scikit-learn's bundled ``digits`` and user ``csv`` files."""

from __future__ import annotations

import functools
import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.datasets import load_digits as _sk_load_digits

from nnexp.data.columns import decide_roles
from nnexp.data.csvfile import read_csv, sha256_in_background
from nnexp.data.dataset import TASKS, RawData
from nnexp.data.idx import sha256_of_content
from nnexp.data.paths import resolve_data_dir
from nnexp.data.splits import class_codes
from nnexp.nn.columns import CATEGORICAL_IMPUTATIONS, MAX_CATEGORIES, NUMERIC_IMPUTATIONS


def load_digits(*, seed: int = 0) -> RawData:
    """The 8x8 handwritten digits bundled with scikit-learn (1797 rows, 64 features 0..16, 10 classes).

    No download. Identity: sha256 of the bundled ``digits.csv`` (decompressed).
    """
    del seed  # fixed data; the seed only drives the split
    X, y, files = _bundled_digits()
    return RawData(
        name="digits",
        X=X,
        y=y,
        task="classification",
        source=f"sklearn.datasets.load_digits (bundled with scikit-learn {sklearn.__version__})",
        files=dict(files),
        class_names=tuple(str(i) for i in range(10)),
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
    )


@functools.cache
def _bundled_digits() -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(X float32, y int64, {file: sha256}) of the bundled digits, read once per process (a
    sweep's trials each load it: 12 ms a trial otherwise). The arrays are read-only, so no
    caller can change what the next one gets (the split copies the rows it takes)."""
    X, y = _sk_load_digits(return_X_y=True)
    files: dict[str, str] = {}
    try:
        ref = importlib.resources.files("sklearn.datasets.data") / "digits.csv.gz"
        with importlib.resources.as_file(ref) as path:
            files["digits.csv"] = sha256_of_content(path)
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover - unusual sklearn layout
        pass
    X, y = X.astype(np.float32), y.astype(np.int64)
    X.flags.writeable = y.flags.writeable = False
    return X, y, files


def resolve_csv_path(path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None) -> Path:
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


#: A numeric target of whole numbers with more distinct values than this is a quantity
#: (regression), not class labels. 20 covers ratings, grades and digit-like labels; counts,
#: prices and scores have far more distinct values.
MAX_INFERRED_CLASSES = 20


def infer_task(
    y_text: list[str], y_num: np.ndarray | None, target: str, distinct: np.ndarray | None = None
) -> tuple[str, str]:
    """The task a target column implies, and a one-line reason to show the user.

    Text labels -> classification; any value with a fractional part -> regression; whole numbers
    (``3`` or ``151.0``) -> classification when at most :data:`MAX_INFERRED_CLASSES` distinct
    values, else regression. ``distinct``: ``np.unique(y_num)`` when already known.
    """
    if y_num is None:
        labels = sorted(set(y_text))
        shown = ", ".join(repr(v) for v in labels[:5]) + (", ..." if len(labels) > 5 else "")
        return "classification", f"target {target!r} holds text labels ({shown})"
    distinct = np.unique(y_num) if distinct is None else distinct
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


def _target(
    column: Any, task: str | None, target: str, file: Path
) -> tuple[np.ndarray, str, str, tuple[str, ...] | None]:
    """``(y, task, task_reason, class_names)`` of the target column (no missing values): float32
    values for regression, int64 codes ``0..K-1`` (``LabelEncoder``) with their names for
    classification."""
    y_num: np.ndarray | None = None
    codes = None  # (classes, codes) of whole-number labels, by counting
    y_text: list[str] = []
    if column.dtype.kind in "iu":
        y_num = column.to_numpy()  # whole numbers: no float copy (labels need none)
        codes = class_codes(y_num)[:2]
    elif column.dtype.kind == "f":
        y_num = column.to_numpy(dtype=np.float64)
    else:
        y_text = [str(v).strip() for v in column.tolist()]
    if task in (None, "auto"):
        distinct = codes[0].astype(np.float64) if codes is not None else None
        task, reason = infer_task(y_text, y_num, target, distinct)
    else:
        reason = f"data.task={task} (set in the config)"
    if task == "regression":
        if y_num is None:
            raise ValueError(f"{file}: task='regression' but target column {target!r} is not numeric")
        if not np.all(np.isfinite(y_num)):
            raise ValueError(f"{file}: target column {target!r} has infinite values")
        return y_num.astype(np.float32), task, reason, None
    # LabelEncoder's codes (sorted classes), from one np.unique
    if codes is not None:
        classes, y = codes
    elif y_num is not None and np.all(np.mod(y_num, 1.0) == 0):
        classes, y = np.unique(y_num.astype(np.int64), return_inverse=True)
    elif y_num is not None:
        classes, y = np.unique(y_num, return_inverse=True)
    else:
        classes, y = np.unique(np.asarray(y_text), return_inverse=True)
    class_names = tuple(str(c) for c in classes)
    if len(class_names) < 2:
        raise ValueError(f"{file}: target column {target!r} has a single class {class_names}")
    return y.astype(np.int64), task, reason, class_names


def _present_target(df: Any, target: str, file: Path, sep: str) -> tuple[Any, int]:
    """``df`` without the rows whose target is missing, and how many were dropped."""
    if target not in df.columns:
        hint = ""
        if len(df.columns) == 1:
            hint = f" (one column read with separator {sep!r}: set data.sep to the file's separator)"
        raise ValueError(f"{file}: target column {target!r} not found; columns: {list(df.columns)}{hint}")
    present = df[target].notna().to_numpy()
    if not present.any():
        raise ValueError(f"{file}: target column {target!r} has no values (all {len(df)} rows missing)")
    dropped = int(len(df) - present.sum())
    if dropped:
        df = df.loc[present].reset_index(drop=True)
    return df, dropped


def load_csv(
    *,
    path: str | os.PathLike[str],
    target: str,
    task: str | None = None,
    sep: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    max_categories: int = MAX_CATEGORIES,
    impute_numeric: str = NUMERIC_IMPUTATIONS[0],
    impute_categorical: str = CATEGORICAL_IMPUTATIONS[0],
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> RawData:
    """Load a CSV with a header row (pandas); ``target`` names the label column.

    Column roles (numeric, categorical, left out) are decided on the whole table
    (:func:`nnexp.data.columns.decide_roles`); the table travels in ``RawData.table`` and is
    encoded when split, with imputation and categories fitted on the training rows only.
    Rows without a target are dropped. ``sep`` (``delimiter``: its older name) is sniffed when
    not given. Task inference (unless ``task=`` is given): see :func:`infer_task`; class labels
    are encoded to ``0..K-1`` as ``LabelEncoder`` does (sorted).
    """
    del seed
    if task is not None and task not in TASKS and task != "auto":
        raise ValueError(f"csv dataset: task must be one of {TASKS} or 'auto', got {task!r}")
    if not target:
        raise ValueError("csv dataset: the 'target' option (label column name) is required")
    file = resolve_csv_path(path, data_dir)
    df, sep = read_csv(file, sep if sep is not None else delimiter, encoding)
    files = {file.name: sha256_in_background(file)}  # the identity, beside the roles and the split
    df, dropped = _present_target(df, target, file, sep)
    roles = decide_roles(
        df,
        target,
        features=features,
        drop=drop,
        max_categories=max_categories,
        impute_numeric=impute_numeric,
        impute_categorical=impute_categorical,
    )
    roles.dropped_target_rows = dropped
    y, task, reason, class_names = _target(df[target], task, target, file)
    options: dict[str, Any] = {"target": target, "task": task, "delimiter": sep}
    options.update({k: list(v) for k, v in (("features", features), ("drop", drop)) if v})
    if encoding is not None:
        options["encoding"] = encoding
    return RawData(
        name="csv",
        X=np.empty((len(y), 0), dtype=np.float32),
        y=y,
        task=task,
        source=f"csv:{file}",
        files=files,
        options=options,
        task_reason=reason,
        class_names=class_names,
        table=df,  # the transform reads its columns by name (no copy of the table)
        roles=roles,
        info={"path": str(file)},
    )
