"""The dataset a config names, loaded the same way by a run, a sweep's best trial and a
reproduction: ``data.*`` keyword arguments, ``data.dir`` taken relative to the launch dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnexp.config.to_model import dataset_kwargs
from nnexp.data.paths import config_data_dir
from nnexp.errors import DataError


def load_config_dataset(cfg: Any, base: str | os.PathLike[str] | None = None) -> Any:
    """``load_dataset(**dataset_kwargs(cfg))`` with ``data.dir`` relative to ``base`` (cwd).

    A missing or broken file (``OSError``, ``ValueError`` from the loader) raises
    :class:`~nnexp.errors.DataError` (exit 2) naming the dataset and the loader's reason.
    """
    from nnexp.data import load_dataset

    kw = dataset_kwargs(cfg)
    kw["data_dir"] = config_data_dir(kw["data_dir"], base if base is not None else Path.cwd())
    try:
        return load_dataset(**kw)
    except (OSError, ValueError) as exc:
        raise DataError(f"data={cfg.data.name}: {exc}") from exc
