"""The tracking process's head start: the costly imports and caches of a run's tracking,
done while the training process composes its config, loads data and trains.

Everything here only moves work earlier (the same imports and caches would be built when the
run needs them), so a failure is ignored: the real call reports it.
"""

from __future__ import annotations

import importlib

#: Imported as soon as the tracking process starts, before it knows the store: the MLflow
#: client and its SQL store (the default ``sqlite:///`` home), about two seconds.
PREIMPORTS = ("mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store")

#: Imported once the store and the experiment exist, while training runs: what the plots and
#: the servable model need (matplotlib's Agg canvas, MLflow's model code, the git context MLflow
#: reads for a LoggedModel's tags, the tracing set-up ``mlflow.set_tracking_uri`` resets).
WARM_IMPORTS = (
    "matplotlib.backends.backend_agg",
    "matplotlib.figure",
    "mlflow.models",
    "mlflow.pyfunc.loaders.code_model",
    "mlflow.tracing.processor.base_mlflow",
    "git",
    "nnexp.tracking.pyfunc",
)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start (optional modules may be absent)
            pass


def preimport() -> None:
    """Import :data:`PREIMPORTS` (called first thing in the tracking process)."""
    _import_all(PREIMPORTS)


def warm_up() -> None:
    """Import :data:`WARM_IMPORTS` and build MLflow's map of installed distributions.

    Logging a model checks its pinned requirements against the environment, which makes MLflow
    read the file list of every installed distribution once per process (about a second, the
    largest part of model logging); built here, it is cached when the model is logged.
    """
    _import_all(WARM_IMPORTS)
    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()
    except Exception:  # noqa: BLE001 - private API of MLflow: without it, logging builds it itself
        pass
