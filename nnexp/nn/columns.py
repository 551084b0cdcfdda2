"""A raw table's columns as the network's numeric inputs: imputation, missing indicators and
one-hot categories, fitted on the training rows and saved inside the model (numpy only).

A :class:`ColumnTransform` is fitted from column roles decided elsewhere (``nnexp.data.columns``
decides them once on the whole table): which columns are numeric and which categorical. What it
learns from the training rows is plain data (medians or means, category lists, which columns had
gaps), so it saves as JSON in the model file and applies wherever numpy is installed: in
``MLP.predict`` on a table, in the MLflow pyfunc model, in ``nnexp reproduce``.

A table is anything that gives a column by name: a pandas DataFrame, a dict of arrays or lists.
Per numeric column: the value with gaps filled (``median`` or ``mean`` of the training rows),
plus a 0/1 "was missing" feature when the training rows had gaps. Per categorical column: one
0/1 feature per category kept (the ``max_categories`` most frequent of the training rows), one
for the rarer ones grouped (``other``), and with ``impute_categorical="missing"`` one for a
missing value when the training rows had some (``most_frequent``: a gap counts as the most
frequent category). A category never seen in training sets none of its column's features.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: How a numeric column's gaps are filled (from the training rows).
NUMERIC_IMPUTATIONS = ("median", "mean")
#: What a categorical column's gap becomes: its own category, or the most frequent one.
CATEGORICAL_IMPUTATIONS = ("missing", "most_frequent")
#: Default number of categories kept per column (rarer ones are grouped as ``other``).
MAX_CATEGORIES = 20
#: Rows a block of the numbers-only transform holds (a few hundred KB per column: in cache).
PLAIN_BLOCK_ROWS = 32_768
#: Columns from this many values on take their median through a sample of this many values.
MEDIAN_SAMPLE_FROM, MEDIAN_SAMPLE = 50_000, 4096


def _is_missing_object(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")


def as_text(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(text, missing)`` of one column: its values as unicode strings and a missing mask.

    ``None``, NaN and pandas' NA are missing; booleans become ``"True"``/``"False"``; whole
    floats such as ``2.0`` become ``"2"`` (a JSON client may send a number for a code).
    """
    a = np.asarray(values)
    if a.ndim != 1:
        a = a.reshape(-1)
    if a.dtype.kind == "U":
        return a, np.zeros(a.shape[0], dtype=bool)
    if a.dtype.kind == "f":
        missing = np.isnan(a)
        vals = np.where(missing, 0.0, a)
        whole = np.isfinite(vals) & (vals == np.round(vals)) & (np.abs(vals) < 2**53)
        ints = np.where(whole, vals, 0.0).astype(np.int64).astype(str)
        return np.where(whole, ints, a.astype(str)), missing
    if a.dtype.kind in "biu":
        return a.astype(str), np.zeros(a.shape[0], dtype=bool)
    items = a.tolist()
    missing = np.fromiter((_is_missing_object(v) for v in items), dtype=bool, count=len(items))
    text = np.array(["" if m else str(v) for v, m in zip(items, missing)], dtype=str)
    if text.shape[0] != len(items):  # an empty column
        text = np.zeros(0, dtype=str)
    return text, missing


def as_numbers(values: Any, name: str) -> np.ndarray:
    """One numeric column as float64 (``None`` and NaN: NaN); text in it is an error naming the column."""
    a = np.asarray(values)
    if a.ndim != 1:
        a = a.reshape(-1)
    if a.dtype.kind in "biuf":
        return a.astype(np.float64, copy=False)
    items = a.tolist()
    out = np.empty(len(items))
    for i, v in enumerate(items):
        if _is_missing_object(v):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"column {name!r} is numeric, got {v!r}") from None
    return out


@dataclass
class NumericColumn:
    """A numeric column: the value a gap gets and whether a "was missing" feature follows."""

    name: str
    fill: float
    indicator: bool


