"""Put a reproduced model into the MLflow Model Registry as a new version of a named model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Optional

from nnexp.tracking.masking import mask_secrets


def register_model(
    tracking_uri: str,
    model_uri: str,
    name: str,
    *,
    tags: Optional[Mapping[str, Any]] = None,
    description: str = "",
) -> Any:
    """Register ``model_uri`` (``models:/<model id>``) as a new version of ``name``; return the
    ``ModelVersion`` (serve it with ``mlflow models serve -m models:/<name>/<version>``).

    The registry is the tracking store itself (SQLite or a tracking server).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    from nnexp.tracking.pyfunc import _quiet_mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with _quiet_mlflow():
        version = mlflow.register_model(
            model_uri, name, tags={str(k): str(v) for k, v in (tags or {}).items()}
        )
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if description:
        client.update_model_version(name, version.version, description=description)
    return client.get_model_version(name, version.version)


def serve_command(name: str, version: Any, tracking_uri: str, port: int = 5001) -> str:
    """The shell command that serves a registered version locally, in this environment (its
    ``bin`` first on ``PATH``: ``mlflow models serve`` starts ``uvicorn`` from there)."""
    bin_dir = Path(sys.executable).parent
    return (
        f"PATH={bin_dir}:$PATH MLFLOW_TRACKING_URI={mask_secrets(tracking_uri)} mlflow models serve "
        f"-m models:/{name}/{version} --env-manager local -h 127.0.0.1 -p {port}"
    )
