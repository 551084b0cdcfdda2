"""Running Hydra apps swept by nnexp as real subprocesses, and reading what they recorded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import FULL_ERRORS, cli_env, run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_app(
    script: Path, cwd: Path, *overrides: str, check: bool = True, timeout: float = 240
) -> subprocess.CompletedProcess:
    """``python <script> <overrides>`` in ``cwd`` (its mlruns/ lands there); fails the test
    with the output when ``check`` and the exit status is not 0."""
    proc = run(sys.executable, str(script), *overrides, cwd=cwd, timeout=timeout, env=cli_env(**FULL_ERRORS))
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{script} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def sweep_example(name: str, cwd: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python examples/<name>/app.py -m hydra.sweep.dir=<cwd>/sweep <overrides>``."""
    return run_app(
        EXAMPLES / name / "app.py", cwd, "-m", f"hydra.sweep.dir={cwd / 'sweep'}", *overrides, check=check
    )


def study_of(cwd: Path, name: str) -> Any:
    """The study in the default journal file under ``cwd``."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    backend = JournalFileBackend(str(cwd / "mlruns" / "optuna" / "journal.log"))
    return optuna.load_study(study_name=name, storage=JournalStorage(backend))


def results_of(cwd: Path) -> dict[str, Any]:
    """``optimization_results.yaml`` of the sweep dir ``sweep_example`` uses."""
    import yaml

    return yaml.safe_load((cwd / "sweep" / "optimization_results.yaml").read_text())


def trial_lines(out: str) -> list[str]:
    """The ``[trial N] ...`` lines of a sweep's output."""
    return [line for line in out.splitlines() if line.startswith("[trial ")]
