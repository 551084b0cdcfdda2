"""Many workers, killed workers: real ``nnexp-train -m`` processes and real signals against the
local default storage (journal + SQLite) and PostgreSQL + an MLflow server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from helpers import Hold, wait_for
from scale_sweeps import check_invariants, load, start_sweep, trial_runs, wait_all

from nnexp.contract import (
    FAIL_REASON_ATTR,
    FAIL_REASON_TAG,
    PID_ATTR,
    RETRIED_ATTR,
    RETRY_OF_ATTR,
    TRIAL_TAG,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(params=["local", "postgres"])
def backend(request, tmp_path: Path) -> dict:
    """Where a test's sweep records: storage URL, tracking URI, extra environment."""
    if request.param == "local":
        return {
            "name": "local",
            "storage": f"journal:{tmp_path / 'mlruns' / 'optuna' / 'journal.log'}",
            "tracking": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
            "overrides": [],
            "env": {},
        }
    pg = request.getfixturevalue("pg")
    server = request.getfixturevalue("mlflow_server")
    storage = request.getfixturevalue("optuna_db")  # with the password: from the environment
    return {
        "name": "postgres",
        "storage": storage,
        "tracking": server.url,
        "overrides": [f"tracking.uri={server.url}"],
        "env": {"NNEXP_OPTUNA_STORAGE": storage},
        "password": pg.password,
    }


def _no_password_anywhere(backend: dict, tmp_path: Path, runs: list) -> None:
    secret = backend.get("password")
    if not secret:
        return
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"password written to {path}"
    for run in runs:
        text = repr(run.data.params) + repr(run.data.tags)
        assert secret not in text, f"password in params/tags of {run.info.run_id}"


def test_four_workers_record_every_trial_once(backend: dict, tmp_path: Path) -> None:
    """Local: Hydra's joblib launcher, 4 worker processes. PostgreSQL: 4 independent sweepers
    joining one study by name (as on 4 machines). 4 x 5 trials, none lost, none extra."""
    study, n_trials = "conc", 20
    common = [
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        *backend["overrides"],
    ]
    if backend["name"] == "local":
        started = [start_sweep(tmp_path, "s0", *common, "hydra.sweeper.n_jobs=4", extra_env=backend["env"])]
    else:
        started = [start_sweep(tmp_path, f"s{i}", *common, extra_env=backend["env"]) for i in range(4)]
    wait_all([p for p, _ in started], [log for _, log in started])
    st = load(backend["storage"], study)
    client, runs = trial_runs(backend["tracking"], study)
    states = check_invariants(st, client, runs, n_trials)
    assert len(st.trials) == n_trials and states.get("COMPLETE", 0) == n_trials, states
    pids = {t.user_attrs[PID_ATTR] for t in st.trials}
    assert len(pids) == 4, f"trials ran in {len(pids)} worker processes, not 4"
    for _, log in started:
        assert "database is locked" not in log.read_text()
    _no_password_anywhere(backend, tmp_path, runs)


def _logged_epochs(backend: dict, study: str, number: int) -> int:
    """val_loss points stored so far in the MLflow run of trial ``number`` (0 if none yet)."""
    try:
        client, runs = trial_runs(backend["tracking"], study)
    except Exception:  # noqa: BLE001 - store or experiment not created yet
        return 0
    run = next((r for r in runs if r.data.tags.get(TRIAL_TAG) == str(number)), None)
    if run is None:
        return 0
    return len(client.get_metric_history(run.info.run_id, "val_loss"))


def test_sigkilled_worker_trial_fails_is_retried_and_the_sweep_completes(
    backend: dict, tmp_path: Path
) -> None:
    """SIGKILL one of two sweeper processes in the middle of a trial: the survivor marks that
    trial FAIL (dead pid), runs its params again (max_retries=1), marks the run FAILED, and
    the study still reaches n_trials with every other trial and metric intact."""
    study, n_trials = "kill", 8
    common = [
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.max_retries=1",
        *backend["overrides"],
        # trials of about a second, so the one picked below is still running at the kill
        "trainer.epochs=60",
        "trainer.early_stopping.enabled=false",
    ]
    # the survivor's first trial waits for the kill (else, while the victim is held, it could
    # run every other trial and exit before there is a dead trial to reap); the victim's first
    # trial stops at its 2nd epoch
    waiting, hold = Hold(tmp_path / "survivor-hold"), Hold(tmp_path / "hold", step=2)
    survivor = start_sweep(tmp_path, "survivor", *common, extra_env={**backend["env"], **waiting.env()})
    victim, victim_log = start_sweep(tmp_path, "victim", *common, extra_env={**backend["env"], **hold.env()})
    ((number, _),) = hold.wait(proc=victim, log=victim_log).items()
    # epoch metrics reach MLflow from a writer process: kill once one is stored, so "logged
    # before the kill" below is about what the store really holds (the trial cannot move)
    wait_for(
        lambda: _logged_epochs(backend, study, number) >= 1, 120, f"an epoch of trial {number} in MLflow"
    )
    killed = load(backend["storage"], study).trials[number]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(10)
    waiting.release()
    wait_all([survivor[0]], [survivor[1]])
    st = load(backend["storage"], study)
    client, runs = trial_runs(backend["tracking"], study)
    check_invariants(st, client, runs, n_trials)
    dead = st.trials[killed.number]
    assert dead.state.name == "FAIL" and "died" in dead.user_attrs[FAIL_REASON_ATTR]
    assert dead.user_attrs.get(RETRIED_ATTR) is True
    retries = [t for t in st.trials if t.user_attrs.get(RETRY_OF_ATTR) == killed.number]
    assert len(retries) == 1 and retries[0].params == killed.params
    assert retries[0].state.name == "COMPLETE"
    run = next(r for r in runs if r.data.tags[TRIAL_TAG] == str(killed.number))
    seen = (run.info.status, run.data.tags, dead.user_attrs)
    assert run.info.status == "FAILED" and "died" in run.data.tags.get(FAIL_REASON_TAG, ""), seen
    # the killed trial's epochs logged before the kill are still there, once each
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
    assert len(steps) == len(set(steps)) >= 1
    _no_password_anywhere(backend, tmp_path, runs)


