"""Pure helpers ``MLP.fit`` uses around the network: input and target scaling, class labels,
and the validation rows held out for early stopping."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def column_mean_std(X: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) std in float64, two-pass, without a full float64 copy of X.

    A (near-)constant column gets std 1, so scaling leaves it centred instead of dividing by 0.
    """
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        total += X[start : start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        d = X[start : start + chunk] - mean
        sq += np.einsum("ij,ij->j", d, d)
    std = np.sqrt(sq / n)
    std[std < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0
    return mean, std


def fit_scaling(X: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, scale)`` per feature (float64) so that ``(X - offset) / scale`` is the scaled input.

    ``standard``: per-feature mean and std. ``minmax``: one minimum and one range over the whole
    array (every feature shares the scale, as pixels do: 0..255 becomes x / 255). ``none``: 0 and 1.
    """
    d = X.shape[1]
    if method == "standard":
        return column_mean_std(X)
    if method == "minmax":
        lo, hi = float(X.min()), float(X.max())
        span = hi - lo if hi > lo else 1.0
        return np.full(d, lo), np.full(d, span)
    if method == "none":
        return np.zeros(d), np.ones(d)
    raise ValueError(f"unknown scaling {method!r}")


def fit_classes(y: np.ndarray, n_classes: int | None) -> np.ndarray:
    """The sorted class labels of ``y`` (``n_classes`` given: ``0..n_classes-1``, integer labels).

    Integer-valued floats and bools become int64, so labels ``0..K-1`` behave as they always did.
    """
    y = as_labels(y)
    if n_classes is not None:
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"n_classes={n_classes} needs integer labels 0..{n_classes - 1}, got dtype {y.dtype}"
            )
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"classification labels y out of range: found {lo}..{hi}, valid range is 0..{n_classes - 1}"
            )
        return np.arange(n_classes, dtype=np.int64)
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(
            f"classification needs at least 2 classes, but y only contains {classes[0]!r}; "
            "pass n_classes=K if some integer classes 0..K-1 are absent from this training set"
        )
    return classes


def as_labels(y: np.ndarray, name: str = "y") -> np.ndarray:
    """1-D labels: (n, 1) flattened, bools and integer-valued floats as int64, text as str."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"classification labels {name} must be 1-D, got shape {y.shape}")
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.array_equal(y, np.round(y)):
            raise ValueError(
                f"classification labels {name} must be integers or text, got non-integer values; "
                "use task='regression' for continuous targets"
            )
        return y.astype(np.int64)
    if y.dtype.kind == "u":
        return y.astype(np.int64)
    return y


def encode_labels(y: np.ndarray, classes: np.ndarray, name: str = "y") -> np.ndarray:
    """Indices of ``y``'s labels in ``classes`` (int64); unknown labels are an error naming them."""
    y = as_labels(y, name)
    numeric = classes.dtype.kind in "iuf"
    if numeric != (y.dtype.kind in "iuf"):
        raise ValueError(
            f"labels {name} are {'text' if numeric else 'numbers'} but the model was fitted on "
            f"{'numbers' if numeric else 'text'} labels {classes[:10].tolist()}"
        )
    idx = np.searchsorted(classes, y)
    found = idx < classes.shape[0]
    found[found] = classes[idx[found]] == y[found]
    if not found.all():
        unknown = np.unique(y[~found])
        if numeric and classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(classes.shape[0])):
            raise ValueError(
                f"classification labels {name} out of range: found {y.min()}..{y.max()}, "
                f"valid range is 0..{classes.shape[0] - 1}"
            )
        raise ValueError(
            f"{name} contains labels the model was not fitted on: {unknown[:10].tolist()}; "
            f"known classes: {classes[:20].tolist()}"
        )
    return idx.astype(np.int64)


def holdout(
    n: int, fraction: float, rng: np.random.Generator, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(train_rows, val_rows)``: about ``fraction`` of ``n`` rows for validation, per group when
    ``groups`` (class indices) is given so every class keeps its share. Training rows keep their order."""
    perm = rng.permutation(n)
    if groups is None:
        val = perm[: int(round(fraction * n))]
    else:
        g = groups[perm]
        val = np.concatenate(
            [perm[g == c][: int(round(fraction * np.count_nonzero(g == c)))] for c in np.unique(g)]
        )
    if val.shape[0] == 0 or val.shape[0] == n:
        raise ValueError(
            f"early stopping needs validation rows, but validation_fraction={fraction} of {n} training rows "
            "leaves none for validation or none for training; pass X_val and y_val, change "
            "validation_fraction, or set early_stopping=False"
        )
    keep = np.ones(n, dtype=bool)
    keep[val] = False
    return np.flatnonzero(keep), np.sort(val)


def resolve_task(task: str, y: np.ndarray) -> str:
    """``task`` unless ``auto``: then regression for float targets, classification otherwise."""
    if task != "auto":
        return task
    return "regression" if y.dtype.kind == "f" else "classification"


def scale_inputs(
    X: np.ndarray, scaling: str, offset: np.ndarray, scale: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """``(X - offset) / scale`` in ``dtype``, C-contiguous (a new array unless ``scaling`` is ``none``)."""
    if scaling == "none":
        return np.ascontiguousarray(X, dtype=dtype)
    out = np.array(X, dtype=dtype, order="C", copy=True)
    np.subtract(out, offset.astype(dtype), out=out)
    np.multiply(out, (1.0 / scale).astype(dtype), out=out)
    return out


def standardize_targets(
    y: np.ndarray, mean: np.ndarray, scale: np.ndarray, dtype: np.dtype, name: str = "y"
) -> np.ndarray:
    """Regression targets as ``(y - mean) / scale``, shape (n, outputs), in ``dtype``."""
    n_outputs = mean.shape[0]
    if y.ndim == 2 and y.shape[1] != n_outputs:
        raise ValueError(f"{name} has {y.shape[1]} outputs but the model was fitted with {n_outputs}")
    t = (np.asarray(y, dtype=np.float64).reshape(-1, n_outputs) - mean) / scale
    return np.ascontiguousarray(t, dtype=dtype)


class Head(NamedTuple):
    """What the training targets decide: the output layer and how targets map onto it."""

    task: str
    head: str  # "softmax" | "sigmoid" | "identity"
    n_outputs: int
    n_classes: int  # 0 for regression
    classes: np.ndarray | None
    target_mean: np.ndarray | None
    target_scale: np.ndarray | None
    y_ndim: int


def fit_head(y: np.ndarray, task: str, n_classes: int | None) -> Head:
    """The head for targets ``y``: classes (K == 2: one sigmoid unit, K > 2 softmax) or a
    standardized regression target (identity head, one unit per output)."""
    task = resolve_task(task, y)
    if task == "classification":
        classes = fit_classes(y, n_classes)
        k = int(classes.shape[0])
        return Head(task, "softmax" if k > 2 else "sigmoid", k if k > 2 else 1, k, classes, None, None, 1)
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"regression needs numeric targets, got dtype {y.dtype}; use task='classification' for labels"
        )
    n_out = 1 if y.ndim == 1 else y.shape[1]
    mean, scale = fit_scaling(y.reshape(-1, n_out), "standard")
    return Head(task, "identity", n_out, 0, None, mean, scale, y.ndim)
