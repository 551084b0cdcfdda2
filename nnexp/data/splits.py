"""Seeded, stratified train/validation/test splitting and training-set capping.

Sizes follow scikit-learn: a float in [0, 1) is a fraction of the rows being split, an int >= 1
an absolute count. Splitting works on row indices, so image data stays uint8 until the final
float32 conversion of each split (less memory, faster). Index arrays are returned sorted, so each
split keeps the file's row order (training shuffles per epoch anyway).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from nnexp.data.dataset import Dataset, RawData, make_identity

#: Default validation/test fractions for datasets without a canonical test set.
DEFAULT_VAL_SIZE = 0.2
DEFAULT_TEST_SIZE = 0.2
#: Default validation rows carved from the 60k training images of MNIST / Fashion-MNIST.
DEFAULT_CANONICAL_VAL_SIZE = 10_000


def resolve_size(size: float | None, n: int, what: str, default: float) -> int:
    """Turn a fraction (float in [0, 1)) or a row count (int) into a row count out of ``n``."""
    if size is None:
        size = default
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a fraction in [0, 1) or a row count, got {size!r}")
    if isinstance(size, (float, np.floating)):
        frac = float(size)
        if 0.0 <= frac < 1.0:
            return round(frac * n)
        if not frac.is_integer():
            raise ValueError(f"{what} must be a fraction in [0, 1) or a row count >= 1, got {size!r}")
    count = int(size)
    if count < 0 or count >= n:
        raise ValueError(f"{what}={count} rows is out of range: {n} rows available")
    return count


def _stratified_pick(
    idx: np.ndarray,
    y: np.ndarray | None,
    k: int,
    seed: int,
    what: str,
    class_names: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, picked) with ``len(picked) == k``, stratified on ``y[idx]``."""
    if k == 0:
        return idx, idx[:0]
    if k >= len(idx):
        raise ValueError(f"{what}: cannot take {k} rows out of {len(idx)}")
    strat = None if y is None else y[idx]
    if strat is None:
        rest, picked = train_test_split(idx, test_size=k, random_state=seed, stratify=None)
        return _sorted(rest, idx), _sorted(picked, idx)
    try:
        rest, picked = stratified_pick(idx, strat, k, seed)  # in idx's order
    except ValueError as exc:
        raise ValueError(stratify_error(strat, len(idx), k, what, class_names)) from exc
    return (rest, picked) if _increasing(idx) else (np.sort(rest), np.sort(picked))


def _increasing(idx: np.ndarray) -> bool:
    return idx.size < 2 or bool((idx[1:] > idx[:-1]).all())


def _sorted(part: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``np.sort(part)`` for rows ``part`` of ``idx``: by a mask over ``idx``'s range (linear
    time) when ``idx`` is increasing, as every split's rows are."""
    if not _increasing(idx):
        return np.sort(part)
    mask = np.zeros(int(idx[-1]) + 1, dtype=bool)
    mask[part] = True
    return np.flatnonzero(mask)


def class_codes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(y, return_inverse=True, return_counts=True)``; by counting for class codes."""
    if y.dtype.kind in "iu" and y.size and 0 <= y.min() and y.max() < 1 << 20:
        counts = np.bincount(y)
        present = counts > 0
        if present.all():  # y holds the codes already
            return np.arange(counts.size), y, counts
        codes = np.cumsum(present) - 1
        return np.flatnonzero(present), codes[y], counts[present]
    return np.unique(y, return_inverse=True, return_counts=True)


def _class_rows(strat: np.ndarray) -> list[np.ndarray]:
    """Per class (sorted), the positions of its rows in ``strat``, increasing."""
    _, codes, counts = class_codes(strat)
    codes = codes.reshape(-1)
    if len(counts) <= 64:  # a pass per class: faster than a stable argsort for few classes
        return [np.flatnonzero(codes == c) for c in range(len(counts))]
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(counts)[:-1])


def _mark_pick(label: np.ndarray, rows: list[np.ndarray], k: int, seed: int, mark: int) -> None:
    """Set ``label`` to ``mark`` on ``k`` of ``rows`` (per class, its rows still to split):
    ``StratifiedShuffleSplit``'s pick with its random numbers (``RandomState(seed)``, the
    class sizes, then one permutation per class whose last positions are picked)."""
    from sklearn.utils.extmath import _approximate_mode

    counts = np.array([len(r) for r in rows])
    if counts.min() < 2 or counts.sum() - k < len(rows) or k < len(rows):
        raise ValueError("too few rows per class to stratify")
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(counts, int(counts.sum()) - k, rng)
    t_i = _approximate_mode(counts - n_i, k, rng)
    for i, r in enumerate(rows):
        label[r.take(rng.permutation(counts[i])[n_i[i] : n_i[i] + t_i[i]], mode="clip")] = mark


def stratified_pick(idx: np.ndarray, strat: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``train_test_split(idx, test_size=k, random_state=seed, stratify=strat)``'s two sets, in
    ``idx``'s order, drawn with the same random numbers in numpy: scikit-learn builds them in
    Python lists, 0.25 s per split of 1.5 M rows; this takes a tenth of it. Same rows, so a
    recorded split stays the same (``tests/data`` compares both)."""
    picked = np.zeros(len(idx), dtype=bool)
    _mark_pick(picked, _class_rows(strat), int(k), seed, True)
    return idx[~picked], idx[picked]


