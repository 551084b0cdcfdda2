"""Input checks that fail early with a ``ValueError`` naming the problem and the valid range.

``validate_hyperparameters`` checks the constructor keywords of :class:`~nnexp.nn.MLP` (the
config layer can call it through ``MLP.validate_params()`` before any data is loaded);
``check_X`` / ``check_targets`` check arrays passed to ``fit``, ``predict`` and friends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .hyperparameters import HYPERPARAMETERS, Hyperparameter, is_int, is_real


def problem(h: Hyperparameter, value: Any) -> str | None:
    """Why ``value`` is invalid for ``h``, phrased for Python users (``None``: valid)."""
    if h.accepts(value):
        return None
    if h.kind == "choice":
        return f"unknown {h.name} {value!r}; valid choices: {list(h.choices)}"
    if h.kind == "bool":
        return f"{h.name} must be True or False, got {value!r}"
    if h.kind in ("int", "real"):
        return f"{h.name} must be {h.expected()}{' or None' if h.nullable else ''}, got {value!r}"
    return f"{h.name} must be {h.expected()}, got {value!r}"


def hidden_sizes(depth: int, width: int | Sequence[int]) -> list[int]:
    """Per-hidden-layer widths from ``depth`` and ``width`` (an int or one int per layer)."""
    bad_depth = problem(HYPERPARAMETERS["depth"], depth)
    if bad_depth:
        raise ValueError(bad_depth)
    w = HYPERPARAMETERS["width"]
    if is_int(width):
        if not w.accepts(width):
            raise ValueError(f"width must be {w.expected()} or a list of them, got {width!r}")
        return [int(width)] * int(depth)
    if isinstance(width, (str, bytes)) or not isinstance(width, Sequence | np.ndarray):
        raise ValueError(f"width must be {w.expected()} or a list of {depth} integers, got {width!r}")
    widths = list(width)
    if len(widths) != depth:
        raise ValueError(
            f"width has {len(widths)} entries but depth is {depth}; give one width per hidden layer"
        )
    if not all(w.accepts(x) for x in widths):
        raise ValueError(f"every width must be {w.expected()}, got {widths!r}")
    return [int(x) for x in widths]


def relation_problems(p: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[str]:
    """Rules between hyperparameters (each one valid on its own), as messages; ``names`` maps a
    keyword to how the caller shows it (the config passes its dotted keys)."""
    n = {k: (names or {}).get(k, k) for k in ("width", "depth", "min_lr", "lr", "n_classes", "task")}
    problems = []
    width = p["width"]
    if (
        not is_int(width)
        and isinstance(width, Sequence)
        and not isinstance(width, str)
        and len(width) != p["depth"]
    ):
        problems.append(
            f"{n['width']} has {len(width)} entries but {n['depth']} is {p['depth']}; "
            "give one width per hidden layer"
        )
    if p["schedule"] == "cosine" and is_real(p["lr"]) and is_real(p["min_lr"]) and p["min_lr"] > p["lr"]:
        problems.append(
            f"{n['min_lr']} must be <= {n['lr']} for the cosine schedule, "
            f"got {n['min_lr']}={p['min_lr']!r} > {n['lr']}={p['lr']!r}"
        )
    if p["n_classes"] is not None and p["task"] == "regression":
        problems.append(f"{n['n_classes']} is only valid for classification, but {n['task']}='regression'")
    return problems


def validate_hyperparameters(p: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for the first invalid hyperparameter in ``p`` (MLP keyword -> value)."""
    hidden_sizes(p["depth"], p["width"])
    for name, h in HYPERPARAMETERS.items():
        if h.kind != "width":
            message = problem(h, p[name])
            if message:
                raise ValueError(message)
    relations = relation_problems(p)
    if relations:
        raise ValueError(relations[0])


def check_X(X: Any, *, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a 2-D float array after checking shape, dtype and finiteness.

    The result is only copied when the input is not already a float array.
    """
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} must be a 2-D numeric array of shape (n_samples, n_features): {exc}"
        ) from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got {arr.ndim}-D shape {arr.shape}"
            + ("; reshape a single feature with X.reshape(-1, 1)" if arr.ndim == 1 else "")
        )
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (bool, int or float), got dtype {arr.dtype}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity; impute or drop those rows first")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the model was fitted with {n_features} features"
        )
    return arr


def check_targets(y: Any, n_rows: int, *, name: str = "y", X_name: str = "X") -> np.ndarray:
    """Return ``y`` as an array (numbers, or text labels as ``str``) after checking it is 1-D/2-D, finite and matches ``n_rows``."""
    arr = np.asarray(y)
    if arr.ndim not in (1, 2) or arr.ndim == 0:
        raise ValueError(
            f"{name} must be a 1-D array of shape (n_samples,) or 2-D (n_samples, n_outputs), got shape {arr.shape}"
        )
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows but {X_name} has {n_rows}; they must have the same length"
        )
    if arr.dtype.kind == "O":  # e.g. a pandas column of strings or Python ints
        arr = np.array(arr.tolist())
    if arr.dtype.kind not in "biufUS":
        raise ValueError(f"{name} must hold numbers or text labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "S":
        arr = arr.astype(str)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_dropout_masks(
    masks: Sequence[Any], n_rows: int, sizes: Sequence[int], dtype: np.dtype
) -> list[np.ndarray]:
    """One 0/1 keep-mask of shape ``(n_rows, sizes[l + 1])`` per hidden layer, as ``dtype`` arrays."""
    n_hidden = len(sizes) - 2
    if len(masks) != n_hidden:
        raise ValueError(f"dropout_masks needs one mask per hidden layer ({n_hidden}), got {len(masks)}")
    for l, mask in enumerate(masks):
        if np.shape(mask) != (n_rows, sizes[l + 1]):
            raise ValueError(
                f"dropout_masks[{l}] must have shape {(n_rows, sizes[l + 1])}, got {np.shape(mask)}"
            )
    return [np.asarray(mk, dtype=dtype) for mk in masks]


def check_input_mask(mask: Any, shape: tuple[int, ...], dtype: np.dtype, rate: float) -> np.ndarray:
    """A 0/1 keep-mask of the input's ``shape`` scaled as training's is, ``1 / (1 - rate)``."""
    if np.shape(mask) != shape:
        raise ValueError(f"input_mask must have shape {shape}, got {np.shape(mask)}")
    return np.asarray(mask, dtype=dtype) * dtype.type(1.0 / (1.0 - rate))
