"""Services going away mid-sweep, with real processes: the MLflow tracking server SIGKILLed (and
restarted on the same port), the PostgreSQL server behind the Optuna storage stopped, and the
whole sweep SIGKILLed and rerun on PostgreSQL + an MLflow server.

A sweep must never hang on a lost service: the trial in progress fails with a reason naming
what was lost, the worker probes with backoff for ``hydra.sweeper.reconnect_timeout`` seconds,
then either continues (the study still reaches ``n_trials``) or stops with a clear message and
exit status 3.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import Hold, MlflowServer, wait_for_text
from scale_servers import PostgresCluster
from scale_sweeps import check_invariants, load, start_sweep, trial_runs, wait_all

from nnexp.contract import (
    FAIL_REASON_ATTR,
    FAIL_REASON_TAG,
    RETRIED_ATTR,
    RETRY_OF_ATTR,
    TRIAL_TAG,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

_names = itertools.count()
#: trials of about a second: time to catch one RUNNING
LONG = ["trainer.epochs=15", "trainer.early_stopping.enabled=false"]


@pytest.fixture
def own_server(pg: PostgresCluster, tmp_path: Path):
    """An MLflow server this test may kill (the module's shared one must stay up)."""
    db = pg.create_database(f"mlflow_fault_{next(_names)}")
    server = MlflowServer(db, tmp_path / "server" / "root", pg.env()).start()
    try:
        yield server
    finally:
        server.stop()


def _hold_running(storage: str, study: str, proc: subprocess.Popen, log: Path, hold: Hold) -> Any:
    """The trial ``hold`` stops (its worker wrote the event), as the store holds it."""
    ((number, _),) = hold.wait(1, 90, proc=proc, log=log).items()
    return load(storage, study).get_trials(deepcopy=False)[number]


def _wait_exit(proc: subprocess.Popen, log: Path, within: float) -> int:
    try:
        return proc.wait(within)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"sweep hung (> {within}s):\n{log.read_text()[-4000:]}") from None


def test_tracking_server_lost_for_good_fails_the_trial_and_stops(
    own_server: MlflowServer, tmp_path: Path
) -> None:
    """SIGKILL the MLflow server mid-trial and never bring it back: that trial is FAIL with a
    reason naming the server, the worker retries for reconnect_timeout (8 s) and the sweep
    exits 3 with a message saying what is unreachable and how to resume; no trial is left
    RUNNING and no further trial is burnt."""
    study, storage = "lost", f"journal:{tmp_path / 'mlruns/optuna/journal.log'}"
    hold = Hold(tmp_path / "hold", step=2)
    proc, log = start_sweep(
        tmp_path,
        "s",
        *LONG,
        f"tracking.uri={own_server.url}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.reconnect_timeout=8",
        extra_env=hold.env(),
    )
    victim = _hold_running(storage, study, proc, log, hold)
    own_server.kill()
    hold.release()
    killed_at = time.time()
    rc = _wait_exit(proc, log, 60)
    took = time.time() - killed_at
    text = log.read_text()
    assert rc == 3, text[-3000:]
    assert took < 40, f"exit {took:.0f}s after the kill"
    assert f"MLflow tracking server at {own_server.url}" in text, text[-3000:]
    assert "did not come back within 8s (hydra.sweeper.reconnect_timeout)" in text
    assert "run the same command again to resume" in text
    assert "Traceback" not in text
    trials = load(storage, study).get_trials(deepcopy=False)
    failed = trials[victim.number]
    assert failed.state.name == "FAIL"
    reason = failed.user_attrs[FAIL_REASON_ATTR]
    assert f"MLflow tracking server {own_server.url} unreachable" in reason, reason
    assert not [t for t in trials if t.state.name == "RUNNING"]
    assert len(trials) == victim.number + 1, "trials after the lost one were started and burnt"


def test_tracking_server_back_in_time_the_sweep_completes(own_server: MlflowServer, tmp_path: Path) -> None:
    """SIGKILL the MLflow server mid-trial, restart it on the same port once the worker waits
    for it: the trial in progress is FAIL (reason names the server) and, with max_retries=1,
    its params run again; the sweep exits 0 with exactly n_trials counted, each trial once in MLflow."""
    study, n_trials = "back", 4
    storage = f"journal:{tmp_path / 'mlruns/optuna/journal.log'}"
    hold = Hold(tmp_path / "hold", first=1, step=2)  # a trial after one completed
    proc, log = start_sweep(
        tmp_path,
        "s",
        *LONG,
        f"tracking.uri={own_server.url}",
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.reconnect_timeout=45",
        "hydra.sweeper.max_retries=1",
        extra_env=hold.env(),
    )
    victim = _hold_running(storage, study, proc, log, hold)
    own_server.kill()
    hold.release()
    # back once the worker has noticed (an event, not a delay: a busy machine may take longer)
    wait_for_text(log, "waiting for it to come back", 60, proc=proc)
    own_server.start()
    wait_all([proc], [log], timeout=120)
    text = log.read_text()
    assert "reachable again after" in text, text[-3000:]
    st = load(storage, study)
    client, runs = trial_runs(own_server.url, study)
    states = check_invariants(st, client, runs, n_trials)
    failed = st.trials[victim.number]
    assert failed.state.name == "FAIL", states
    assert f"MLflow tracking server {own_server.url} unreachable" in failed.user_attrs[FAIL_REASON_ATTR]
    assert failed.user_attrs.get(RETRIED_ATTR) is True
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF_ATTR) == victim.number]
    assert len(retry) == 1 and retry[0].params == victim.params
    assert states.get("COMPLETE") == n_trials, states
    run = next(r for r in runs if r.data.tags[TRIAL_TAG] == str(victim.number))
    assert run.info.status == "FAILED" and "unreachable" in run.data.tags[FAIL_REASON_TAG]


