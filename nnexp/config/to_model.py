"""The one place where config keys become ``nnexp.nn.MLP`` and ``load_dataset`` keywords."""

from __future__ import annotations

from typing import Any, Dict

from omegaconf import DictConfig, OmegaConf

from nnexp.config.validate import resolve_mode

_OPTIMIZER_EXTRAS = (
    "momentum", "rho", "beta1", "beta2", "eps", "weight_decay", "clip_norm",
    "gamma", "decay_rate", "min_lr",
)
_SCHEDULE_INTS = ("step_size", "t_max")
_DATA_EXTRAS = (
    "path", "target", "task", "delimiter", "n_samples", "noise", "data_seed",
    "max_train_samples", "subsample",
)


def _size(value: Any) -> Any:
    """A split size: fractions stay floats, whole numbers >= 1 become row counts."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value >= 1 else value


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def model_kwargs(cfg: DictConfig) -> Dict[str, Any]:
    """Keyword arguments for ``MLP(**kw)`` from ``cfg.model``, ``cfg.optimizer`` and ``cfg.trainer``."""
    m, o, t = cfg.model, cfg.optimizer, cfg.trainer
    es = t.early_stopping
    kw: Dict[str, Any] = {
        "depth": int(m.depth),
        "width": int(m.width),
        "activation": str(m.activation),
        "leaky_slope": float(m.leaky_slope),
        "dropout": float(m.dropout),
        "l2": float(m.l2),
        "batch_norm": bool(m.batch_norm),
        "init": str(m.init),
        "task": str(m.task),
        "standardize": bool(m.standardize),
        "dtype": str(m.dtype),
        "optimizer": str(o.name),
        "lr": float(o.lr),
        "schedule": str(o.schedule),
        "batch_size": int(t.batch_size),
        "epochs": int(t.epochs),
        "seed": int(t.seed),
        "early_stopping": bool(es.enabled),
        "monitor": str(es.monitor),
        "mode": resolve_mode(str(es.monitor), str(es.mode)),
        "patience": int(es.patience),
        "min_delta": float(es.min_delta),
        "restore_best": bool(es.restore_best),
        "verbose": False,
    }
    for key in _OPTIMIZER_EXTRAS:
        value = o.get(key)
        if value is not None:
            kw[key] = float(value)
    for key in _SCHEDULE_INTS:
        value = o.get(key)
        if value is not None:
            kw[key] = int(value)
    return kw


def dataset_kwargs(cfg: DictConfig) -> Dict[str, Any]:
    """Keyword arguments for ``load_dataset(**kw)`` from ``cfg.data`` (seeded by ``trainer.seed``)."""
    d = cfg.data
    kw: Dict[str, Any] = {
        "name": str(d.name),
        "data_dir": d.dir,
        "seed": int(cfg.trainer.seed),
        "val_size": _size(d.val_size),
        "test_size": _size(d.test_size),
    }
    for key in _DATA_EXTRAS:
        value = d.get(key)
        if value is not None:
            kw[key] = value
    kw.update(_plain(d.options) or {})
    return kw
