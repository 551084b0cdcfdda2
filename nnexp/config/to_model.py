"""The one place where config keys become ``nnexp.nn.MLP`` and ``load_dataset`` keywords."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from nnexp.nn.hyperparameters import BY_KEY

_DATA_EXTRAS = (
    "path",
    "target",
    "task",
    "delimiter",
    "sep",
    "encoding",
    "features",
    "drop",
    "max_categories",
    "impute_numeric",
    "impute_categorical",
    "n_samples",
    "noise",
    "data_seed",
    "max_train_samples",
    "subsample",
)
_CAST = {"int": int, "real": float, "bool": bool, "choice": str}


def _size(value: Any) -> Any:
    """A split size: fractions stay floats, whole numbers >= 1 become row counts."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value >= 1 else value


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def model_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments for ``MLP(**kw)``: every config key declared in
    ``nnexp.nn.hyperparameters`` (null keys are left out, so the MLP's default applies)."""
    kw: dict[str, Any] = {"verbose": False}
    for key, h in BY_KEY.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        if h.kind == "width":
            value = (
                [int(v) for v in value] if OmegaConf.is_list(value) or isinstance(value, list) else int(value)
            )
        else:
            value = _CAST[h.kind](value)
        kw[h.name] = value
    return kw


def dataset_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments for ``load_dataset(**kw)`` from ``cfg.data`` (seeded by ``trainer.seed``)."""
    d = cfg.data
    kw: dict[str, Any] = {
        "name": str(d.name),
        "data_dir": d.dir,
        "seed": int(cfg.trainer.seed),
        "val_size": _size(d.val_size),
        "test_size": _size(d.test_size),
    }
    for key in _DATA_EXTRAS:
        value = d.get(key)
        if value is not None:
            kw[key] = _plain(value)
    kw.update(_plain(d.options) or {})
    return kw
