"""The tracking process's head start: the costly imports and caches of a run's tracking,
done while the training process composes its config, loads data and trains.

Everything here only moves work earlier (the same imports and caches would be built when the
run needs them), so a failure is ignored: the real call reports it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator

#: Imported as soon as the tracking process starts, before it knows the store: the MLflow
#: client and its SQL store (the default ``sqlite:///`` home), about two seconds.
PREIMPORTS = ("mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store")

#: Imported once the store and the experiment exist, whenever the tracking process has nothing
#: else to do: what the servable model needs (MLflow's model code, the git context MLflow reads
#: for a LoggedModel's tags, the tracing set-up ``mlflow.set_tracking_uri`` resets), then what
#: the plots need (matplotlib's Agg canvas; last: a run that ends first has them drawn by the
#: training process instead).
WARM_IMPORTS = (
    "mlflow.models",
    "mlflow.pyfunc.loaders.code_model",
    "mlflow.tracing.processor.base_mlflow",
    "git",
    "nnexp.tracking.pyfunc",
)
PLOT_IMPORTS = ("matplotlib.backends.backend_agg", "matplotlib.figure")


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start (optional modules may be absent)
            pass


def preimport() -> None:
    """Import :data:`PREIMPORTS` (called first thing in the tracking process)."""
    _import_all(PREIMPORTS)


def _packages_map() -> None:
    """MLflow's map of installed distributions. Logging a model checks its pinned requirements
    against the environment, which makes MLflow read the file list of every installed
    distribution once per process (a third of a second); built here, it is cached then."""
    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()
    except Exception:  # noqa: BLE001 - private API of MLflow: without it, logging builds it itself
        pass


def warm_up_steps() -> Iterator[Callable[[], None]]:
    """The warm-up in small steps (each a fraction of a second), so the tracking process can
    take a message between two of them: :data:`WARM_IMPORTS`, the packages map, then
    :data:`PLOT_IMPORTS`."""
    for name in WARM_IMPORTS:
        yield functools.partial(_import_all, (name,))
    yield _packages_map
    yield functools.partial(_import_all, PLOT_IMPORTS)
