"""The dataset a config names, loaded the same way by a run, a sweep's best trial and a
reproduction: ``data.*`` keyword arguments, ``data.dir`` taken relative to the launch dir."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from nnexp.config.to_model import dataset_kwargs
from nnexp.data.paths import config_data_dir
from nnexp.errors import DataError

#: A CSV file from this size on is announced while it loads (file, size), then its time.
ANNOUNCE_BYTES = 20 * 1024 * 1024


def _big_file(kw: dict[str, Any]) -> Path | None:
    """The CSV file ``kw`` names, when it is big enough to announce."""
    if kw.get("name") != "csv" or not kw.get("path"):
        return None
    from nnexp.data.tabular import resolve_csv_path

    try:
        file = resolve_csv_path(kw["path"], kw["data_dir"])
    except FileNotFoundError:
        return None  # the loader says so
    return file if file.stat().st_size >= ANNOUNCE_BYTES else None


def load_config_dataset(cfg: Any, base: str | os.PathLike[str] | None = None) -> Any:
    """``load_dataset(**dataset_kwargs(cfg))`` with ``data.dir`` relative to ``base`` (cwd).

    A big CSV file is announced (``loading <file> (<size> MB) ...``) and its time said, with
    ``trainer.progress``. A missing or broken file (``OSError``, ``ValueError`` from the
    loader) raises :class:`~nnexp.errors.DataError` (exit 2) naming the dataset and the
    loader's reason.
    """
    from nnexp.data import load_dataset

    kw = dataset_kwargs(cfg)
    kw["data_dir"] = config_data_dir(kw["data_dir"], base if base is not None else Path.cwd())
    big = _big_file(kw) if cfg.trainer.get("progress", True) else None
    if big is not None:
        print(f"loading {big} ({big.stat().st_size / 1e6:.0f} MB) ...", flush=True)
    started = time.perf_counter()
    try:
        ds = load_dataset(**kw)
    except (OSError, ValueError) as exc:
        raise DataError(f"data={cfg.data.name}: {exc}") from exc
    if big is not None:
        print(f"loaded and split in {time.perf_counter() - started:.1f}s", flush=True)
    return ds
