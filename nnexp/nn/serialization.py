"""One ``.npz`` file per model, without pickle: the file side of ``MLP.save`` / ``MLP.load``.

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
from typing import Any

import numpy as np


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
