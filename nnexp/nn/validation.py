"""Input checks that fail early with a ``ValueError`` naming the problem and the valid range.

``validate_hyperparameters`` checks the constructor keywords of :class:`~nnexp.nn.MLP` (the
config layer can call it through ``MLP.validate_params()`` before any data is loaded);
``check_X`` / ``check_targets`` check arrays passed to ``fit``, ``predict`` and friends.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .activations import ACTIVATIONS
from .early_stopping import MODE_CHOICES
from .initializers import INIT_CHOICES
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULE_CHOICES

MAX_DEPTH = 10
DTYPE_CHOICES = ("float32", "float64")
TASK_CHOICES = ("auto", "classification", "regression")
MONITOR_CHOICES = ("val_loss", "val_accuracy", "train_loss")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _int_in(name: str, value: Any, low: int, high: int | None = None) -> None:
    if not _is_int(value) or value < low or (high is not None and value > high):
        rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")


def _real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
          low_open: bool = False, high_open: bool = False) -> None:
    ok = _is_real(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid choices: {list(choices)}")


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def hidden_sizes(depth: int, width: int | Sequence[int]) -> list[int]:
    """Per-hidden-layer widths from ``depth`` and ``width`` (an int or one int per layer)."""
    _int_in("depth", depth, 1, MAX_DEPTH)
    if _is_int(width):
        if width < 1:
            raise ValueError(f"width must be an integer >= 1 or a list of them, got {width!r}")
        return [int(width)] * int(depth)
    if isinstance(width, (str, bytes)) or not isinstance(width, Sequence | np.ndarray):
        raise ValueError(f"width must be an integer >= 1 or a list of {depth} integers, got {width!r}")
    widths = list(width)
    if len(widths) != depth:
        raise ValueError(f"width has {len(widths)} entries but depth is {depth}; give one width per hidden layer")
    for w in widths:
        if not _is_int(w) or w < 1:
            raise ValueError(f"every width must be an integer >= 1, got {widths!r}")
    return [int(w) for w in widths]


def validate_hyperparameters(p: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for the first invalid hyperparameter in ``p`` (MLP keyword -> value)."""
    hidden_sizes(p["depth"], p["width"])
    _choice("activation", p["activation"], list(ACTIVATIONS))
    _real("dropout", p["dropout"], low=0.0, high=1.0, high_open=True)
    _real("l2", p["l2"], low=0.0)
    _bool("batch_norm", p["batch_norm"])
    _choice("optimizer", p["optimizer"], list(OPTIMIZERS))
    _real("lr", p["lr"], low=0.0, low_open=True)
    _int_in("batch_size", p["batch_size"], 1)
    _int_in("epochs", p["epochs"], 1)
    _int_in("seed", p["seed"], 0)
    _choice("dtype", p["dtype"], DTYPE_CHOICES)
    _real("momentum", p["momentum"], low=0.0, high=1.0, high_open=True)
    _real("rho", p["rho"], low=0.0, high=1.0, high_open=True)
    _real("beta1", p["beta1"], low=0.0, high=1.0, high_open=True)
    _real("beta2", p["beta2"], low=0.0, high=1.0, high_open=True)
    _real("eps", p["eps"], low=0.0, low_open=True)
    _real("weight_decay", p["weight_decay"], low=0.0)
    if p["clip_norm"] is not None:
        _real("clip_norm", p["clip_norm"], low=0.0, low_open=True)
    _choice("schedule", p["schedule"], SCHEDULE_CHOICES)
    _int_in("step_size", p["step_size"], 1)
    _real("gamma", p["gamma"], low=0.0, low_open=True)
    _real("decay_rate", p["decay_rate"], low=0.0, low_open=True)
    _real("min_lr", p["min_lr"], low=0.0)
    if p["schedule"] == "cosine" and _is_real(p["lr"]) and p["min_lr"] > p["lr"]:
        raise ValueError(f"min_lr must be <= lr for the cosine schedule, got min_lr={p['min_lr']!r} > lr={p['lr']!r}")
    if p["t_max"] is not None:
        _int_in("t_max", p["t_max"], 1)
    _choice("init", p["init"], INIT_CHOICES)
    _real("leaky_slope", p["leaky_slope"], low=0.0, high=1.0, high_open=True)
    _choice("task", p["task"], TASK_CHOICES)
    if p["n_classes"] is not None:
        _int_in("n_classes", p["n_classes"], 2)
        if p["task"] == "regression":
            raise ValueError("n_classes is only valid for classification, but task='regression'")
    _bool("standardize", p["standardize"])
    _bool("early_stopping", p["early_stopping"])
    _choice("monitor", p["monitor"], MONITOR_CHOICES)
    _choice("mode", p["mode"], MODE_CHOICES)
    _int_in("patience", p["patience"], 1)
    _real("min_delta", p["min_delta"], low=0.0)
    _bool("restore_best", p["restore_best"])
    _real("bn_momentum", p["bn_momentum"], low=0.0, high=1.0, high_open=True)
    _real("bn_eps", p["bn_eps"], low=0.0, low_open=True)
    _int_in("eval_batch_size", p["eval_batch_size"], 1)
    if not isinstance(p["verbose"], (bool, numbers.Integral)):
        raise ValueError(f"verbose must be a bool or an int, got {p['verbose']!r}")


def check_X(X: Any, *, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a 2-D float array after checking shape, dtype and finiteness.

    The result is only copied when the input is not already a float array.
    """
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be a 2-D numeric array of shape (n_samples, n_features): {exc}") from None
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
        raise ValueError(f"{name} has {arr.shape[1]} features, but the model was fitted with {n_features} features")
    return arr


def check_targets(y: Any, n_rows: int, *, name: str = "y", X_name: str = "X") -> np.ndarray:
    """Return ``y`` as an array after checking it is 1-D/2-D, finite and matches ``n_rows``."""
    arr = np.asarray(y)
    if arr.ndim not in (1, 2) or arr.ndim == 0:
        raise ValueError(f"{name} must be a 1-D array of shape (n_samples,) or 2-D (n_samples, n_outputs), got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but {X_name} has {n_rows}; they must have the same length")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_labels(y: np.ndarray, n_classes: int | None, *, name: str = "y") -> np.ndarray:
    """Classification labels as int64 in ``0..n_classes-1`` (``n_classes=None``: only >= 0)."""
    if y.ndim != 1:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        else:
            raise ValueError(f"classification labels {name} must be 1-D integers 0..K-1, got shape {y.shape}")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise ValueError(
                f"classification labels {name} must be integers 0..K-1, got non-integer values; "
                "use task='regression' for continuous targets"
            )
    labels = y.astype(np.int64)
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or (n_classes is not None and hi >= n_classes):
        valid = f"0..{n_classes - 1}" if n_classes is not None else "0..K-1 (non-negative)"
        raise ValueError(f"classification labels {name} out of range: found {lo}..{hi}, valid range is {valid}")
    return labels
