"""The MLflow Model Registry: a logged model as a new version of a named model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def register_model(
    tracking_uri: str,
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
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
