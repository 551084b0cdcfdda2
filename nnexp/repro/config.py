"""A recorded config made re-runnable: as trained, minus the sweep-trial plumbing.

Sweep workers train each trial with ``trainer.save_dir=<trial dir>``, ``trainer.progress=false``
and ``tracking.log_plots=false``; none changes the numbers, so they go back to the defaults.
``trainer.threads=null`` (leave BLAS as it is) is pinned to the BLAS thread count the run
recorded, so the re-run multiplies matrices the same way.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: Hydra settings of a standalone config (as ``conf/config.yaml`` has them).
HYDRA_SETTINGS: dict[str, Any] = {
    "job": {"chdir": False},
    "run": {"dir": "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"},
}


def rerunnable(config: Mapping[str, Any], blas_threads: int | None = None) -> dict[str, Any]:
    """A deep copy of ``config`` with trial-only settings reset and BLAS threads pinned."""
    cfg: dict[str, Any] = copy.deepcopy(dict(config))
    cfg.pop("hydra", None)
    trainer = cfg.setdefault("trainer", {})
    trainer["save_dir"] = None
    trainer["progress"] = True
    cfg.setdefault("tracking", {})["log_plots"] = True
    if trainer.get("threads") is None and blas_threads:
        trainer["threads"] = int(blas_threads)
    return cfg


def as_dictconfig(config: Mapping[str, Any]) -> DictConfig:
    """``config`` typed and checked against nnexp's schema (what ``nnexp-train`` composes)."""
    from nnexp.config.schema import Config

    return OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(dict(config)))  # type: ignore[return-value]


def config_name(text: str) -> str:
    """A file-name-safe config name (``digits``, ``digits-moons``, ``my_study``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "best"


def write_standalone(
    config: Mapping[str, Any], path: str | os.PathLike[str], header: Sequence[str] = ()
) -> Path:
    """Write ``config`` as a primary Hydra config for ``nnexp-train --config-path --config-name``.

    The file starts from the schema (``defaults: [base_config, _self_]``), so Hydra type-checks
    it exactly as it does ``conf/config.yaml``; every value is spelled out (no config groups).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"defaults": ["base_config", "_self_"], "hydra": HYDRA_SETTINGS, **dict(config)}
    as_dictconfig(config)  # refuse to write what nnexp-train would reject
    comments = "".join(f"# {line}\n" for line in header)
    path.write_text(comments + OmegaConf.to_yaml(OmegaConf.create(body)))
    return path