def test_optuna_database_lost_stops_the_sweep_with_a_clear_message(tmp_path: Path) -> None:
    """Stop the PostgreSQL server holding the Optuna study mid-trial (immediate shutdown, as a
    crash): the worker cannot record anything, probes for reconnect_timeout (6 s) and the sweep
    exits 3 within a bound, naming the storage (password masked) and how to resume."""
    from scale_servers import postgres_bin

    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install -y postgresql)")
    cluster = PostgresCluster().start()
    try:
        cluster.create_database("optuna")
        storage = cluster.url("optuna", password=True)
        study = "dbgone"
        hold = Hold(tmp_path / "hold", step=2)
        proc, log = start_sweep(
            tmp_path,
            "s",
            *LONG,
            f"hydra.sweeper.study_name={study}",
            "hydra.sweeper.n_trials=6",
            "hydra.sweeper.reconnect_timeout=6",
            extra_env={"NNEXP_OPTUNA_STORAGE": storage, **hold.env()},
        )
        _hold_running(storage, study, proc, log, hold)
        cluster.halt()
        hold.release()
        halted_at = time.time()
        rc = _wait_exit(proc, log, 60)
        took = time.time() - halted_at
    finally:
        cluster.stop()
    text = log.read_text()
    assert rc == 3, text[-3000:]
    assert took < 40, f"exit {took:.0f}s after the database stopped"
    assert (
        f"cannot reach the Optuna storage postgresql://nnexp:***@127.0.0.1:{cluster.port}/optuna" in text
    ), text[-3000:]
    assert "did not come back within 6s (hydra.sweeper.reconnect_timeout)" in text
    assert cluster.password not in text
    assert "Traceback" not in text


def test_whole_sweep_killed_and_rerun_on_postgres(
    pg: PostgresCluster, mlflow_server: MlflowServer, optuna_db: str, tmp_path: Path
) -> None:
    """SIGKILL the sweeper and its 2 worker processes mid-trial (PostgreSQL storage, MLflow
    server), rerun the same command: the killed trials become FAIL ("died"), every trial is
    once in Optuna and once in MLflow, finished trials are kept as they were, numbering
    continues and the study holds exactly n_trials."""
    study, n_trials = "rerun", 6
    args = [
        *LONG,
        f"tracking.uri={mlflow_server.url}",
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
    ]
    environ = {"NNEXP_OPTUNA_STORAGE": optuna_db}
    hold = Hold(tmp_path / "hold", first=2)  # trials 2 on stop at their first epoch: 2 done
    proc, log = start_sweep(tmp_path, "s", *args, extra_env={**environ, **hold.env()})
    hold.wait(1, 120, proc=proc, log=log)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweeper and its workers: one process group
    proc.wait(10)
    before = {t.number: t for t in load(optuna_db, study).get_trials(deepcopy=False)}
    interrupted = [n for n, t in before.items() if t.state.name == "RUNNING"]
    assert interrupted and len(before) < n_trials, {n: t.state.name for n, t in before.items()}

    again, log2 = start_sweep(tmp_path, "s", *args, extra_env=environ)  # the same command
    wait_all([again], [log2])
    assert "resuming" in log2.read_text()
    st = load(optuna_db, study)
    client, runs = trial_runs(mlflow_server.url, study)
    # a SIGKILLed trial may lose its queued epoch records (its epochs_run tag can be ahead)
    states = check_invariants(st, client, runs, n_trials)
    # numbering continues; FAIL trials (the killed ones) don't count towards n_trials
    n_failed = sum(t.state.name == "FAIL" for t in st.trials)
    assert [t.number for t in st.trials] == list(range(n_trials + n_failed))
    for n, t in before.items():
        after = st.trials[n]
        if t.state.name == "COMPLETE":
            assert after.state.name == "COMPLETE" and after.value == t.value
            assert after.params == t.params
    for n in interrupted:
        assert st.trials[n].state.name == "FAIL"
        assert "died" in st.trials[n].user_attrs[FAIL_REASON_ATTR]
    assert states.get("COMPLETE", 0) + states.get("PRUNED", 0) == n_trials, states  # FAILs replaced
    per_trial = {r.data.tags[TRIAL_TAG]: r for r in runs}
    assert len(per_trial) == len(runs)
    for n in interrupted:
        run = per_trial.get(str(n))
        if run is not None:
            assert run.info.status in ("FAILED", "KILLED")
    parents = client.search_runs(
        [client.get_experiment_by_name("nnexp").experiment_id],
        filter_string=f"tags.`nnexp.study` = '{study}' and tags.`nnexp.role` = 'sweep'",
    )
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
