"""Helpers shared by the test packages: wait for an event (``waiting``), run nnexp's commands
(``cli``), start and stop servers (``servers``), hold a sweep's trial at a step (``holding``).

Imported as ``helpers`` (``tests/`` is on ``sys.path``: pytest puts the directory of the
root ``conftest.py`` there, as for ``tests/loans.py``), the same under ``pytest`` from the
repository root and under ``scripts/test.sh``.
"""

from helpers.cli import BIN, FULL_ERRORS, MLFLOW, NNEXP, NNEXP_TRAIN, ONE_BLAS_THREAD, cli_env, run
from helpers.holding import Hold
from helpers.servers import MlflowServer, free_port, serve, stop_group, wait_http
from helpers.waiting import Lines, wait_for, wait_for_text

__all__ = [
    "BIN",
    "FULL_ERRORS",
    "MLFLOW",
    "NNEXP",
    "NNEXP_TRAIN",
    "ONE_BLAS_THREAD",
    "Hold",
    "Lines",
    "MlflowServer",
    "cli_env",
    "free_port",
    "run",
    "serve",
    "stop_group",
    "wait_for",
    "wait_for_text",
    "wait_http",
]