def _loky_workers(sweeper: int) -> set[int]:
    """The sweeper's loky worker processes (its children; not loky's resource tracker)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == sweeper and "loky" in cmdline and "resource_tracker" not in cmdline:
            out.add(int(entry))
    return out


def _kill_one_of_two(backend: dict, study: str, proc, log: Path, hold: Hold) -> tuple:
    """Once both workers hold a trial (at its first epoch), ``kill -9`` one of them by pid and
    let the other go on. Returns (killed pid, the other worker's pid, its running trial's
    number, the highest trial number at the kill, the worker pids seen)."""
    held = hold.wait(2, 180, proc=proc, log=log)
    workers = _loky_workers(proc.pid)
    trials = load(backend["storage"], study).get_trials(deepcopy=False)
    (_, pid), (other_trial, other) = sorted(held.items())
    os.kill(pid, signal.SIGKILL)  # exactly one worker, by pid
    hold.release()
    return pid, other, other_trial, max(t.number for t in trials), workers


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_one_worker_killed_by_pid_is_replaced_and_the_sweep_completes(backend: dict, tmp_path: Path) -> None:
    """``kill -9`` ONE worker of ``n_jobs=2`` (by pid, while both run a trial): the sweep does
    not abort -- the dead worker's trial is FAIL ("worker process <pid> ... died"), its run
    FAILED, its params run again (max_retries=1); the OTHER worker carries on (nnexp's launcher
    gives each worker its own process: its trial running at the kill COMPLETES and it runs
    later trials), a replacement worker starts at once, and the sweep reaches n_trials and
    exits 0 with nothing left RUNNING."""
    study, n_trials, epochs = "onedead", 4, 100
    common = [
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.max_retries=1",
        *backend["overrides"],
        "hydra.sweeper.sampler.seed=0",
        # long trials (no early stop), so the one picked below still runs at the kill
        f"trainer.epochs={epochs}",
        "trainer.early_stopping.enabled=false",
    ]
    hold = Hold(tmp_path / "hold")  # every worker stops at its first trial's first epoch
    proc, log = start_sweep(tmp_path, "s", *common, extra_env={**backend["env"], **hold.env()})
    killed, other, other_trial, last, workers = _kill_one_of_two(backend, study, proc, log, hold)
    wait_all([proc], [log])
    text = log.read_text()
    assert "a worker process died" in text and "TerminatedWorkerError" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    # trials were left at the death (the other worker held one of <= n_trials - 1 counted)
    assert "starting a replacement worker" in text, text[-3000:]
    st = load(backend["storage"], study)
    client, runs = trial_runs(backend["tracking"], study)
    states = check_invariants(st, client, runs, n_trials)
    # the trial the killed pid was running (found by pid: the kill may land in its next trial)
    dead = [t for t in st.trials if t.user_attrs.get(PID_ATTR) == killed and t.state.name == "FAIL"]
    assert len(dead) == 1, states
    dead = dead[0]
    assert f"worker process {killed} on" in dead.user_attrs[FAIL_REASON_ATTR]
    assert "died" in dead.user_attrs[FAIL_REASON_ATTR]
    assert dead.user_attrs.get(RETRIED_ATTR) is True
    retries = [t for t in st.trials if t.user_attrs.get(RETRY_OF_ATTR) == dead.number]
    assert len(retries) == 1 and retries[0].params == dead.params
    assert retries[0].state.name == "COMPLETE"
    run = next(r for r in runs if r.data.tags[TRIAL_TAG] == str(dead.number))
    assert run.info.status == "FAILED" and "died" in run.data.tags[FAIL_REASON_TAG]
    # the other worker carried on: its trial running at the kill completed, and it (the same
    # process) ran trials created after the kill
    assert st.trials[other_trial].state.name == "COMPLETE", states
    assert st.trials[other_trial].user_attrs[PID_ATTR] == other
    after = [t for t in st.trials if t.number > last and t.user_attrs.get(PID_ATTR) == other]
    assert after and all(t.state.name == "COMPLETE" for t in after), states
    assert states.get("COMPLETE") == n_trials, states
    assert killed in workers and other in workers
    _no_password_anywhere(backend, tmp_path, runs)
