"""Faults of single runs through the real ``nnexp-train``: unsafe names, a killed run, signals,
divergence (see README "Faults")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NNEXP_TRAIN = Path(sys.executable).with_name("nnexp-train")

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def nnexp_train(cwd: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NNEXP_TRAIN), *overrides], cwd=cwd, env=_env(), capture_output=True, text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "override, key",
    [("tracking.experiment=../x", "tracking.experiment"), ("tracking.run_name=../../etc/x", "tracking.run_name")],
)
def test_unsafe_names_are_refused_by_single_runs(tmp_path: Path, override: str, key: str) -> None:
    proc = nnexp_train(tmp_path, override, "trainer.epochs=1")
    assert proc.returncode == 2, proc.stderr
    assert f"{key} '" in proc.stderr and "is not a safe name" in proc.stderr
    assert "Traceback" not in proc.stderr and "epoch " not in proc.stdout
    assert not (tmp_path / "mlruns").exists() and not (tmp_path.parent / "x").exists()
