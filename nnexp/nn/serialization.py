"""A model's state as plain data and its one ``.npz`` file, without pickle: ``MLP.state_dict`` /
``from_state`` / ``save`` / ``load`` (the :class:`Persistent` base of ``MLP``).

The model's state is plain data (:meth:`~nnexp.nn.MLP.state_dict`): ``meta``, a JSON-able
dict, stored as the 0-d unicode array ``__meta__``, and named numeric or unicode arrays
(weights ``param_000``..., batch-norm statistics ``bn_mean_<l>``/``bn_var_<l>``, input scaling
``scaler_offset_``/``scaler_scale_``, regression target scaling ``target_mean_``/``target_scale_``,
class labels ``classes_``), so the file loads with ``np.load(path, allow_pickle=False)``.

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

from .columns import ColumnTransform
from .hyperparameters import DEFAULTS

if TYPE_CHECKING:  # pragma: no cover
    from .mlp import MLP
    from .network import Network

FORMAT = "nnexp.nn.MLP"
#: 2: ``scaling`` (was ``standardize``), ``classes``, target scaling. 3: ``columns`` (the raw-table
#: transform, :mod:`nnexp.nn.columns`, in ``meta``; absent for a numeric matrix). Versions 1 and 2 still load.
VERSION = 3
#: The fitted scalars a model's ``meta["fitted"]`` holds (beside ``head``, ``sizes``, ``history_``).
FITTED = (
    "task_",
    "n_classes_",
    "n_features_in_",
    "n_outputs_",
    "_y_ndim",
    "stop_reason_",
    "best_epoch_",
    "best_score_",
    "n_epochs_run_",
)
#: The fitted arrays saved under their own names (absent when None).
ARRAYS = ("scaler_offset_", "scaler_scale_", "target_mean_", "target_scale_", "classes_")


def jsonable(value: Any) -> Any:
    """Hyperparameter values as plain JSON types.

    Tuples, numpy arrays/scalars and config containers (e.g. OmegaConf ``ListConfig`` widths
    handed over by Hydra) become lists, dicts and Python scalars.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (Sequence, np.ndarray)):
        return [jsonable(v) for v in value]
    raise ValueError(
        f"cannot store hyperparameter value {value!r} of type {type(value).__name__} in a model file"
    )


