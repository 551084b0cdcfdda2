"""The relaunch loop after a worker process died (fast, in-process: a real journal study,
launcher doubles playing joblib's and nnexp's launchers). The real command is tested in
``tests/scale/test_workers.py`` (one loky worker SIGKILLed by pid)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from joblib.externals.loky.process_executor import TerminatedWorkerError
from optuna.trial import TrialState

from nnexp.contract import FAIL_REASON_ATTR, HOST_ATTR, PID_ATTR, RETRIED_ATTR
from nnexp.errors import SweepFailed
from nnexp.search.context import SweepContext
from nnexp.search.prepare import Prepared
from nnexp.search.respawn import first_line, launch_until_done
from nnexp.search.space import SearchSpace
from nnexp.search.storage import open_storage


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _prepared(tmp_path: Path, n_trials: int, max_retries: int) -> Prepared:
    url = f"journal:{tmp_path / 'journal.log'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url, create=True), direction="maximize")
    ctx = SweepContext(
        study_name="s",
        storage_url=url,
        n_trials=n_trials,
        metric="m",
        direction="maximize",
        space_json=SearchSpace([]).to_json(),
        n_jobs=2,
        max_retries=max_retries,
        sweep_dir=str(tmp_path),
    )
    return Prepared({}, SearchSpace([]), [], study, url, ctx, tmp_path / "ctx.json", None, n_trials, [])


class Launcher:
    """Plays Hydra's joblib launcher: each ``launch`` runs ``rounds[i](study)`` for the jobs."""

    def __init__(self, study: optuna.Study, rounds: list) -> None:
        self.study, self.rounds, self.calls = study, rounds, []
        self.joblib: dict = {}

    def launch(self, jobs: list, initial_job_idx: int) -> list:
        self.calls.append((len(jobs), initial_job_idx, self.joblib.get("n_jobs")))
        return self.rounds[len(self.calls) - 1](self.study)


def _running_in_dead_worker(study: optuna.Study) -> None:
    t = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    t.set_user_attr(HOST_ATTR, socket.gethostname())
    t.set_user_attr(PID_ATTR, _dead_pid())


def _killed(study: optuna.Study) -> list:
    study.tell(study.ask(), 1.0)  # one trial finished before the kill
    _running_in_dead_worker(study)
    raise TerminatedWorkerError(
        "A worker process managed by the executor was unexpectedly "
        "terminated. This could be ...\n\nThe exit codes of the workers "
        "are {SIGKILL(-9)}"
    )


def _finish_all(study: optuna.Study) -> list:
    while True:
        trials = study.get_trials(deepcopy=False)
        counted = sum(1 for t in trials if not t.user_attrs.get(RETRIED_ATTR))
        if counted >= 3 and not any(t.state == TrialState.WAITING for t in trials):
            return []
        study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.5)


def test_a_dead_worker_is_reaped_and_replaced_until_the_study_is_full(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    p = _prepared(tmp_path, n_trials=3, max_retries=1)
    launcher = Launcher(p.study, [_killed, _finish_all])
    out = launch_until_done(p, launcher)
    assert not out.crashed and not out.unreachable
    # the replacement round: new job numbers (new output dirs and seeds), 2 workers
    assert launcher.calls == [(2, 0, 2), (2, 2, 2)]
    dead = p.study.trials[1]
    assert dead.state == TrialState.FAIL and "died" in dead.user_attrs[FAIL_REASON_ATTR]
    assert dead.user_attrs[RETRIED_ATTR] is True
    assert [t.state for t in p.study.trials].count(TrialState.COMPLETE) == 3
    err = capsys.readouterr().err
    assert "a worker process died: TerminatedWorkerError" in err and "{SIGKILL(-9)}" in err
    assert "trial 1 failed: worker process" in err and "2 trial(s) left; starting 2 worker(s)" in err


def test_workers_that_die_before_any_trial_stop_the_sweep(tmp_path: Path) -> None:
    def dies(study: optuna.Study) -> list:
        raise TerminatedWorkerError("unexpectedly terminated")

    p = _prepared(tmp_path, n_trials=3, max_retries=0)
    launcher = Launcher(p.study, [dies, dies, dies])
    with pytest.raises(SweepFailed, match="died before running any trial"):
        launch_until_done(p, launcher)
    assert len(launcher.calls) == 1


def test_a_death_after_the_study_filled_ends_the_launch(tmp_path: Path) -> None:
    def fills_then_dies(study: optuna.Study) -> list:
        for _ in range(2):
            study.tell(study.ask(), 1.0)
        raise TerminatedWorkerError("unexpectedly terminated")

    p = _prepared(tmp_path, n_trials=2, max_retries=0)
    launcher = Launcher(p.study, [fills_then_dies])
    assert launch_until_done(p, launcher).crashed == []
    assert len(launcher.calls) == 1


def test_first_line_keeps_the_first_sentence_and_exit_codes() -> None:
    exc = TerminatedWorkerError(
        "A worker died. Long text.\n\nThe exit codes of the workers are {SIGKILL(-9)}"
    )
    assert first_line(exc) == "TerminatedWorkerError: A worker died (exit codes {SIGKILL(-9)})"


class NnexpLauncher(Launcher):
    """Plays nnexp's launcher: a death goes to ``on_death`` while the other job runs on; the
    replacements it asks for run the round ``after``."""

    def __init__(self, study: optuna.Study, after) -> None:
        super().__init__(study, [])
        self.n_jobs, self.on_death, self.next_job_idx, self.after = -1, None, 0, after
        self.answers: list = []

    def launch(self, jobs: list, initial_job_idx: int) -> list:
        self.calls.append((len(jobs), initial_job_idx, self.n_jobs))
        self.next_job_idx = initial_job_idx + len(jobs)
        try:
            _killed(self.study)
        except TerminatedWorkerError as exc:
            self.answers.append(self.on_death(exc))
        for _ in range(self.answers[-1] or 0):
            self.next_job_idx += 1
            self.after(self.study)
        return []


def test_nnexp_launcher_replaces_a_dead_worker_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _prepared(tmp_path, n_trials=3, max_retries=1)
    launcher = NnexpLauncher(p.study, _finish_all)
    out = launch_until_done(p, launcher)
    assert not out.crashed and not out.unreachable
    # one launch (n_jobs set on the launcher); the hook asked for exactly one replacement
    assert launcher.calls == [(2, 0, 2)] and launcher.answers == [1]
    assert launcher.next_job_idx == 3
    dead = p.study.trials[1]
    assert dead.state == TrialState.FAIL and dead.user_attrs[RETRIED_ATTR] is True
    assert [t.state for t in p.study.trials].count(TrialState.COMPLETE) == 3
    err = capsys.readouterr().err
    assert "trial 1 failed: worker process" in err
    assert "2 trial(s) left; starting a replacement worker" in err


def test_nnexp_launcher_gets_no_replacement_when_the_study_is_full(tmp_path: Path) -> None:
    p = _prepared(tmp_path, n_trials=1, max_retries=0)
    launcher = NnexpLauncher(p.study, _finish_all)
    launch_until_done(p, launcher)
    assert launcher.answers == [0] and launcher.calls == [(2, 0, 2)]
