"""MLflow imported in a background thread while Hydra composes and the data loads (a single
run's head start). Only moves work earlier: a failure is ignored, the real import reports it."""

from __future__ import annotations

import importlib
import threading

#: The MLflow client and its SQL store, then what the end of a run needs (model logging, plots).
MODULES = (
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.models",
    "matplotlib.backends.backend_agg",
    "matplotlib.figure",
)


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start
            pass


def start() -> threading.Thread:
    """Start importing :data:`MODULES` in a daemon thread."""
    thread = threading.Thread(target=_import_all, name="nnexp-warmup", daemon=True)
    thread.start()
    return thread
