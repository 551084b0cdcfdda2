"""MLflow side of a sweep: the parent run (created once, reused on resume) and trial tags.

Tags: the parent run has ``nnexp.role=sweep`` and ``nnexp.study=<study name>``; each trial's
child run has ``nnexp.role=trial``, ``nnexp.study``, ``nnexp.trial=<number>``, and after the
trial ``nnexp.trial_state`` (COMPLETE/PRUNED/FAIL), ``nnexp.pruned_at_epoch`` or
``nnexp.fail_reason``. Child runs carry ``mlflow.parentRunId`` (set by ``run_training``).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

ROLE_TAG = "nnexp.role"
STUDY_TAG = "nnexp.study"
TRIAL_TAG = "nnexp.trial"
STATE_TAG = "nnexp.trial_state"
PRUNED_AT_TAG = "nnexp.pruned_at_epoch"
FAIL_REASON_TAG = "nnexp.fail_reason"


def client(uri: str) -> Any:
    """An MlflowClient bound to ``uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "\\'") + "'"


def find_parent_run(cl: Any, experiment_id: str, study_name: str) -> str | None:
    """The newest sweep run of ``study_name`` in the experiment, if any."""
    runs = cl.search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = 'sweep' and tags.`{STUDY_TAG}` = {_quote(study_name)}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def start_parent_run(
    uri: str,
    experiment_id: str,
    study_name: str,
    *,
    known_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> tuple[str, bool]:
    """Create the sweep's parent run, or reopen the existing one (resume). Returns (id, resumed)."""
    from mlflow.exceptions import MlflowException

    cl = client(uri)
    run_id = None
    if known_run_id:
        try:
            run = cl.get_run(known_run_id)
            if run.info.lifecycle_stage == "active":
                run_id = known_run_id
        except MlflowException:
            run_id = None
    if run_id is None:
        run_id = find_parent_run(cl, experiment_id, study_name)
    all_tags: dict[str, str] = {
        ROLE_TAG: "sweep",
        STUDY_TAG: study_name,
        "nnexp.host": socket.gethostname(),
    }
    all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    if run_id is not None:
        cl.update_run(run_id, status="RUNNING")
        set_tags(cl, run_id, all_tags)
        return run_id, True
    run = cl.create_run(experiment_id, tags=all_tags, run_name=f"sweep-{study_name}")
    return run.info.run_id, False


def set_tags(cl: Any, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set many tags in one request."""
    from mlflow.entities import RunTag

    items = [RunTag(str(k), str(v)[:5000]) for k, v in tags.items()]
    if items:
        cl.log_batch(run_id, tags=items)


def find_trial_run(
    cl: Any, experiment_id: str, study_name: str, number: int
) -> str | None:
    """The child run of trial ``number`` (by tags), if one was created."""
    runs = cl.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{ROLE_TAG}` = 'trial' and tags.`{STUDY_TAG}` = {_quote(study_name)} "
            f"and tags.`{TRIAL_TAG}` = '{int(number)}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def record_trial_outcome(
    cl: Any,
    run_id: str,
    state: str,
    *,
    pruned_at: int | None = None,
    fail_reason: str | None = None,
    terminate: str | None = None,
) -> None:
    """Tag the trial's run with its Optuna state (and why); ``terminate`` sets the run status."""
    tags: dict[str, Any] = {STATE_TAG: state}
    if pruned_at is not None:
        tags[PRUNED_AT_TAG] = pruned_at
    if fail_reason:
        tags[FAIL_REASON_TAG] = fail_reason
    set_tags(cl, run_id, tags)
    if terminate is not None:
        cl.set_terminated(run_id, status=terminate)


def reconcile_trial_runs(cl: Any, experiment_id: str, study: Any) -> int:
    """Make every trial run's state agree with Optuna (after interrupts and reaping).

    Child runs of ``study`` with no ``nnexp.trial_state`` tag, or still RUNNING, whose Optuna
    trial has finished get the state (and fail reason) and a terminal status. Returns how many
    runs were fixed. One search request plus one request per fixed run.
    """
    from optuna.trial import TrialState

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    fixed = 0
    for run in cl.search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = 'trial' and tags.`{STUDY_TAG}` = {_quote(study.study_name)}",
        max_results=5000,
    ):
        try:
            trial = trials.get(int(run.data.tags.get(TRIAL_TAG, "-1")))
        except ValueError:
            continue
        if trial is None or not trial.state.is_finished():
            continue
        tagged = run.data.tags.get(STATE_TAG) == trial.state.name
        running = run.info.status == "RUNNING"
        if tagged and not running:
            continue
        reason = (
            trial.user_attrs.get("fail_reason")
            if trial.state == TrialState.FAIL
            else None
        )
        record_trial_outcome(
            cl,
            run.info.run_id,
            trial.state.name,
            pruned_at=trial.user_attrs.get("pruned_at_epoch"),
            fail_reason=reason,
            terminate=("FAILED" if trial.state == TrialState.FAIL else "FINISHED")
            if running
            else None,
        )
        fixed += 1
    return fixed
