"""Column roles of a user's table, decided once on the whole table before it is split.

Each column but the target is numeric (a number column), categorical (text, booleans; one-hot
encoded), or left out with its reason (an identifier-like text column, row numbers, a column
with no values, or one not chosen with ``data.features``/``data.drop``). The fitting itself (fills,
categories) happens on the training rows only, in :class:`nnexp.nn.columns.ColumnTransform`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnexp.contract import COLUMN_TAGS
from nnexp.nn.columns import CATEGORICAL_IMPUTATIONS, MAX_CATEGORIES, NUMERIC_IMPUTATIONS

#: A text column with more distinct values than this share of its non-missing rows (and more
#: than :data:`ID_MIN_DISTINCT`) looks like an identifier (names, ticket numbers) and is left out.
ID_DISTINCT_SHARE = 0.5
ID_MIN_DISTINCT = 50
#: Row numbers (whole numbers counting up by one) are left out from this many rows on.
ROW_INDEX_MIN_ROWS = 20
#: Columns named in one summary line at most.
SHOWN = 8


@dataclass
class ColumnRoles:
    """Which columns feed the network and how, the ones left out and why, and the fit options."""

    numeric: list[str]
    categorical: list[str]
    left_out: dict[str, str]  #: column -> why it is left out
    missing: dict[str, int]  #: used column -> missing values in the whole table (only those with gaps)
    dropped_target_rows: int = 0
    #: ColumnTransform.fit keywords: max_categories, impute_*, booleans (categorical True/False columns)
    fit_options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """The ``columns:`` line of a run's start."""
        cats = f" ({_names(self.categorical)})" if self.categorical else ""
        line = f"{len(self.numeric)} numeric, {len(self.categorical)} categorical{cats}"
        if self.left_out:
            why = "; ".join(f"{k}: {v}" for k, v in list(self.left_out.items())[:SHOWN])
            line += f", {len(self.left_out)} left out ({why}; data.features=[...] to choose)"
        if self.missing:
            gaps = ", ".join(f"{k} {v}" for k, v in list(self.missing.items())[:SHOWN])
            line += f"; missing values: {gaps}"
        if self.dropped_target_rows:
            line += f"; {self.dropped_target_rows} rows without a target dropped"
        return line

    def tags(self) -> dict[str, str]:
        """The roles as MLflow tags (names in :data:`nnexp.contract.COLUMN_TAGS`)."""
        t = COLUMN_TAGS
        return {
            t["numeric"]: str(len(self.numeric)),
            t["categorical"]: str(len(self.categorical)),
            t["categorical_columns"]: ", ".join(self.categorical),
            t["left_out"]: "; ".join(f"{k}: {v}" for k, v in self.left_out.items()),
            t["missing"]: ", ".join(f"{k}={v}" for k, v in self.missing.items()),
            t["dropped_target_rows"]: str(self.dropped_target_rows),
        }


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f", ... {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _is_row_index(values: np.ndarray) -> bool:
    if values.dtype.kind not in "iu" or values.shape[0] < ROW_INDEX_MIN_ROWS:
        return False
    return bool(np.all(np.diff(values) == 1))


def _holds_booleans(col: Any) -> bool:
    """An object column of True/False (a boolean column with gaps)."""
    if col.dtype.kind != "O":
        return False
    values = col.dropna().unique()
    return len(values) <= 2 and all(isinstance(v, (bool, np.bool_)) for v in values)


def _role(col: Any, name: str, chosen: bool, n_present: int) -> tuple[str, str]:
    """``(role, why left out)`` of one column (``chosen``: named in ``data.features``;
    ``n_present``: its values that are not missing)."""
    if n_present == 0:
        return "left_out", "no values"
    kind = col.dtype.kind
    if kind == "b" or _holds_booleans(col):
        return "boolean", ""
    if kind in "iuf":
        values = col.to_numpy()
        if not chosen and _is_row_index(values):
            return "left_out", f"counts {values[0]}..{values[-1]} by one, looks like row numbers"
        return "numeric", ""
    if kind in "mM":
        return "left_out", "dates and times are not features yet"
    distinct = int(col.nunique(dropna=True))
    if not chosen and distinct > ID_MIN_DISTINCT and distinct > ID_DISTINCT_SHARE * n_present:
        return "left_out", f"{distinct} distinct text values in {n_present} rows, looks like an identifier"
    return "categorical", ""


def _chosen(
    columns: list[str], target: str, features: Sequence[str] | None, drop: Sequence[str] | None
) -> list[str]:
    """The candidate feature columns: ``features`` (in the file's order) or all but ``drop``."""
    for key, names in (("data.features", features), ("data.drop", drop)):
        unknown = [n for n in (names or []) if n not in columns]
        if unknown:
            raise ValueError(f"{key} names {unknown}, not columns of the file; columns: {columns}")
    if features:
        if target in features:
            raise ValueError(f"data.features names the target {target!r}; list the input columns only")
        return [c for c in columns if c in set(features) and c not in set(drop or [])]
    return [c for c in columns if c != target and c not in set(drop or [])]


def check_fit_options(max_categories: int, impute_numeric: str, impute_categorical: str) -> dict[str, Any]:
    """The :class:`~nnexp.nn.columns.ColumnTransform` fit keywords, checked."""
    if isinstance(max_categories, bool) or int(max_categories) != max_categories or max_categories < 1:
        raise ValueError(f"data.max_categories must be a whole number >= 1, got {max_categories!r}")
    if impute_numeric not in NUMERIC_IMPUTATIONS:
        raise ValueError(
            f"data.impute_numeric must be one of {list(NUMERIC_IMPUTATIONS)}, got {impute_numeric!r}"
        )
    if impute_categorical not in CATEGORICAL_IMPUTATIONS:
        raise ValueError(
            f"data.impute_categorical must be one of {list(CATEGORICAL_IMPUTATIONS)}, got {impute_categorical!r}"
        )
    return {
        "max_categories": int(max_categories),
        "impute_numeric": impute_numeric,
        "impute_categorical": impute_categorical,
    }


def decide_roles(
    df: Any,
    target: str,
    *,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    max_categories: int = MAX_CATEGORIES,
    impute_numeric: str = NUMERIC_IMPUTATIONS[0],
    impute_categorical: str = CATEGORICAL_IMPUTATIONS[0],
) -> ColumnRoles:
    """The roles of ``df``'s columns (a pandas DataFrame whose target rows are all present)."""
    options = check_fit_options(max_categories, impute_numeric, impute_categorical)
    columns = [str(c) for c in df.columns]
    roles = ColumnRoles([], [], {}, {}, fit_options={**options, "booleans": []})
    explicit = set(features or [])
    for name in _chosen(columns, target, features, drop):
        col = df[name]
        gaps = int(col.isna().sum())
        role, why = _role(col, name, name in explicit, len(col) - gaps)
        if role == "left_out":
            roles.left_out[name] = why
            continue
        if role == "boolean":
            roles.fit_options["booleans"].append(name)
            role = "categorical"
        getattr(roles, role).append(name)
        if gaps:
            roles.missing[name] = gaps
    if not features:
        roles.left_out.update({c: "data.drop" for c in drop or []})
    if not roles.numeric and not roles.categorical:
        why = "; ".join(f"{k}: {v}" for k, v in roles.left_out.items()) or "the file holds only the target"
        raise ValueError(
            f"no usable feature column left besides the target {target!r} ({why}); "
            f"choose columns with data.features=[...] (columns: {columns})"
        )
    return roles
