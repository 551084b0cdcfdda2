"""MLflow tracking: store set-up, run lifecycle, params/metrics/artifacts and the pyfunc model.

mlflow itself is imported lazily (only when something is logged), keeping the CLI start fast.
"""

from typing import Any

from nnexp.tracking.masking import mask_secrets
from nnexp.tracking.params import config_params, flatten
from nnexp.tracking.store import (
    TrackingUnavailable,
    default_tracking_uri,
    ensure_tracking_store,
    probe_server,
    resolve_tracking_uri,
)

__all__ = [
    "TrackingUnavailable",
    "config_params",
    "default_tracking_uri",
    "ensure_tracking_store",
    "flatten",
    "log_servable_model",
    "mask_secrets",
    "probe_server",
    "resolve_tracking_uri",
]


def __getattr__(name: str) -> Any:
    if name == "log_servable_model":  # imports mlflow.pyfunc: only on demand
        from nnexp.tracking.pyfunc import log_servable_model

        return log_servable_model
    raise AttributeError(f"module 'nnexp.tracking' has no attribute {name!r}")
