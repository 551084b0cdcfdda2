"""Studies and their MLflow runs kept apart and in agreement, through the real ``nnexp-train -m``
(issue 23, points 1, 3 and 7):

* two studies of one name (another storage) in one tracking store get a parent run each;
* a trial that its worker created but never claimed (it lost the storage right after ``ask``,
  as a PostgreSQL restart did) is reaped when the workers end, and a replacement runs;
* after the journal-recovery advice (``head -n N``) was followed, a trial whose end was cut is
  not said to have a dead worker, and the runs of the trials that were cut are marked dropped.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from scale_sweeps import check_invariants, load, start_sweep, sweep_env, trial_runs, wait_all

from nnexp.contract import (
    DROPPED_NOTE,
    DROPPED_TAG,
    FAIL_REASON_ATTR,
    FAIL_REASON_TAG,
    NOTE_TAG,
    PARENT_RUN_TAG,
    ROLE_TAG,
    RUN_ID_ATTR,
    STATE_TAG,
    STUDY_TAG,
    TRIAL_TAG,
)
from nnexp.search.worker import LOSE_TRIAL_ENV

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _sweep(cwd: Path, name: str, *overrides: str, extra_env: dict[str, str] | None = None) -> str:
    """Run one sweep to its end (exit 0); its output."""
    proc, log = start_sweep(cwd, name, *overrides, extra_env=extra_env)
    wait_all([proc], [log])
    return log.read_text()


def _parents(tracking_uri: str) -> dict[str, object]:
    """Parent runs (role sweep) of study ``digits``, by run id."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name("nnexp")
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = 'sweep' and tags.`{STUDY_TAG}` = 'digits'",
    )
    return {r.info.run_id: r for r in runs}


def test_a_second_study_of_the_same_name_gets_its_own_parent_run(tmp_path: Path) -> None:
    """The same command twice on the default journal, then on ``sqlite:///opt.db``, one
    tracking store: two parent runs; the first is left as it was, each has its own children."""
    tracking = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    small = ["hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=1"]
    _sweep(tmp_path, "a1", *small)
    _sweep(tmp_path, "a2", *small)  # the same study again: its own parent, reopened
    (first_id, first), *more = _parents(tracking).items()
    assert not more, "one study, one parent run"
    out = _sweep(tmp_path, "b", *small, "hydra.sweeper.storage=sqlite:///opt.db")
    parents = _parents(tracking)
    assert len(parents) == 2, f"a second study of the name reused a parent run: {list(parents)}"
    (second_id,) = set(parents) - {first_id}
    start = next(line for line in out.splitlines() if line.startswith("[sweep] study 'digits'"))
    assert "new" in start and f"{first_id} belongs to another study of that name" in start, start
    again = parents[first_id]
    assert again.info.status == first.info.status == "FINISHED"
    assert again.data.tags == first.data.tags, "the other study's parent run was altered"
    assert again.data.metrics == first.data.metrics
    _, children = trial_runs(tracking, "digits")
    per_parent = Counter(r.data.tags[PARENT_RUN_TAG] for r in children)
    assert per_parent == {first_id: 3, second_id: 3}, per_parent
    for run_id in (first_id, second_id):
        assert parents[run_id].data.tags["sweep.trials.complete"] == "3"
        numbers = sorted(
            int(r.data.tags[TRIAL_TAG]) for r in children if r.data.tags[PARENT_RUN_TAG] == run_id
        )
        assert numbers == [0, 1, 2]


