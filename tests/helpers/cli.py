"""nnexp's commands as the tests run them: the executables next to the interpreter, their
environment, and one ``run``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: the virtual environment's bin directory (nnexp's console scripts, mlflow)
BIN = Path(sys.executable).parent
NNEXP_TRAIN = str(BIN / "nnexp-train")
NNEXP = str(BIN / "nnexp")
MLFLOW = str(BIN / "mlflow")
#: Hydra's whole traceback when a job fails (the sweep tests' logs)
FULL_ERRORS = {"HYDRA_FULL_ERROR": "1"}
#: one BLAS thread per process (many sweep processes share the machine's cores)
ONE_BLAS_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment for a command: no inherited tracking URI or Optuna
    storage, unbuffered output (lines arrive as printed), no telemetry, the venv's bin first
    on PATH (``mlflow models serve`` starts uvicorn from it); then ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NNEXP_OPTUNA_STORAGE")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        MLFLOW_ENABLE_TELEMETRY="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    env.update(extra)
    return env


def run(
    cmd: str, *args: str, cwd: Path, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (an executable's path, e.g. :data:`NNEXP_TRAIN`) with ``args`` in ``cwd``,
    output captured as text; the status is the caller's to check."""
    return subprocess.run(
        [cmd, *args],
        cwd=cwd,
        env=cli_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