@dataclass
class CategoricalColumn:
    """A categorical column: categories kept (sorted), rare ones grouped, how a gap is encoded."""

    name: str
    categories: list[str]
    rare: list[str] = field(default_factory=list)
    missing: bool = False  #: a feature of its own for a missing value
    fill: str | None = None  #: most_frequent imputation: the category a gap counts as
    boolean: bool = False  #: the column holds booleans (True/False), not text


def median(values: np.ndarray, overwrite: bool = False) -> float:
    """``np.median(values)`` (no NaN in ``values``), exactly, in a third of its time on large
    columns: the values between two order statistics of a sample that bracket the median are
    gathered in one pass, and only those are partitioned (numpy's median partitions the whole
    column around two middle elements). Where the bracket misses, the whole column is
    partitioned. ``overwrite``: ``values`` may be reordered (a copy of the caller's own)."""
    n = values.shape[0]
    k = n // 2
    if n >= MEDIAN_SAMPLE_FROM:
        sample = np.sort(values[:: n // MEDIAN_SAMPLE])
        m = sample.shape[0]
        margin = 3 * int(np.sqrt(m)) + 8  # 3 standard deviations of the sample's middle rank
        lo, hi = sample[max(0, m // 2 - margin)], sample[min(m - 1, m // 2 + margin)]
        middle = values[(values >= lo) & (values <= hi)]
        rank = k - int(np.count_nonzero(values < lo))  # of the median within ``middle``
        if 1 <= rank < middle.shape[0]:
            return _middle_of(middle, rank, n % 2 == 1)
    return _middle_of(values if overwrite else values.copy(), k, n % 2 == 1)


def _middle_of(part: np.ndarray, k: int, odd: bool) -> float:
    """Element ``k`` of sorted ``part`` (odd count), else the mean of elements ``k-1`` and
    ``k``, from one partition (``part`` is reordered)."""
    part.partition(k)
    if odd:
        return float(part[k])
    return float(np.mean(np.array([part[:k].max(), part[k]])))


def _fit_numeric(name: str, values: np.ndarray, strategy: str, owned: bool) -> NumericColumn:
    """``owned``: ``values`` is a copy of the fit's own (it may be reordered)."""
    gaps = np.isnan(values)
    has_gaps = bool(gaps.any())
    seen = values[~gaps] if has_gaps else values
    if seen.size == 0:
        fill = 0.0
    elif strategy == "median":
        fill = median(seen, overwrite=has_gaps or owned)
    else:
        fill = float(seen.mean())
    return NumericColumn(name, fill, has_gaps)


def _fit_categorical(
    name: str, values: Any, max_categories: int, strategy: str, boolean: bool
) -> CategoricalColumn:
    text, missing = as_text(values)
    cats, counts = np.unique(text[~missing], return_counts=True)
    order = np.lexsort((cats, -counts))  # most frequent first, ties by name
    kept, rare = cats[order[:max_categories]], cats[order[max_categories:]]
    col = CategoricalColumn(name, sorted(kept.tolist()), sorted(rare.tolist()), boolean=boolean)
    if missing.any():
        if strategy == "missing" or cats.size == 0:
            col.missing = True
        else:
            col.fill = str(cats[order[0]])
    return col


@dataclass
class ColumnTransform:
    """The fitted transform of a raw table into the network's numeric features (see module doc)."""

    numeric: list[NumericColumn]
    categorical: list[CategoricalColumn]

    @classmethod
    def fit(
        cls,
        table: Any,
        numeric: Sequence[str],
        categorical: Sequence[str],
        *,
        max_categories: int = MAX_CATEGORIES,
        impute_numeric: str = "median",
        impute_categorical: str = "missing",
        booleans: Sequence[str] = (),
    ) -> ColumnTransform:
        """Learn fills, indicators and categories from ``table``'s rows (the training rows);
        ``booleans``: the categorical columns that hold True/False."""
        if impute_numeric not in NUMERIC_IMPUTATIONS:
            raise ValueError(f"impute_numeric must be one of {NUMERIC_IMPUTATIONS}, got {impute_numeric!r}")
        if impute_categorical not in CATEGORICAL_IMPUTATIONS:
            raise ValueError(
                f"impute_categorical must be one of {CATEGORICAL_IMPUTATIONS}, got {impute_categorical!r}"
            )
        if int(max_categories) < 1:
            raise ValueError(f"max_categories must be >= 1, got {max_categories!r}")
        owned = isinstance(table, Rows)  # its columns are gathered copies
        with _pool() as pool:  # one column per thread (numpy releases the GIL)
            nums = pool.map(
                lambda n: _fit_numeric(n, as_numbers(table[n], n), impute_numeric, owned), numeric
            )
            cats = pool.map(
                lambda n: _fit_categorical(
                    n, table[n], int(max_categories), impute_categorical, n in booleans
                ),
                categorical,
            )
            return cls(list(nums), list(cats))

    @property
    def columns(self) -> list[tuple[str, str]]:
        """The input columns it reads, in feature order, with their type: ``(name, "double")``
        for numbers, ``"string"`` for text categories, ``"boolean"`` (MLflow's type names)."""
        return [(c.name, "double") for c in self.numeric] + [
            (c.name, "boolean" if c.boolean else "string") for c in self.categorical
        ]

    @property
    def feature_names(self) -> list[str]:
        """Names of the features it produces: ``age``, ``age=missing``, ``home=rent``, ``home=other``."""
        names: list[str] = []
        for n in self.numeric:
            names += [n.name] + ([f"{n.name}=missing"] if n.indicator else [])
        for c in self.categorical:
            names += [f"{c.name}={v}" for v in c.categories]
            names += [f"{c.name}=other"] * bool(c.rare) + [f"{c.name}=missing"] * c.missing
        return names

    @property
    def n_features(self) -> int:
        """How many features it produces."""
        return len(self.feature_names)

    def _column(self, table: Any, name: str) -> Any:
        try:
            return table[name]
        except (KeyError, IndexError):
            given = list(table.keys()) if hasattr(table, "keys") else []
            raise ValueError(
                f"input is missing column {name!r}; the model needs {[n for n, _ in self.columns]}"
                + (f", got {given}" if given else "")
            ) from None

    def transform(self, table: Any, dtype: Any = np.float32) -> np.ndarray:
        """The features of ``table``'s rows, shape (n_rows, :attr:`n_features`), in ``dtype``.

        Each column writes its own slice of the result, one column per thread; numbers alone
        without gaps are copied a block of rows at a time (:meth:`_plain_numbers`)."""
        items: list[NumericColumn | CategoricalColumn] = [*self.numeric, *self.categorical]
        if not items:
            raise ValueError("the column transform has no columns")
        plain = self._plain_numbers(table, dtype)
        if plain is not None:
            return plain
        starts = np.cumsum([0] + [self._width(c) for c in items])
        first = self._column(table, items[0].name)
        out = np.empty((len(first), self.n_features), dtype=dtype)

        def write(k: int) -> None:
            values = first if k == 0 else self._column(table, items[k].name)
            self._write(items[k], values, out[:, starts[k] : starts[k + 1]])

        with _pool() as pool:  # numpy releases the GIL
            list(pool.map(write, range(len(items))))
        return out

    def _plain_numbers(self, table: Any, dtype: Any) -> np.ndarray | None:
        """The features of numeric columns without indicators, or None where another column
        kind, a value that is not a finite number or columns of unequal length need the general
        path. Rows are gathered and written a block at a time, so each block of the result is
        written once while in cache (not once per column): twice as fast as column by column."""
        if self.categorical or any(c.indicator for c in self.numeric):
            return None
        rows = table.rows if isinstance(table, Rows) else None
        source = table.table if isinstance(table, Rows) else table
        cols = [np.asarray(self._column(source, c.name)) for c in self.numeric]
        if any(c.ndim != 1 or c.dtype.kind not in "biuf" or len(c) != len(cols[0]) for c in cols):
            return None
        n = len(cols[0]) if rows is None else len(rows)
        out = np.empty((n, len(cols)), dtype=dtype)

        def write(start: int) -> bool:
            ix = slice(start, start + PLAIN_BLOCK_ROWS)
            for k, col in enumerate(cols):
                x = (col[ix] if rows is None else col[rows[ix]]).astype(np.float64, copy=False)
                if not np.isfinite(x).all():
                    return False
                out[ix, k] = x
            return True

        with _pool() as pool:  # numpy releases the GIL
            return out if all(pool.map(write, range(0, n, PLAIN_BLOCK_ROWS))) else None

    @staticmethod
    def _width(c: NumericColumn | CategoricalColumn) -> int:
        if isinstance(c, NumericColumn):
            return 1 + c.indicator
        return len(c.categories) + bool(c.rare) + c.missing

    @staticmethod
    def _write(c: NumericColumn | CategoricalColumn, values: Any, out: np.ndarray) -> None:
        """One column's features into ``out`` (its slice of the result)."""
        if isinstance(c, CategoricalColumn):
            ColumnTransform._one_hot(c, values, out)
            return
        x = as_numbers(values, c.name)
        if x.shape[0] != out.shape[0]:
            raise ValueError(f"column {c.name!r} has {x.shape[0]} rows, the first column {out.shape[0]}")
        out[:, 0] = x
        if np.isfinite(x).all():  # on the contiguous float64 values, not the strided float32 slice
            if c.indicator:
                out[:, 1] = 0
            return
        gaps = np.isnan(x)
        if np.isinf(x).any():
            raise ValueError(f"column {c.name!r} holds an infinite value")
        out[gaps, 0] = c.fill
        if c.indicator:
            out[:, 1] = gaps

    @staticmethod
    def _one_hot(c: CategoricalColumn, values: Any, out: np.ndarray) -> None:
        text, missing = as_text(values)
        if text.shape[0] != out.shape[0]:
            raise ValueError(f"column {c.name!r} has {text.shape[0]} rows, the first column {out.shape[0]}")
        if c.fill is not None:
            text = np.where(missing, c.fill, text)
            missing = np.zeros_like(missing)
        out[...] = 0
        rows = np.arange(text.shape[0])
        for known, offset in ((c.categories, 0), (c.rare, len(c.categories))):
            if not known:
                continue
            cats = np.asarray(known, dtype=str)
            idx = np.minimum(np.searchsorted(cats, text), cats.shape[0] - 1)
            hit = (cats[idx] == text) & ~missing
            out[rows[hit], idx[hit] if offset == 0 else offset] = 1
        if c.missing:
            out[missing, out.shape[1] - 1] = 1

    def example(self, n: int = 5) -> dict[str, list[Any]]:
        """``n`` made-up rows from what was learned (fills, categories): an input example."""
        rows: dict[str, list[Any]] = {}
        for num in self.numeric:
            rows[num.name] = [num.fill] * n
        for c in self.categorical:
            cats: list[Any] = c.categories or ([c.fill] if c.fill else ["?"])
            if c.boolean:
                cats = [v == "True" for v in cats]
            rows[c.name] = [cats[i % len(cats)] for i in range(n)]
        return rows

    def to_state(self) -> dict[str, Any]:
        """Plain JSON data (saved in the model file's meta)."""
        return {
            "numeric": [vars(n) for n in self.numeric],
            "categorical": [vars(c) for c in self.categorical],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ColumnTransform:
        """The transform :meth:`to_state` described."""
        return cls(
            [NumericColumn(**n) for n in state["numeric"]],
            [CategoricalColumn(**c) for c in state["categorical"]],
        )


class Rows:
    """Rows ``rows`` of a table, one column at a time (no copy of the whole table)."""

    def __init__(self, table: Any, rows: np.ndarray) -> None:
        self.table, self.rows = table, rows

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.table[name])[self.rows]


def _pool() -> ThreadPoolExecutor:
    """Threads for the columns: as many as the cores (at most 8)."""
    return ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)))


def is_table(X: Any) -> bool:
    """Whether ``X`` gives columns by name (a DataFrame or a mapping), not a numeric matrix."""
    return isinstance(X, Mapping) or (hasattr(X, "columns") and hasattr(X, "iloc"))
