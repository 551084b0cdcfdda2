"""Read-only and full disks through the real ``nnexp-train`` (issue 23, points 4 and 5).

The disks are real: a small tmpfs mounted at the tracking home (``mlruns``), read-only or
full (the ``tmpfs`` fixture; skipped where mounting is not permitted). Root ignores file
permissions, a read-only mount it does not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from test_sweep_cli import CLI, SAFE, _env  # noqa: E402

pytestmark = pytest.mark.slow

SMALL = ["trainer.epochs=2", "model.depth=1", "model.width=16"]
SWEEP = ["-m", "hparams_search=digits", *SMALL, *SAFE]


def _nnexp_train(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("sweep", [True, False], ids=["sweep", "single-run"])
def test_a_read_only_tracking_home_is_refused_before_anything_runs(tmp_path, tmpfs, sweep):
    home = tmpfs(tmp_path / "mlruns", read_only=True)
    args = [*SWEEP, "hydra.sweeper.n_trials=2"] if sweep else SMALL
    proc = _nnexp_train(tmp_path, *args)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    line = _one_line(proc)
    assert f"{home} is not writable (read-only file system)" in line, line
    assert "epoch " not in proc.stdout and "[trial" not in proc.stdout
    assert not (tmp_path / "multirun").exists()


def test_a_read_only_sweep_dir_is_refused_before_any_trial(tmp_path, tmpfs):
    ro = tmpfs(tmp_path / "ro", read_only=True)
    proc = _nnexp_train(tmp_path, *SWEEP, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={ro}/sweep")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    line = _one_line(proc)
    assert f"cannot write the sweep's output at {ro}/sweep: {ro} is not writable" in line, line
    assert "hydra.sweep.dir" in line and "[trial" not in proc.stdout