@pytest.mark.parametrize("where", ["journal", "postgres"])
def test_a_trial_its_worker_never_claimed_is_reaped_and_replaced(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A worker loses the storage right after ``ask`` created trial 1 (the state a PostgreSQL
    restart left: RUNNING, no params, attrs or run); it reconnects and runs on. The sweep must
    not end exit 0 one trial short: trial 1 is FAIL with the reason, a replacement runs, exactly
    n_trials finish, nothing is left RUNNING in Optuna or MLflow."""
    n_trials = 4
    storage = f"journal:{tmp_path / 'mlruns/optuna/journal.log'}"
    extra = {LOSE_TRIAL_ENV: "1"}
    if where == "postgres":  # the storage behind the real fault (password from the environment)
        storage = request.getfixturevalue("optuna_db")
        extra["NNEXP_OPTUNA_STORAGE"] = storage
    out = _sweep(
        tmp_path,
        "s",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
        extra_env=extra,
    )
    study = load(storage, "digits")
    client, runs = trial_runs(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}", "digits")
    states = check_invariants(study, client, runs, n_trials)
    assert states == {"COMPLETE": n_trials, "FAIL": 1}, states
    lost = study.trials[1]
    assert lost.state.name == "FAIL"
    assert "no worker claimed it" in lost.user_attrs[FAIL_REASON_ATTR]
    assert "[sweep] trial 1 failed: no worker claimed it" in out, out[-3000:]
    assert f"{n_trials} trials finished (COMPLETE {n_trials}), 1 failed" in out, out[-3000:]


def _damage_trial_end(journal: Path, trial_id: int) -> None:
    """Make the record that ends trial ``trial_id`` (op 6, its state) not JSON."""
    lines = journal.read_bytes().splitlines(keepends=True)
    end = next(
        i
        for i, line in enumerate(lines)
        if line.startswith(b'{"op_code":6,') and f'"trial_id":{trial_id},'.encode() in line
    )
    lines[end] = lines[end][:20] + b"\n"
    journal.write_bytes(b"".join(lines))


def test_after_journal_recovery_trials_and_runs_agree(tmp_path: Path) -> None:
    """A sweep of 5 trials, one worker; the record that ends trial 2 damaged; the printed
    ``head -n`` advice followed; the same command again. Trial 2 (RUNNING in the cut journal:
    its end was cut) is FAIL because of the cut, not "worker died"; trials 0 and 1 and their
    FINISHED runs are untouched; the runs of the cut trials 3 and 4 are marked dropped (tag,
    note, FAILED) beside the new runs of those numbers."""
    tracking = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    storage = f"journal:{tmp_path / 'mlruns/optuna/journal.log'}"
    args = ["hydra.sweeper.n_trials=5", "hydra.sweeper.n_jobs=1"]
    _sweep(tmp_path, "s1", *args)
    _, before = trial_runs(tracking, "digits")
    kept = {r.info.run_id: r for r in before if int(r.data.tags[TRIAL_TAG]) < 2}
    cut = {r.info.run_id for r in before if int(r.data.tags[TRIAL_TAG]) > 2}
    _damage_trial_end(tmp_path / "mlruns/optuna/journal.log", 2)
    proc, log = start_sweep(tmp_path, "s2", *args)
    assert proc.wait(120) == 2, log.read_text()[-3000:]
    advice = re.search(r"cp \S+ \S+ && head -n \d+ \S+ > \S+", log.read_text())
    assert advice, log.read_text()[-3000:]
    subprocess.run(advice.group(0), shell=True, check=True, cwd=tmp_path, env=sweep_env())
    out = _sweep(tmp_path, "s3", *args)
    assert "died" not in out, out[-3000:]
    study = load(storage, "digits")
    trials = study.get_trials(deepcopy=False)
    assert [t.state.name for t in trials[:3]] == ["COMPLETE", "COMPLETE", "FAIL"]
    reason = trials[2].user_attrs[FAIL_REASON_ATTR]
    assert "cut with the damaged journal" in reason, reason
    client, runs = trial_runs(tracking, "digits")
    by_id = {r.info.run_id: r for r in runs}
    for run_id, run in kept.items():  # trials 0 and 1: nothing changed
        assert by_id[run_id].info.status == "FINISHED"
        assert by_id[run_id].data.tags == run.data.tags
    (run2,) = [r for r in runs if r.data.tags[TRIAL_TAG] == "2"]
    assert run2.info.status == "FAILED" and run2.data.tags[FAIL_REASON_TAG] == reason
    for run_id in cut:  # the cut trials' runs: dropped, not FINISHED
        run = by_id[run_id]
        assert run.data.tags.get(DROPPED_TAG) == DROPPED_NOTE, run.data.tags
        assert DROPPED_NOTE in run.data.tags[NOTE_TAG]
        assert run.info.status == "FAILED"
    live = [r for r in runs if DROPPED_TAG not in r.data.tags]
    assert sorted(int(r.data.tags[TRIAL_TAG]) for r in live) == [t.number for t in trials]
    for run in live:
        trial = trials[int(run.data.tags[TRIAL_TAG])]
        assert run.data.tags[STATE_TAG] == trial.state.name and run.info.status != "RUNNING"
        if trial.state.name == "COMPLETE":
            assert trial.user_attrs[RUN_ID_ATTR] == run.info.run_id
    assert sum(t.state.name == "COMPLETE" for t in trials) == 5