def stratified_test_val(
    y: np.ndarray, n_test: int, test_seed: int, n_val: int, seed: int, class_names: tuple[str, ...] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, val, test)`` rows: the test rows picked from all rows (``test_seed``), then the
    validation rows from the rest (``seed``), the same rows as two :func:`stratified_pick` calls
    but in one pass over a label per row (each class's rows found once)."""
    n = len(y)
    label = np.zeros(n, dtype=np.uint8)  # 0 train, 1 validation, 2 test
    rows = _class_rows(y)
    if n_test:
        try:
            _mark_pick(label, rows, n_test, test_seed, 2)
        except ValueError as exc:
            raise ValueError(stratify_error(y, n, n_test, "test split", class_names)) from exc
        rows = [r for r in (r[label[r] == 0] for r in rows) if len(r)]
    if n_val:
        try:
            _mark_pick(label, rows, n_val, seed, 1)
        except ValueError as exc:
            rest = y[label == 0]
            raise ValueError(stratify_error(rest, len(rest), n_val, "validation split", class_names)) from exc
    return np.flatnonzero(label == 0), np.flatnonzero(label == 1), np.flatnonzero(label == 2)


def stratify_error(
    strat: np.ndarray, n: int, k: int, what: str, class_names: tuple[str, ...] | None = None
) -> str:
    """Why a stratified split of ``n`` rows into ``n-k``/``k`` is impossible, and what to do.

    Names the classes with fewer than 2 rows (label and count), or says that a side is smaller
    than the number of classes.
    """
    labels, counts = np.unique(strat.astype(np.int64), return_counts=True)

    def name(code: int) -> str:
        return repr(class_names[code]) if class_names is not None and code < len(class_names) else str(code)

    head = f"{what}: cannot stratify {n} rows into {n - k}/{k} by class"
    rare = [(name(int(c)), int(m)) for c, m in zip(labels, counts) if m < 2]
    if rare:
        shown = ", ".join(f"{lab} ({m} row{'s' if m != 1 else ''})" for lab, m in rare[:10])
        more = f" and {len(rare) - 10} more" if len(rare) > 10 else ""
        return (
            f"{head}: {len(rare)} of {len(labels)} classes have fewer than 2 rows: {shown}{more}. "
            "If the target is a numeric quantity, set data.task=regression; otherwise merge or remove "
            "the rare classes, or turn stratification off (+data.options.stratify=false)"
        )
    return (
        f"{head}: each side needs at least one row of each of the {len(labels)} classes "
        f"(smallest class: {int(counts.min())} rows). Make data.val_size/data.test_size larger (or "
        "smaller, to leave more training rows), set data.task=regression if the target is a numeric "
        "quantity, or merge rare classes"
    )


def _split_indices(
    raw: RawData,
    y_strat: np.ndarray | None,
    seed: int,
    test_seed: int | None,
    val_size: float | None,
    test_size: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(train, val, test)`` row indices of ``raw`` (test None: the canonical test set); the
    test rows are drawn with ``test_seed`` (default ``seed``), the rest with ``seed``."""
    names = raw.class_names
    n = len(raw.y)
    all_idx = np.arange(n)
    if raw.X_test is not None:
        n_val = resolve_size(val_size, n, "val_size", DEFAULT_CANONICAL_VAL_SIZE)
        train_idx, val_idx = _stratified_pick(all_idx, y_strat, n_val, seed, "validation split", names)
        return train_idx, val_idx, None
    n_test = resolve_size(test_size, n, "test_size", DEFAULT_TEST_SIZE)
    n_val = resolve_size(val_size, n, "val_size", DEFAULT_VAL_SIZE)
    if n_test + n_val >= n:
        raise ValueError(
            f"val_size and test_size take {n_val}+{n_test} of {n} rows, leaving none to train on"
        )
    test_seed = seed if test_seed is None else int(test_seed)
    if y_strat is not None:
        return stratified_test_val(y_strat, n_test, test_seed, n_val, seed, names)
    rest, test_idx = _stratified_pick(all_idx, None, n_test, test_seed, "test split")
    train_idx, val_idx = _stratified_pick(rest, None, n_val, seed, "validation split")
    return train_idx, val_idx, test_idx


def _training_cap(n_train: int, max_train_samples: int | None, subsample: float | None) -> int:
    """How many training rows to keep: ``max_train_samples`` (count) and ``subsample``
    (fraction), the smaller wins."""
    cap = n_train
    if max_train_samples is not None:
        if int(max_train_samples) < 1:
            raise ValueError(f"max_train_samples must be >= 1, got {max_train_samples!r}")
        cap = min(cap, int(max_train_samples))
    if subsample is not None:
        if not 0.0 < float(subsample) <= 1.0:
            raise ValueError(f"subsample must be a fraction in (0, 1], got {subsample!r}")
        cap = min(cap, max(1, round(float(subsample) * n_train)))
    return cap


def _take(
    X: np.ndarray, y: np.ndarray, idx: np.ndarray | None, y_dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` (None: all) as flat float32 features and ``y_dtype`` targets, C-contiguous."""
    Xs, ys = (X, y) if idx is None else (X[idx], y[idx])
    Xs = np.ascontiguousarray(Xs.reshape(len(Xs), math.prod(X.shape[1:])), dtype=np.float32)
    return Xs, np.ascontiguousarray(ys, dtype=y_dtype)


def _encode_table(raw: RawData, parts: tuple[np.ndarray, ...], y_dtype: type) -> tuple[Any, ...]:
    """``(transform, X_train, X_val, X_test, y_train, y_val, y_test)`` of a table: the
    ``ColumnTransform`` fitted on the training rows alone, then applied to each split."""
    from nnexp.nn.columns import ColumnTransform, Rows

    roles = raw.roles
    train = Rows(raw.table, parts[0])
    columns = ColumnTransform.fit(train, roles.numeric, roles.categorical, **roles.fit_options)
    out = [columns.transform(Rows(raw.table, idx)) for idx in parts]
    ys = [np.ascontiguousarray(raw.y[idx], dtype=y_dtype) for idx in parts]
    return (columns, *out, *ys)


def _indices_sha256(train: np.ndarray, val: np.ndarray, test: np.ndarray | None) -> str:
    """One digest of the split's row indices (the split's identity in a run's record)."""
    h = hashlib.sha256()
    for part in (train, val, test if test is not None else np.arange(0)):
        h.update(np.ascontiguousarray(part, dtype="<i8").tobytes())
        h.update(b"|")
    return h.hexdigest()


def split_raw(
    raw: RawData,
    *,
    seed: int = 0,
    test_seed: int | None = None,
    val_size: float | None = None,
    test_size: float | None = None,
    max_train_samples: int | None = None,
    subsample: float | None = None,
    stratify: bool = True,
) -> Dataset:
    """Split ``raw`` into a :class:`Dataset`.

    Without a canonical test set: test rows are drawn from all rows first (``test_size``, default
    0.2), then validation rows (``val_size``, default 0.2, a fraction of *all* rows) from the rest.
    With one (MNIST, Fashion-MNIST): the canonical test set is kept, ``test_size`` is ignored, and
    validation (``val_size``: fraction of the training file or row count; default 10,000) is carved
    from the training file. Classification splits are stratified unless ``stratify=False``.
    ``max_train_samples`` (count) and ``subsample`` (fraction) then cap the training split
    (stratified, same seed); both given -> the smaller cap wins. ``test_seed`` (default ``seed``)
    picks the test rows alone, so the test split can stay fixed while ``seed`` re-draws the rest.
    """
    y_strat = raw.y if (stratify and raw.task == "classification") else None
    canonical = raw.X_test is not None
    train_idx, val_idx, test_idx = _split_indices(raw, y_strat, seed, test_seed, val_size, test_size)
    cap = _training_cap(len(train_idx), max_train_samples, subsample)
    if cap < len(train_idx):
        _, train_idx = _stratified_pick(train_idx, y_strat, cap, seed, "training subsample", raw.class_names)

    y_dtype = np.int64 if raw.task == "classification" else np.float32
    columns = None
    if raw.table is not None:  # a user's table: encoded as fitted on the training rows
        assert test_idx is not None
        columns, X_train, X_val, X_test, y_train, y_val, y_test = _encode_table(
            raw, (train_idx, val_idx, test_idx), y_dtype
        )
    else:
        X_train, y_train = _take(raw.X, raw.y, train_idx, y_dtype)
        X_val, y_val = _take(raw.X, raw.y, val_idx, y_dtype)
        if canonical:
            assert raw.y_test is not None and raw.X_test is not None
            X_test, y_test = _take(raw.X_test, raw.y_test, test_idx, y_dtype)
        else:
            X_test, y_test = _take(raw.X, raw.y, test_idx, y_dtype)
    split: dict[str, Any] = {
        "seed": int(seed),
        "val_size": val_size,
        "test_size": None if canonical else test_size,
        "canonical_test": canonical,
        "stratified": y_strat is not None,
        "max_train_samples": max_train_samples,
        "subsample": subsample,
        "n_train": len(y_train),
        "n_val": len(y_val),
        "n_test": len(y_test),
        "indices_sha256": _indices_sha256(train_idx, val_idx, test_idx),
    }
    if test_seed is not None and test_seed != seed and not canonical:
        split["test_seed"] = int(test_seed)
    return Dataset(
        name=raw.name,
        task=raw.task,
        n_classes=raw.n_classes,
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        identity=make_identity(raw),
        class_names=raw.class_names,
        feature_names=raw.feature_names if columns is None else tuple(columns.feature_names),
        split=split,
        info=dict(raw.info),
        task_reason=raw.task_reason,
        columns=columns,
        roles=raw.roles,
    )