def write_state(path: str | Path, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``meta`` and ``arrays`` to ``path`` (exactly that name) atomically; return the path."""
    payload = {"__meta__": np.array(json.dumps(meta))}
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biufU":
            raise ValueError(f"cannot store array {name!r} of dtype {arr.dtype} without pickle")
        payload[name] = arr
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_state(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` as :func:`write_state` stored them (pickle disabled)."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "__meta__" not in data.files:
            raise ValueError(f"{path} is not an nnexp model file (no __meta__ entry)")
        meta = json.loads(str(data["__meta__"]))
        arrays = {name: data[name] for name in data.files if name != "__meta__"}
    return meta, arrays


def network_arrays(net: Network) -> dict[str, np.ndarray]:
    """The network's state by file name: ``param_000``... and ``bn_mean_<l>``/``bn_var_<l>``."""
    arrays = {f"param_{i:03d}": p for i, p in enumerate(net.params)}
    for l, (rm, rv) in enumerate(zip(net.running_mean, net.running_var)):
        arrays[f"bn_mean_{l}"], arrays[f"bn_var_{l}"] = rm, rv
    return arrays


def load_network_arrays(net: Network, arrays: Mapping[str, np.ndarray]) -> None:
    """Copy what :func:`network_arrays` wrote into ``net`` (built with the same sizes)."""
    for i, p in enumerate(net.params):
        stored = arrays[f"param_{i:03d}"]
        if stored.shape != p.shape:
            raise ValueError(f"parameter {i} has shape {stored.shape}, expected {p.shape}")
        p[...] = stored
    for l, (rm, rv) in enumerate(zip(net.running_mean, net.running_var)):
        rm[...], rv[...] = arrays[f"bn_mean_{l}"], arrays[f"bn_var_{l}"]


def upgrade_state(
    meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """``(hyperparameters, fitted, arrays)`` of a model state in the current version's terms.

    Refuses other formats and versions; version 1 (``standardize`` bool, labels ``0..K-1``,
    unscaled regression targets) is translated.
    """
    if meta.get("format") != FORMAT or meta.get("version") not in (1, 2, VERSION):
        raise ValueError(
            f"unsupported model format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this nnexp reads {FORMAT!r} versions 1 to {VERSION}"
        )
    hp, fitted = dict(meta["hyperparameters"]), meta["fitted"]
    arrays = dict(arrays)
    if meta["version"] == 1:
        hp["scaling"] = "standard" if hp.pop("standardize") else "none"
        hp.setdefault("validation_fraction", DEFAULTS["validation_fraction"])
        arrays["scaler_offset_"], arrays["scaler_scale_"] = (
            arrays.pop("scaler_mean"),
            arrays.pop("scaler_scale"),
        )
        if fitted["task_"] == "classification":
            arrays["classes_"] = np.arange(fitted["n_classes_"], dtype=np.int64)
        else:
            arrays["target_mean_"] = np.zeros(fitted["n_outputs_"])
            arrays["target_scale_"] = np.ones(fitted["n_outputs_"])
    return hp, fitted, arrays


class Persistent:
    """``MLP``'s state and file methods. The estimator provides ``get_params``,
    ``validate_params``, ``_check_initialized`` (the fitted network), ``_build_network`` and the
    fitted attributes named in :data:`FITTED` and :data:`ARRAYS`."""

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted model as plain data: ``(meta, arrays)``.

        ``meta`` is JSON-able (format, version, hyperparameters, fitted scalars, head, layer
        sizes, history); ``arrays`` holds numeric or unicode arrays only (``param_000``...,
        ``bn_mean_<l>``/``bn_var_<l>``, the scalings, ``classes_``), so the whole state saves
        and loads without pickle (:mod:`nnexp.nn.serialization`). :meth:`from_state` rebuilds
        an identical model.
        """
        net = self._check_initialized()
        fitted = {name: getattr(self, name) for name in FITTED}
        fitted.update(
            head=net.head,
            sizes=net.sizes,
            history_={k: [float(v) for v in vals] for k, vals in self.history_.items()},
        )
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "fitted": fitted,
            "hyperparameters": {k: jsonable(v) for k, v in self.get_params().items()},
        }
        if getattr(self, "columns_", None) is not None:
            meta["columns"] = self.columns_.to_state()
        arrays = network_arrays(net)
        arrays.update({name: getattr(self, name) for name in ARRAYS if getattr(self, name) is not None})
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> MLP:
        """Rebuild the model :meth:`state_dict` described; predictions match exactly."""
        hp, fitted, arrays = upgrade_state(meta, arrays)
        model = cls(**hp)
        model.validate_params()
        for name in FITTED:
            setattr(model, name, fitted[name])
        model.history_ = {k: list(v) for k, v in fitted["history_"].items()}
        for name in ARRAYS:
            setattr(model, name, arrays.get(name))
        net = model._build_network(fitted["head"], fitted["sizes"][-1])
        load_network_arrays(net, arrays)
        model.network_ = net
        if meta.get("columns") is not None:
            model.columns_ = ColumnTransform.from_state(meta["columns"])
        return model

    def save(self, path: str | Path) -> Path:
        """Write the model (hyperparameters, weights, batch-norm statistics, input and target
        scaling, classes) to one ``.npz``. Refuses (``ValueError``) non-finite weights."""
        if not self._check_initialized().all_finite():
            raise ValueError(
                "refusing to save a model with non-finite (NaN or inf) weights or batch-norm statistics"
            )
        return write_state(path, *self.state_dict())

    @classmethod
    def load(cls, path: str | Path) -> MLP:
        """Load a model written by :meth:`save` (``np.load(..., allow_pickle=False)``)."""
        try:
            return cls.from_state(*read_state(path))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
