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
