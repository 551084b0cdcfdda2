"""Where nnexp looks for dataset files: argument, then ``$NNEXP_DATA_DIR``, then ``./data``."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "NNEXP_DATA_DIR"
DEFAULT_DATA_DIR = "data"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory: ``data_dir`` if given, else ``$NNEXP_DATA_DIR``, else ``./data``.

    The path is expanded (``~``) and made absolute against the current directory; it need not exist.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().absolute()


def resolve_under(value: str | os.PathLike[str] | None, base: str | os.PathLike[str]) -> Path | None:
    """A configured path (``~`` expanded) taken relative to ``base`` (the launch directory).

    The one rule for every path in a config (``data.dir``, ``trainer.save_dir``,
    ``tracking.artifact_location``): a run, a sweep's best trial and a reproduction all read the
    same files whatever directory they run in. None stays None.
    """
    if value is None:
        return None
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else Path(base) / p


def config_data_dir(data_dir: str | os.PathLike[str] | None, base: str | os.PathLike[str]) -> str | None:
    """``data.dir`` of a config made absolute against ``base`` (None: the default lookup)."""
    path = resolve_under(data_dir, base)
    return None if path is None else str(path)
