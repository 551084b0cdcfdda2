"""Serving a registered model; registering it is :func:`nnexp.tracking.registry.register_model`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nnexp.tracking.masking import mask_secrets
from nnexp.tracking.registry import register_model  # noqa: F401 - re-exported


def serve_command(name: str, version: Any, tracking_uri: str, port: int = 5001) -> str:
    """The shell command that serves a registered version locally, in this environment (its
    ``bin`` first on ``PATH``: ``mlflow models serve`` starts ``uvicorn`` from there)."""
    bin_dir = Path(sys.executable).parent
    return (
        f"PATH={bin_dir}:$PATH MLFLOW_TRACKING_URI={mask_secrets(tracking_uri)} mlflow models serve "
        f"-m models:/{name}/{version} --env-manager local -h 127.0.0.1 -p {port}"
    )
