"""What a reaped trial leaves on its MLflow run: a trial's FAIL always shows on its run."""

from __future__ import annotations

import pytest

from nnexp.contract import FAIL_REASON_TAG, KILLED_REASON_TAG, STATE_TAG
from nnexp.tracking.store import ensure_tracking_store
from nnexp.tracking.sweep_runs import fail_trial_run


@pytest.mark.parametrize(
    "status, expected",
    [
        ("RUNNING", "FAILED"),  # the worker died mid-training
        ("FINISHED", "FAILED"),  # it died after training ended, before the trial was told
        ("KILLED", "KILLED"),  # an interrupt's ending stays
        ("KILLED-dead", "FAILED"),  # marked KILLED by a command that found its process gone
    ],
)
def test_a_reaped_trials_run_ends_failed_unless_already_failed(tmp_path, status, expected):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "reap", artifact_location=str(tmp_path / "art"))
    cl = MlflowClient(uri)
    run_id = cl.create_run(experiment_id).info.run_id
    if status == "KILLED-dead":  # what nnexp.tracking.liveness.mark_dead_runs leaves
        cl.set_tag(run_id, KILLED_REASON_TAG, "its process 1234 on host died while the run was RUNNING")
        status = "KILLED"
    if status != "RUNNING":
        cl.set_terminated(run_id, status=status)
    fail_trial_run(cl, experiment_id, "study", 3, "died: worker pid 1234 is gone", run_id=run_id)
    run = cl.get_run(run_id)
    assert run.info.status == expected
    assert run.data.tags[STATE_TAG] == "FAIL"
    assert run.data.tags[FAIL_REASON_TAG] == "died: worker pid 1234 is gone"


def test_reconciling_gives_a_fail_trials_finished_run_the_failed_status(tmp_path):
    from mlflow.tracking import MlflowClient

    from nnexp.contract import ROLE_TAG, STUDY_TAG, TRIAL_TAG
    from nnexp.tracking.sweep_runs import TrialEnd, reconcile_trial_runs, trial_role

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "reap", artifact_location=str(tmp_path / "art"))
    cl = MlflowClient(uri)
    ids = {}
    for number, status in ((0, "FINISHED"), (1, "FINISHED"), (2, "RUNNING"), (3, "KILLED"), (4, "KILLED")):
        tags = {ROLE_TAG: trial_role("s"), STUDY_TAG: "s", TRIAL_TAG: str(number)}
        if number == 4:  # marked KILLED by a command that found its process gone
            tags[KILLED_REASON_TAG] = "its process 1234 on host died while the run was RUNNING"
        ids[number] = cl.create_run(experiment_id, tags=tags).info.run_id
        if status != "RUNNING":
            cl.set_terminated(ids[number], status=status)
    ends = {
        0: TrialEnd("COMPLETE"),
        1: TrialEnd("FAIL", fail_reason="died"),
        2: TrialEnd("FAIL", fail_reason="died"),
        3: TrialEnd("FAIL", fail_reason="interrupted"),
        4: TrialEnd("FAIL", fail_reason="died"),
    }
    assert reconcile_trial_runs(cl, experiment_id, "s", ends) == 5  # 3: tagged, status kept
    statuses = {n: cl.get_run(i).info.status for n, i in ids.items()}
    assert statuses == {0: "FINISHED", 1: "FAILED", 2: "FAILED", 3: "KILLED", 4: "FAILED"}
    assert reconcile_trial_runs(cl, experiment_id, "s", ends) == 0  # nothing left to fix


def test_a_parent_run_is_reopened_only_by_its_own_study(tmp_path):
    """Issue 23, point 1: a parent run tagged with another study's id is never reopened (nor
    altered); one from before study ids (no tag) is, through the study's own record."""
    from mlflow.tracking import MlflowClient

    from nnexp.contract import STUDY_UID_TAG
    from nnexp.tracking.sweep_runs import start_parent_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "parents", artifact_location=str(tmp_path / "art"))
    cl = MlflowClient(uri)
    first = start_parent_run(uri, experiment_id, "s", study_uid="a", tags={"sweep.storage": "journal:x"})
    assert not first.resumed and first.other_run_id is None
    cl.set_terminated(first.run_id, status="FINISHED")
    before = cl.get_run(first.run_id).data.tags
    # another study of the name, even one given the first's run id (a copied record): its own
    second = start_parent_run(uri, experiment_id, "s", known_run_id=first.run_id, study_uid="b")
    assert second.run_id != first.run_id and not second.resumed
    assert (second.other_run_id, second.other_storage) == (first.run_id, "journal:x")
    assert cl.get_run(first.run_id).info.status == "FINISHED"
    assert cl.get_run(first.run_id).data.tags == before
    again = start_parent_run(uri, experiment_id, "s", study_uid="a")  # its record lost: by id
    assert (again.run_id, again.resumed) == (first.run_id, True)
    legacy = cl.create_run(experiment_id, tags={"nnexp.role": "sweep", "nnexp.study": "s"}).info.run_id
    old = start_parent_run(uri, experiment_id, "s", known_run_id=legacy, study_uid="c")
    assert (old.run_id, old.resumed) == (legacy, True)
    assert cl.get_run(legacy).data.tags[STUDY_UID_TAG] == "c"


