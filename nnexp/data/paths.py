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
