"""Read-only and full disks through the real ``nnexp-train`` (issue 23, points 4 and 5).

The disks are real: a small tmpfs mounted at the tracking home (``mlruns``), read-only or
full (the ``tmpfs`` fixture; skipped where mounting is not permitted). Root ignores file
permissions, a read-only mount it does not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FULL_ERRORS, NNEXP_TRAIN, cli_env, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from test_sweep_cli import SAFE  # noqa: E402

pytestmark = pytest.mark.slow

SMALL = ["trainer.epochs=2", "model.depth=1", "model.width=16"]
SWEEP = ["-m", "hparams_search=digits", *SMALL, *SAFE]


def _nnexp_train(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run(NNEXP_TRAIN, *args, cwd=cwd, timeout=timeout, env=cli_env(**FULL_ERRORS))


def _error_lines(stderr: str) -> list[str]:
    """stderr without MLflow's own INFO lines of a new store ("Creating initial ... tables")."""
    return [line for line in stderr.splitlines() if line.strip() and not _MLFLOW_INFO.match(line)]


_MLFLOW_INFO = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO mlflow\.")


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = _error_lines(proc.stderr)
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


def _fill(disk: Path) -> Path:
    """Fill the file system of ``disk`` to the last byte; returns the filler to delete."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 16, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _sweep_state(cwd: Path) -> tuple[dict[str, int], str]:
    """(trial states of study 'digits', the status of its MLflow parent run)."""
    from mlflow.tracking import MlflowClient
    from test_sweep_cli import study_of  # noqa: E402

    from nnexp.contract import ROLE_TAG

    states: dict[str, int] = {}
    for t in study_of(cwd).trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("nnexp")
    (parent,) = [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get(ROLE_TAG) == "sweep"]
    return states, parent.info.status


def test_a_full_disk_stops_the_sweep_at_once_and_the_same_command_resumes(tmp_path, tmpfs):
    """The launch dir (journal, MLflow store, sweep dir) on a 16 MB tmpfs, filled to the last
    byte once the sweep's first trial is done (issue 23, point 4): one line naming the disk,
    exit 3, at most one trial FAIL, the parent run FAILED; freed, the same command resumes."""
    disk = tmpfs(tmp_path / "launch", size="16m")
    args = [*SWEEP, "hydra.sweeper.n_trials=40"]
    proc = subprocess.Popen(
        [NNEXP_TRAIN, *args],
        cwd=disk,
        env=cli_env(**FULL_ERRORS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    filler = None
    for line in proc.stdout:
        if line.startswith("[trial ") and filler is None:
            filler = _fill(disk)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=300) == 3, stderr[-3000:]
    assert filler is not None
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    assert lines[0].startswith("nnexp-train: error: the disk is full: ") and f"left on {disk}" in lines[0]
    assert "run the same command again" in lines[0]
    filler.unlink()
    states, parent = _sweep_state(disk)
    assert states.get("FAIL", 0) <= 1 and "RUNNING" not in states, states
    # filled to the last byte, SQLite cannot even mark the parent run: the line says so
    unmarked = "the MLflow parent run could not be marked FAILED" in lines[0]
    assert parent == ("RUNNING" if unmarked else "FAILED"), (parent, lines[0])
    again = _nnexp_train(disk, *args)
    assert again.returncode == 0, again.stderr[-3000:]
    states, parent = _sweep_state(disk)
    assert states.get("COMPLETE", 0) + states.get("PRUNED", 0) == 40 and parent == "FINISHED", states


def test_a_full_tracking_home_ends_a_single_run_in_one_line(tmp_path, tmpfs):
    _fill(tmpfs(tmp_path / "mlruns", size="3m"))
    proc = _nnexp_train(tmp_path, *SMALL)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-3000:]
    line = _one_line(proc)
    assert (
        line.startswith("nnexp-train: error: the disk is full: ") and f"left on {tmp_path / 'mlruns'}" in line
    )
