"""Faults of single runs through the real ``nnexp-train``: unsafe names, a killed run, signals,
divergence (see README "Faults")."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import NNEXP, NNEXP_TRAIN, Lines, cli_env

pytestmark = pytest.mark.slow


def nnexp_train(cwd: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NNEXP_TRAIN, *overrides],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (``/proc``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4: the parent's pid
            out.append(int(stat.parent.name))
    return out


@pytest.mark.parametrize(
    "override, key",
    [
        ("tracking.experiment=../x", "tracking.experiment"),
        ("tracking.run_name=../../etc/x", "tracking.run_name"),
    ],
)
def test_unsafe_names_are_refused_by_single_runs(tmp_path: Path, override: str, key: str) -> None:
    proc = nnexp_train(tmp_path, override, "trainer.epochs=1")
    assert proc.returncode == 2, proc.stderr
    assert f"{key} '" in proc.stderr and "is not a safe name" in proc.stderr
    assert "Traceback" not in proc.stderr and "epoch " not in proc.stdout
    assert not (tmp_path / "mlruns").exists() and not (tmp_path.parent / "x").exists()


# --- a run killed outright is marked KILLED by the next command ---------------------------------


def test_a_killed_run_is_marked_killed_by_the_next_command(tmp_path: Path, wait_for_epoch) -> None:
    import signal
    import socket

    from mlflow.tracking import MlflowClient

    from nnexp.tracking.liveness import HOST_TAG, PID_START_TAG, PID_TAG, process_tags

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    proc = subprocess.Popen(
        [
            NNEXP_TRAIN,
            "trainer.epochs=100000",
            "trainer.early_stopping.patience=100000",
            "model.width=8",
            "tracking.log_plots=false",
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        killed = wait_for_epoch(proc, uri)
        tags = MlflowClient(uri).get_run(killed).data.tags
        assert tags[HOST_TAG] == socket.gethostname() and tags[PID_TAG] == str(proc.pid)
        for child in _children(proc.pid):  # the tracking process too (else it ends the run KILLED)
            os.kill(child, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()  # type: ignore[union-attr]
    client = MlflowClient(uri)
    exp_id = client.get_experiment_by_name("nnexp").experiment_id
    assert client.get_run(killed).info.status == "RUNNING"  # nothing could end it
    mine = process_tags()  # this test process: alive
    live = client.create_run(exp_id, tags=mine).info.run_id
    other_host = client.create_run(
        exp_id, tags={**mine, HOST_TAG: "elsewhere", PID_TAG: str(proc.pid)}
    ).info.run_id
    reused_pid = client.create_run(exp_id, tags={**mine, PID_START_TAG: "1"}).info.run_id  # pid reused
    untagged = client.create_run(exp_id).info.run_id  # no process tags: unknown, left alone

    out = subprocess.run(
        [NNEXP, "studies"], cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert f"marked run {killed} KILLED" in out.stderr, out.stderr
    status = {r: client.get_run(r).info.status for r in (killed, live, other_host, reused_pid, untagged)}
    assert status == {
        killed: "KILLED",
        live: "RUNNING",
        other_host: "RUNNING",
        reused_pid: "KILLED",
        untagged: "RUNNING",
    }
    assert "died while the run was RUNNING" in client.get_run(killed).data.tags["nnexp.killed_reason"]

    # the next single run also cleans up (and runs)
    again = client.create_run(exp_id, tags={**mine, PID_START_TAG: "1"}).info.run_id
    done = nnexp_train(tmp_path, "trainer.epochs=1", "model.width=8", "tracking.log_plots=false")
    assert done.returncode == 0, done.stderr[-2000:]
    assert client.get_run(again).info.status == "KILLED" and client.get_run(live).info.status == "RUNNING"


# --- signals end quietly; divergence is the outcome -------------------------------------------


def _interrupt(
    tmp_path: Path, sig: int, *args: str, after: str = r"epoch +2/"
) -> tuple[subprocess.Popen, str, str]:
    """Start ``nnexp-train args``, send ``sig`` by pid once a stdout line matches ``after``."""
    import signal

    proc = subprocess.Popen(
        [NNEXP_TRAIN, *args],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if pytest ignores it
    )
    lines = Lines(proc)  # both pipes read as they come: neither fills and blocks the run
    lines.wait(after, 240)
    os.kill(proc.pid, sig)
    out, err = lines.finish(timeout=240)
    return proc, out, err


@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signals_end_a_run_quietly_and_killed(tmp_path: Path, name: str, code: int) -> None:
    import signal

    from mlflow.tracking import MlflowClient

    proc, out, err = _interrupt(  # once the run exists (the tracking process announces it)
        tmp_path,
        getattr(signal, name),
        "trainer.epochs=100000",
        "trainer.early_stopping.patience=100000",
        "model.width=8",
        after=r"MLflow run ",
    )
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"nnexp-train: interrupted by {name}"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    run_id = next(line.split()[2] for line in out.splitlines() if line.startswith("MLflow run "))
    assert (
        MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}").get_run(run_id).info.status == "KILLED"
    )


def test_sigterm_ends_a_sweep_quietly_with_143(tmp_path: Path) -> None:
    import signal

    proc, out, err = _interrupt(
        tmp_path,
        signal.SIGTERM,
        "-m",
        "hparams_search=digits",
        "hydra.sweeper.n_trials=4",
        "trainer.epochs=200",
        "trainer.early_stopping.patience=1000",
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.pruner=none",
        after=r"\[trial ",
    )
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-2:] == [
        "[sweep] interrupted; run the same command again to resume study 'digits'",
        "nnexp-train: interrupted by SIGTERM",
    ]


def test_a_run_diverging_at_once_reports_it_and_exits_1(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    proc = nnexp_train(tmp_path, "optimizer=sgd", "optimizer.lr=10", "trainer.epochs=5")
    assert proc.returncode == 1, proc.stderr
    assert "best val_loss (min): none (no epoch ended with finite values)" in proc.stdout
    assert "diverged: non-finite loss or weights in epoch 1; no finite epoch" in proc.stdout
    assert "inf" not in proc.stdout.split("stopped:")[1] and "test:" not in proc.stdout
    assert "nnexp-train: error: the run diverged" in proc.stderr
    assert "legend" not in proc.stderr.lower() and "Traceback" not in proc.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    (run,) = client.search_runs(
        [client.get_experiment_by_name("nnexp").experiment_id]
    )  # no epoch: no id line
    run_id = run.info.run_id
    assert run.data.tags["stop_reason"] == "diverged" and run.info.status == "FINISHED"
    assert not any(k.startswith("test_") for k in run.data.metrics)
    assert "weights" not in {a.path for a in client.list_artifacts(run_id)}
