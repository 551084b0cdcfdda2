"""Helpers of the scale tests: start ``nnexp-train -m`` processes, read back both stores, and
check the invariants every sweep must keep (each trial once in Optuna and once in MLflow, one
metric point per epoch run, nothing left RUNNING)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import FULL_ERRORS, NNEXP_TRAIN, ONE_BLAS_THREAD, cli_env, wait_for

from nnexp.contract import EPOCHS_RUN_ATTR, STATE_TAG, TRIAL_TAG

#: tiny, fast trials: digits, 4 epochs, 1-2 small layers, no pruning; states are asserted, so
#: the learning rate is fixed to one that learns and the sampler is seeded
FAST = [
    "hparams_search=digits",
    "trainer.epochs=4",
    "model.depth=int(interval(1,2))",
    "model.width=range(16,65,16)",
    "optimizer=adam",
    "optimizer.lr=0.01",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.pruner=none",
]


def start_sweep(
    cwd: Path, name: str, *overrides: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], Path]:
    """Start one sweeper process (its own sweep dir ``<cwd>/<name>``); output to ``<name>.log``."""
    log = cwd / f"{name}.log"
    proc = subprocess.Popen(
        [NNEXP_TRAIN, "-m", *FAST, f"hydra.sweep.dir={cwd / name}", *overrides],
        cwd=cwd,
        env=sweep_env(extra_env),
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return proc, log


def sweep_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """:func:`helpers.cli_env` with full Hydra errors and one BLAS thread per process."""
    return cli_env(**FULL_ERRORS, **ONE_BLAS_THREAD, **(extra or {}))


def wait_all(procs: list[subprocess.Popen[str]], logs: list[Path], timeout: float = 300) -> None:
    """Wait for every process; fail with the logs' tails if one fails or hangs (the others are
    then killed)."""

    def ended() -> bool:
        codes = [p.poll() for p in procs]
        return None not in codes or any(code not in (None, 0) for code in codes)

    try:
        wait_for(ended, timeout, "every sweep to exit")
    except AssertionError:
        hung = next(log for p, log in zip(procs, logs) if p.poll() is None)
        raise AssertionError(f"sweep hung:\n{hung.read_text()[-4000:]}") from None
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, f"sweep failed ({proc.returncode}):\n{log.read_text()[-4000:]}"


def load(storage_url: str, study_name: str) -> Any:
    """The study behind a storage URL (journal:<path> or a database URL)."""
    import optuna

    from nnexp.search.storage import open_storage

    return optuna.load_study(study_name=study_name, storage=open_storage(storage_url))


def trial_runs(tracking_uri: str, study_name: str, experiment: str = "nnexp") -> tuple[Any, list]:
    """(client, child runs of ``study_name``)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`nnexp.study` = '{study_name}' and tags.`nnexp.role` = 'trial'",
        max_results=5000,
    )
    return client, runs


def check_invariants(study: Any, client: Any, runs: list, n_trials: int) -> dict[str, int]:
    """Assert what every sweep keeps; return the Optuna state counts.

    A run tagged ``epochs_run`` holds exactly one metric point per epoch run, killed or not:
    the queued epoch batches are stored before that tag is written."""
    from optuna.trial import TrialState

    from nnexp.search.stale import counted_trials

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name for t in trials)
    assert counted_trials(trials) == n_trials, f"{counted_trials(trials)} counted trials, {states}"
    assert not states.get("RUNNING") and not states.get("WAITING"), states
    per_trial = Counter(int(r.data.tags[TRIAL_TAG]) for r in runs)
    dup = {k: v for k, v in per_trial.items() if v > 1}
    assert not dup, f"trials with more than one MLflow run: {dup}"
    numbers = {t.number for t in trials}
    assert set(per_trial) <= numbers
    finished_without_run = [
        t.number for t in trials if t.state != TrialState.FAIL and t.number not in per_trial
    ]
    assert not finished_without_run, f"finished trials without a run: {finished_without_run}"
    by_number = {t.number: t for t in trials}
    for run in runs:
        trial = by_number[int(run.data.tags[TRIAL_TAG])]
        assert run.info.status != "RUNNING", f"run of trial {trial.number} left RUNNING"
        assert run.data.tags.get(STATE_TAG) == trial.state.name
        if trial.state == TrialState.FAIL:
            assert run.info.status in ("FAILED", "KILLED")
        if EPOCHS_RUN_ATTR in run.data.tags:
            steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
            assert sorted(steps) == list(range(1, int(run.data.tags[EPOCHS_RUN_ATTR]) + 1)), (
                f"trial {trial.number}: val_loss steps {steps}"
            )
    return dict(states)


def kill_frozen(pid: int, still: Callable[[], bool], group: bool = False) -> bool:
    """For workers the hold of :class:`helpers.Hold` does not reach (Ray's: their environment is
    the cluster's): SIGKILL ``pid`` (its process group with ``group``) only if ``still()`` holds while it is
    frozen (SIGSTOP): a trial seen running in a storage snapshot may have finished since (fast
    trials, a loaded machine), and nothing can finish while the check runs again. Returns
    whether it was killed; if not, it runs on (SIGCONT)."""
    send = os.killpg if group else os.kill
    send(pid, signal.SIGSTOP)
    try:
        if not still():
            return False
        send(pid, signal.SIGKILL)
        return True
    finally:
        with contextlib.suppress(ProcessLookupError):  # already reaped after the kill
            send(pid, signal.SIGCONT)
