"""Saving and loading an :class:`~nnexp.nn.MLP` as one ``.npz`` file without pickle.

Layout of the archive (every entry a plain numeric or unicode array, so it loads with
``np.load(path, allow_pickle=False)``):

* ``__meta__``: 0-d unicode array holding JSON with ``format``, ``version``, the
  hyperparameters (``MLP.get_params()``), the fitted attributes needed for inference
  (task, classes, sizes) and the training summary (history, stop reason, best epoch/score).
* ``param_000``, ``param_001``, ...: the arrays of ``MLP.params`` in order.
* ``bn_mean_0``, ``bn_var_0``, ...: batch-norm running statistics per hidden layer.
* ``scaler_mean``, ``scaler_scale``: the standardization fitted on the training X (float64).

The file is written to a temporary name in the same directory and renamed into place, so a
crash never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .network import Network
from .validation import hidden_sizes

if TYPE_CHECKING:  # pragma: no cover
    from .mlp import MLP

FORMAT = "nnexp.nn.MLP"
VERSION = 1


def _jsonable(value: Any) -> Any:
    """Hyperparameter values as plain JSON types.

    Tuples, numpy arrays/scalars and config containers (e.g. OmegaConf ``ListConfig`` widths
    handed over by Hydra) become lists, dicts and Python scalars.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (Sequence, np.ndarray)):
        return [_jsonable(v) for v in value]
    raise ValueError(f"cannot store hyperparameter value {value!r} of type {type(value).__name__} in a model file")


def save_model(model: MLP, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (exactly that name); refuse non-finite weights."""
    net = model._check_initialized()
    if not net.all_finite():
        raise ValueError("refusing to save a model with non-finite (NaN or inf) weights or batch-norm statistics")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "hyperparameters": {k: _jsonable(v) for k, v in model.get_params().items()},
        "fitted": {
            "task_": model.task_,
            "n_classes_": model.n_classes_,
            "n_features_in_": model.n_features_in_,
            "n_outputs_": model.n_outputs_,
            "y_ndim": model._y_ndim,
            "head": net.head,
            "sizes": net.sizes,
            "stop_reason_": model.stop_reason_,
            "best_epoch_": model.best_epoch_,
            "best_score_": model.best_score_,
            "n_epochs_run_": model.n_epochs_run_,
            "history_": {k: [float(v) for v in vals] for k, vals in model.history_.items()},
        },
    }
    arrays: dict[str, np.ndarray] = {"__meta__": np.array(json.dumps(meta))}
    for i, p in enumerate(net.params):
        arrays[f"param_{i:03d}"] = p
    for l, (rm, rv) in enumerate(zip(net.running_mean, net.running_var)):
        arrays[f"bn_mean_{l}"] = rm
        arrays[f"bn_var_{l}"] = rv
    arrays["scaler_mean"] = np.asarray(model.scaler_mean_, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(model.scaler_scale_, dtype=np.float64)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_model(path: str | Path, cls: type[MLP]) -> MLP:
    """Rebuild the model stored at ``path`` (pickle disabled); predictions match the saved one exactly."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "__meta__" not in data.files:
            raise ValueError(f"{path} is not an nnexp model file (no __meta__ entry)")
        meta = json.loads(str(data["__meta__"]))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(
                f"{path}: unsupported model format {meta.get('format')!r} version {meta.get('version')!r}; "
                f"this nnexp reads {FORMAT!r} version {VERSION}"
            )
        arrays = {name: data[name] for name in data.files if name != "__meta__"}

    hp = meta["hyperparameters"]
    fitted = meta["fitted"]
    model = cls(**hp)
    model.validate_params()
    sizes = fitted["sizes"]
    net = Network(
        sizes[0],
        hidden_sizes(model.depth, model.width),
        sizes[-1],
        activation=model.activation,
        head=fitted["head"],
        batch_norm=bool(model.batch_norm),
        dtype=np.dtype(model.dtype),
        leaky_slope=float(model.leaky_slope),
        bn_momentum=float(model.bn_momentum),
        bn_eps=float(model.bn_eps),
    )
    params = net.params
    for i, p in enumerate(params):
        stored = arrays[f"param_{i:03d}"]
        if stored.shape != p.shape:
            raise ValueError(f"{path}: parameter {i} has shape {stored.shape}, expected {p.shape}")
        p[...] = stored
    for l, (rm, rv) in enumerate(zip(net.running_mean, net.running_var)):
        rm[...] = arrays[f"bn_mean_{l}"]
        rv[...] = arrays[f"bn_var_{l}"]
    model.network_ = net
    model.scaler_mean_ = arrays["scaler_mean"]
    model.scaler_scale_ = arrays["scaler_scale"]
    model.task_ = fitted["task_"]
    model.n_classes_ = fitted["n_classes_"]
    model.n_features_in_ = fitted["n_features_in_"]
    model.n_outputs_ = fitted["n_outputs_"]
    model._y_ndim = fitted["y_ndim"]
    model.stop_reason_ = fitted["stop_reason_"]
    model.best_epoch_ = fitted["best_epoch_"]
    model.best_score_ = fitted["best_score_"]
    model.n_epochs_run_ = fitted["n_epochs_run_"]
    model.history_ = {k: list(v) for k, v in fitted["history_"].items()}
    return model
