"""Sweep workers on a real multi-node Ray cluster on this machine (``hydra/launcher=nnexp_ray``):
a head node and a second node with a CPU each (``ray.cluster_utils.Cluster``), the study on
PostgreSQL, the real ``nnexp-train -m`` command. Faults: one worker process killed by pid, the
second node removed mid-trial, the driver killed and the same command run again. Each ends as
on one machine: the dead worker's trial FAIL with a reason naming its node, its run FAILED,
retried (max_retries=1), replacement workers, exactly n_trials finished, nothing RUNNING in
Optuna or MLflow, and no Ray actor or task left."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import NNEXP_TRAIN, wait_for
from scale_sweeps import (
    FAST,
    check_invariants,
    kill_frozen,
    load,
    start_sweep,
    sweep_env,
    trial_runs,
    wait_all,
)

from nnexp.contract import (
    FAIL_REASON_ATTR,
    FAIL_REASON_TAG,
    NODE_ATTR,
    PID_ATTR,
    RETRIED_ATTR,
    RETRY_OF_ATTR,
    TRIAL_TAG,
)

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

EPOCHS = 250  # long enough (no early stop) that a trial seen running is still running at a fault


class TwoNodes:
    """A head node and a worker node, one CPU each; the test process is a driver too (for
    Ray's state API)."""

    def __init__(self) -> None:
        from ray.cluster_utils import Cluster

        self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        self.head = self.cluster.head_node
        self.second = self.cluster.add_node(num_cpus=1)
        self.cluster.wait_for_nodes()
        ray.init(address=self.cluster.address, log_to_driver=False)

    @property
    def address(self) -> str:
        return self.cluster.address

    def alive_actors(self) -> list[Any]:
        from ray.util.state import list_actors

        return list_actors(filters=[("state", "!=", "DEAD")], raise_on_missing_output=False)

    def live_tasks(self) -> list[Any]:
        """Tasks of any job not finished or failed (actor creation and method calls included)."""
        from ray.util.state import list_tasks

        done = ("FINISHED", "FAILED")
        return [t for t in list_tasks(raise_on_missing_output=False) if t.state not in done]

    def shutdown(self) -> None:
        ray.shutdown()
        self.cluster.shutdown()


@pytest.fixture
def nodes(monkeypatch) -> Iterator[TwoNodes]:
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(key, "1")  # the nodes' worker processes inherit this environment
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    cluster = TwoNodes()
    try:
        yield cluster
    finally:
        cluster.shutdown()


def _overrides(nodes: TwoNodes, study: str, tracking: str, n_trials: int) -> list[str]:
    return [
        "hydra/launcher=nnexp_ray",
        f"hydra.launcher.address={nodes.address}",
        f"hydra.sweeper.study_name={study}",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.max_retries=1",
        f"tracking.uri={tracking}",
        f"trainer.epochs={EPOCHS}",
        "trainer.early_stopping.enabled=false",
    ]


def _wait_for(what: str, check: Callable[[], Any], proc: Any, log: Path, timeout: float = 240) -> Any:
    """:func:`helpers.wait_for` on the study's and the cluster's state (not created yet: not now)."""
    return wait_for(check, timeout, what, proc=proc, log=log, errors=(Exception,), interval=0.2)


def _two_running(storage: str, study: str, log: Path) -> Callable[[], dict[int, Any] | None]:
    """Both workers inside a trial with epochs left, on both nodes: {pid: trial}. Read once the
    sweeper made the study (opening the storage before would race it to create the tables)."""

    def check() -> dict[int, Any] | None:
        if "[sweep] study" not in log.read_text():
            return None
        trials = load(storage, study).get_trials(deepcopy=False)
        running = {
            t.user_attrs[PID_ATTR]: t
            for t in trials
            if t.state.name == "RUNNING"
            and NODE_ATTR in t.user_attrs
            and 1 <= len(t.intermediate_values) < EPOCHS - 50
        }
        nodes = {t.user_attrs[NODE_ATTR] for t in running.values()}
        return running if len(running) == 2 and len(nodes) == 2 else None

    return check


def _still_running(storage: str, study: str, trial: Any) -> bool:
    t = load(storage, study).get_trials(deepcopy=False)[trial.number]
    return t.state.name == "RUNNING" and t.user_attrs.get(PID_ATTR) == trial.user_attrs[PID_ATTR]


def _check_dead_trial(storage: str, study: str, tracking: str, n_trials: int, pid: int, node: str) -> Any:
    """The invariants, the dead worker's trial (FAIL naming its node, run FAILED, retried once and
    completed), and no Ray actor or task left."""
    st = load(storage, study)
    client, runs = trial_runs(tracking, study)
    states = check_invariants(st, client, runs, n_trials)
    assert states.get("COMPLETE") == n_trials, states
    dead = [t for t in st.trials if t.user_attrs.get(PID_ATTR) == pid and t.state.name == "FAIL"]
    assert len(dead) == 1, states
    dead = dead[0]
    reason = dead.user_attrs[FAIL_REASON_ATTR]
    assert f"worker process {pid} on node {node[:12]}" in reason and "died" in reason, reason
    assert dead.user_attrs.get(RETRIED_ATTR) is True
    retries = [t for t in st.trials if t.user_attrs.get(RETRY_OF_ATTR) == dead.number]
    assert len(retries) == 1 and retries[0].params == dead.params
    assert retries[0].state.name == "COMPLETE"
    run = next(r for r in runs if r.data.tags[TRIAL_TAG] == str(dead.number))
    assert run.info.status == "FAILED" and "died" in run.data.tags[FAIL_REASON_TAG]
    return st


def _no_ray_leftovers(nodes: TwoNodes, log: Path) -> None:
    """No actor alive and no task pending or running (Ray's state API; dead actors are listed
    for a while, as DEAD)."""
    _wait_for("the last actor's end", lambda: not nodes.alive_actors() or None, None, log, timeout=60)
    assert not nodes.live_tasks(), nodes.live_tasks()


@pytest.fixture
def stores(optuna_db: str, tmp_path: Path) -> dict[str, Any]:
    """The study on PostgreSQL (its URL, password included, from the environment: the Ray
    launcher forwards it to the workers), MLflow in SQLite (every node is on this machine)."""
    return {
        "storage": optuna_db,
        "tracking": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
        "env": {"NNEXP_OPTUNA_STORAGE": optuna_db},
    }


def test_a_worker_killed_by_pid_is_replaced(nodes: TwoNodes, stores: dict, tmp_path: Path) -> None:
    """``kill -9`` one worker's process (one per node) mid-trial: Ray reports the actor dead,
    its trial is FAIL naming the node and retried, a replacement worker starts, the other runs on."""
    study, n_trials = "raykill", 4
    args = _overrides(nodes, study, stores["tracking"], n_trials)
    proc, log = start_sweep(tmp_path, "s", *args, extra_env=stores["env"])
    running = _wait_for("two workers in trials", _two_running(stores["storage"], study, log), proc, log)
    for pid, trial in running.items():
        if kill_frozen(pid, lambda t=trial: _still_running(stores["storage"], study, t)):
            killed, node = pid, trial.user_attrs[NODE_ATTR]
            break
    else:
        pytest.fail("both trials ended while frozen")
    (other,) = set(running) - {killed}
    wait_all([proc], [log])
    text = log.read_text()
    assert "a worker process died: ActorDiedError" in text, text[-3000:]
    assert "starting a replacement worker" in text and "Traceback" not in text, text[-3000:]
    st = _check_dead_trial(stores["storage"], study, stores["tracking"], n_trials, killed, node)
    assert st.trials[running[other].number].state.name == "COMPLETE"  # the other worker ran on
    _no_ray_leftovers(nodes, log)


def test_a_node_removed_mid_trial(nodes: TwoNodes, stores: dict, tmp_path: Path) -> None:
    """Remove the second node (its raylet and workers killed) while it runs a trial: that trial
    is FAIL naming the node and retried, the head's worker goes on, the sweep completes on the
    head alone."""
    study, n_trials = "raynode", 4
    second = nodes.second.node_id
    args = _overrides(nodes, study, stores["tracking"], n_trials)
    proc, log = start_sweep(tmp_path, "s", *args, extra_env=stores["env"])
    running = _wait_for("two workers in trials", _two_running(stores["storage"], study, log), proc, log)
    ((pid, trial),) = ((p, t) for p, t in running.items() if t.user_attrs[NODE_ATTR] == second)
    nodes.cluster.remove_node(nodes.second, allow_graceful=False)
    wait_all([proc], [log])
    text = log.read_text()
    assert "a worker process died" in text and "Traceback" not in text, text[-3000:]
    _check_dead_trial(stores["storage"], study, stores["tracking"], n_trials, pid, second)
    _no_ray_leftovers(nodes, log)


def test_the_driver_killed_and_the_command_rerun(nodes: TwoNodes, stores: dict, tmp_path: Path) -> None:
    """``kill -9`` the ``nnexp-train -m`` process mid-trial: Ray ends its actors (their owner
    died); the same command again reaps both trials (FAIL naming their nodes, retried) and
    completes the study."""
    study, n_trials = "raydriver", 4
    args = _overrides(nodes, study, stores["tracking"], n_trials)
    proc, log = start_sweep(tmp_path, "s", *args, extra_env=stores["env"])
    running = _wait_for("two workers in trials", _two_running(stores["storage"], study, log), proc, log)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_for("Ray ending the dead driver's actors", lambda: not nodes.alive_actors() or None, None, log)
    again, log2 = start_sweep(tmp_path, "s", *args, extra_env=stores["env"])
    wait_all([again], [log2])
    text = log2.read_text()
    assert "Traceback" not in text, text[-3000:]
    for pid, trial in running.items():
        _check_dead_trial(
            stores["storage"], study, stores["tracking"], n_trials, pid, trial.user_attrs[NODE_ATTR]
        )
    _no_ray_leftovers(nodes, log2)


def test_ctrl_c_ends_every_actor(nodes: TwoNodes, stores: dict, tmp_path: Path) -> None:
    """SIGINT to ``nnexp-train -m`` mid-trial (a Ctrl-C: the driver's process group; Ray's
    workers are not in it): the launcher kills its actors and waits for their end, the sweep
    fails their trials and exits 130, nothing RUNNING is left and no actor outlives it."""
    study, n_trials = "rayint", 4
    args = [
        *FAST,
        f"hydra.sweep.dir={tmp_path / 's'}",
        *_overrides(nodes, study, stores["tracking"], n_trials),
    ]
    log = tmp_path / "s.log"
    proc = subprocess.Popen(
        [NNEXP_TRAIN, "-m", *args],
        cwd=tmp_path,
        env=sweep_env(stores["env"]),
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if pytest ignores it
    )
    running = _wait_for("two workers in trials", _two_running(stores["storage"], study, log), proc, log)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130, log.read_text()[-3000:]
    assert "interrupted; run the same command again" in log.read_text()
    trials = load(stores["storage"], study).get_trials(deepcopy=False)
    assert not [t.number for t in trials if t.state.name == "RUNNING"]
    # a trial may have ended between the check and the signal: at least one was cut
    assert "FAIL" in {trials[t.number].state.name for t in running.values()}
    _, runs = trial_runs(stores["tracking"], study)
    assert runs and not [r.info.run_id for r in runs if r.info.status == "RUNNING"]
    _no_ray_leftovers(nodes, log)