def test_runs_of_trials_the_study_no_longer_holds_are_marked_dropped(tmp_path):
    """Issue 23, point 7: a run whose trial is gone, or is an earlier trial of a number the
    study gave out again, is tagged dropped and FAILED; the trial's own run is untouched."""
    from mlflow.tracking import MlflowClient

    from nnexp.contract import DROPPED_NOTE, DROPPED_TAG, PARENT_RUN_TAG, ROLE_TAG, STUDY_TAG, TRIAL_TAG
    from nnexp.tracking.sweep_runs import TrialEnd, TrialOwner, reconcile_trial_runs, trial_role

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "cut", artifact_location=str(tmp_path / "art"))
    cl = MlflowClient(uri)

    def run(number: int, start: int, parent: str = "p") -> str:
        tags = {ROLE_TAG: trial_role("s"), STUDY_TAG: "s", TRIAL_TAG: str(number), PARENT_RUN_TAG: parent}
        run_id = cl.create_run(experiment_id, start_time=start, tags=tags).info.run_id
        cl.set_terminated(run_id, status="FINISHED")
        return run_id

    kept, old, new, gone = run(0, 1000), run(1, 2000), run(1, 9000), run(2, 3000)
    other = run(5, 3000, parent="another study's parent")
    for run_id in (kept, old, new, gone, other):
        cl.set_tag(run_id, STATE_TAG, "COMPLETE")
    owners = {0: TrialOwner(kept, 900), 1: TrialOwner(None, 8000)}
    ends = {0: TrialEnd("COMPLETE"), 1: TrialEnd("COMPLETE")}
    fixed = reconcile_trial_runs(cl, experiment_id, "s", ends, parent_run_id="p", owners=owners)
    assert fixed == 2
    for run_id in (old, gone):
        r = cl.get_run(run_id)
        assert r.info.status == "FAILED" and r.data.tags[DROPPED_TAG] == DROPPED_NOTE
    for run_id in (kept, new, other):
        r = cl.get_run(run_id)
        assert r.info.status == "FINISHED" and DROPPED_TAG not in r.data.tags


def test_exactly_one_run_of_a_parent_claims_the_best_trial(tmp_path):
    """Issue 20, point 4: a resumed sweep that finds a new best takes ``nnexp.best_trial`` off
    the old best's run; the best run of another parent (another study) keeps its own."""
    from mlflow.tracking import MlflowClient

    from nnexp.contract import BEST_TRIAL_TAG, MODEL_URI_TAG, PARENT_RUN_TAG
    from nnexp.tracking.sweep_runs import mark_best_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "best", artifact_location=str(tmp_path / "art"))
    cl = MlflowClient(uri)

    def child(parent: str) -> str:
        return cl.create_run(experiment_id, tags={PARENT_RUN_TAG: parent}).info.run_id

    parent, other_parent = (cl.create_run(experiment_id).info.run_id for _ in range(2))
    old_best, new_best, elsewhere = child(parent), child(parent), child(other_parent)
    mark_best_run(cl, old_best, {MODEL_URI_TAG: "models:/m-old"})  # the first sweep's best
    mark_best_run(cl, elsewhere)
    mark_best_run(cl, new_best, {MODEL_URI_TAG: "models:/m-new"})  # the resumed sweep's new best
    claims = {r: cl.get_run(r).data.tags.get(BEST_TRIAL_TAG) for r in (old_best, new_best, elsewhere)}
    assert claims == {old_best: None, new_best: "true", elsewhere: "true"}
    assert cl.get_run(new_best).data.tags[MODEL_URI_TAG] == "models:/m-new"
