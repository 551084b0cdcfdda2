"""MLflow side of a sweep: the parent run (created once, reused on resume) and trial tags.

The one place a sweep talks to MLflow (``nnexp.search.runs`` calls it with Optuna's view).

Tags: the parent run has ``nnexp.role=sweep``, ``nnexp.study=<study name>`` and
``nnexp.study_uid`` (the one study it belongs to: :func:`start_parent_run`); each trial's
child run has ``nnexp.role=trial``, ``nnexp.study``, ``nnexp.trial=<number>``, and after the
trial ``nnexp.trial_state`` (COMPLETE/PRUNED/FAIL), ``nnexp.pruned_at_epoch`` or
``nnexp.fail_reason``. Child runs carry ``mlflow.parentRunId`` (set by ``run_training``).

Names for people browsing the MLflow UI: the parent is ``sweep-<study>``; once a trial ends its
run is renamed after its number, key hyperparameters and state, e.g.
``trial-7 adam lr=3.1e-03 d=2 w=128`` or ``trial-3 sgd lr=1.0e-06 d=1 w=32 [pruned]``, and its
description (``mlflow.note.content``) says what happened to it.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnexp.contract import (
    CONFIRM_STUDY_SUFFIX,
    DROPPED_NOTE,
    DROPPED_TAG,
    FAIL_REASON_TAG,
    HOST_TAG,
    KILLED_REASON_TAG,
    NOTE_TAG,
    PARENT_RUN_TAG,
    PRUNE_REASON_TAG,
    PRUNED_AT_TAG,
    ROLE_CONFIRMATION,
    ROLE_SWEEP,
    ROLE_TAG,
    ROLE_TRIAL,
    STATE_TAG,
    STUDY_TAG,
    STUDY_UID_TAG,
    SWEEP_STORAGE_TAG,
    TRIAL_TAG,
    EndState,
)
from nnexp.contract import RUN_NAME_TAG as NAME_TAG
from nnexp.tracking.run_names import (
    confirmation_label,
    trial_note,
    trial_run_name,
)


def client(uri: str) -> Any:
    """An MlflowClient bound to ``uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "\\'") + "'"


def _newest_run(cl: Any, experiment_id: str, filter_string: str) -> str | None:
    """The id of the newest run of the experiment matching ``filter_string``, if any."""
    runs = cl.search_runs(
        [experiment_id],
        filter_string=filter_string,
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def run_exists(cl: Any, run_id: str) -> bool:
    """Whether run ``run_id`` is in the store and not deleted (a lost or replaced store, or a
    run deleted in the UI: False). Other errors (the server unreachable) propagate."""
    from mlflow.exceptions import MlflowException

    try:
        return bool(cl.get_run(run_id).info.lifecycle_stage == "active")
    except MlflowException as exc:
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise


def find_parent_runs(cl: Any, experiment_id: str, study_name: str) -> list[Any]:
    """The sweep runs of studies named ``study_name`` in the experiment, newest first."""
    return cl.search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = '{ROLE_SWEEP}' and tags.`{STUDY_TAG}` = {_quote(study_name)}",
        order_by=["attributes.start_time DESC"],
        max_results=100,
    )


@dataclass(frozen=True)
class ParentRun:
    """The parent run a sweep records into."""

    run_id: str
    resumed: bool  #: an earlier parent run of this study, reopened
    #: a parent run of another study of the same name (another storage, or an earlier study
    #: where this one is now), left as it is; None when there is none
    other_run_id: str | None = None
    other_storage: str | None = None


def _belongs(run: Any, study_uid: str | None) -> bool:
    """Whether parent ``run`` is of the study ``study_uid`` (a run recorded before study ids
    were: only through the study's own ``STUDY_PARENT_RUN``, see :func:`start_parent_run`)."""
    return study_uid is None or run.data.tags.get(STUDY_UID_TAG) == study_uid


def start_parent_run(
    uri: str,
    experiment_id: str,
    study_name: str,
    *,
    known_run_id: str | None = None,
    study_uid: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> ParentRun:
    """Create the sweep's parent run, or reopen the study's own (resume).

    A parent run belongs to one study: ``known_run_id`` (the study's ``STUDY_PARENT_RUN``) is
    reopened unless it is gone or tagged with another ``study_uid``; else the newest parent
    run tagged with ``study_uid`` (the study's sweeper died before recording its parent). A
    parent run of another study of the same name is never reopened: it is named in
    :attr:`ParentRun.other_run_id`."""
    from mlflow.exceptions import MlflowException

    cl = client(uri)
    run_id = None
    if known_run_id:
        try:
            run = cl.get_run(known_run_id)
            if run.info.lifecycle_stage == "active" and (
                STUDY_UID_TAG not in run.data.tags or _belongs(run, study_uid)
            ):
                run_id = known_run_id
        except MlflowException:
            run_id = None
    same_name = find_parent_runs(cl, experiment_id, study_name) if run_id is None else []
    if run_id is None and study_uid is not None:
        run_id = next((r.info.run_id for r in same_name if _belongs(r, study_uid)), None)
    all_tags: dict[str, str] = {
        ROLE_TAG: ROLE_SWEEP,
        STUDY_TAG: study_name,
        HOST_TAG: socket.gethostname(),
    }
    if study_uid is not None:
        all_tags[STUDY_UID_TAG] = study_uid
    all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    if run_id is not None:
        cl.update_run(run_id, status="RUNNING")
        set_tags(cl, run_id, all_tags)
        return ParentRun(run_id, True)
    run = cl.create_run(experiment_id, tags=all_tags, run_name=f"sweep-{study_name}")
    other = same_name[0] if same_name else None
    return ParentRun(
        run.info.run_id,
        False,
        other.info.run_id if other else None,
        other.data.tags.get(SWEEP_STORAGE_TAG) if other else None,
    )


def set_tags(cl: Any, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set many tags in one request."""
    from mlflow.entities import RunTag

    items = [RunTag(str(k), str(v)[:5000]) for k, v in tags.items()]
    if items:
        cl.log_batch(run_id, tags=items)


def trial_role(study_name: str) -> str:
    """The ``nnexp.role`` of a study's trial runs: ``confirmation`` for the trials of a
    confirmation study (``<study>-confirm``, ``hydra.sweeper.confirm``), else ``trial``."""
    return ROLE_CONFIRMATION if study_name.endswith(CONFIRM_STUDY_SUFFIX) else ROLE_TRIAL


def _trial_runs_filter(study_name: str, parent_run_id: str | None) -> str:
    """The search filter of a study's trial runs (under ``parent_run_id`` when given: another
    study of the same name has other parent runs)."""
    text = f"tags.`{ROLE_TAG}` = '{trial_role(study_name)}' and tags.`{STUDY_TAG}` = {_quote(study_name)}"
    if parent_run_id:
        text += f" and tags.`{PARENT_RUN_TAG}` = {_quote(parent_run_id)}"
    return text


def find_trial_run(
    cl: Any, experiment_id: str, study_name: str, number: int, parent_run_id: str | None = None
) -> str | None:
    """The child run of trial ``number`` (by tags; the newest), if one was created."""
    return _newest_run(
        cl,
        experiment_id,
        _trial_runs_filter(study_name, parent_run_id) + f" and tags.`{TRIAL_TAG}` = '{int(number)}'",
    )


def record_trial_outcome(
    cl: Any,
    run_id: str,
    state: str,
    *,
    pruned_at: int | None = None,
    fail_reason: str | None = None,
    terminate: str | None = None,
) -> None:
    """Tag the trial's run with its Optuna state (and why); ``terminate`` sets the run status.

    ``fail_reason``: why a FAIL trial failed, or why a PRUNED trial was stopped when the
    pruner did not do it (it diverged); it goes to ``nnexp.fail_reason`` or
    ``nnexp.prune_reason``.

    Also renames the run after its trial number, key params and state (:func:`trial_run_name`)
    and describes it (:func:`trial_note`); that costs one ``get_run`` request.
    """
    tags: dict[str, Any] = {STATE_TAG: state}
    if pruned_at is not None:
        tags[PRUNED_AT_TAG] = pruned_at
    if fail_reason:
        tags[PRUNE_REASON_TAG if state == EndState.PRUNED else FAIL_REASON_TAG] = fail_reason
    run = cl.get_run(run_id)
    run_tags = run.data.tags
    try:
        number = int(run_tags.get(TRIAL_TAG, ""))
    except ValueError:
        number = None
    if number is not None:
        label = confirmation_label(run_tags)
        tags[NAME_TAG] = trial_run_name(number, run.data.params, state, fail_reason, label=label)
        tags[NOTE_TAG] = trial_note(
            run_tags.get(STUDY_TAG, "?"),
            number,
            state,
            pruned_at=pruned_at,
            fail_reason=fail_reason,
            parent_run_id=run_tags.get(PARENT_RUN_TAG),
            experiment_id=run.info.experiment_id,
        )
    set_tags(cl, run_id, tags)
    if terminate is not None:
        cl.set_terminated(run_id, status=terminate)


@dataclass(frozen=True)
class TrialEnd:
    """How a finished Optuna trial ended, as its MLflow run should say."""

    state: str  #: COMPLETE | PRUNED | FAIL
    pruned_at: int | None = None
    fail_reason: str | None = None  #: FAIL: why; PRUNED: why, when not by the pruner


@dataclass(frozen=True)
class TrialOwner:
    """What tells a trial's own run from a run of an earlier trial of the same number (one cut
    with a damaged journal, whose number the study gave out again)."""

    run_id: str | None  #: the trial's ``mlflow_run_id``, once recorded
    started_ms: int | None  #: the trial's ``datetime_start``: its run is created after it

    def owns(self, run: Any) -> bool:
        """Whether ``run`` (of the trial's number) is this trial's run."""
        if self.run_id:
            return bool(run.info.run_id == self.run_id)
        return self.started_ms is None or int(run.info.start_time or 0) >= self.started_ms


def reconcile_trial_runs(
    cl: Any,
    experiment_id: str,
    study_name: str,
    ends: Mapping[int, TrialEnd],
    *,
    parent_run_id: str | None = None,
    owners: Mapping[int, TrialOwner] | None = None,
    owners_since_ms: int | None = None,
) -> int:
    """Make every trial run's state agree with Optuna (after interrupts, reaping, recoveries).

    ``ends`` maps the numbers of the study's finished trials to how they ended. Child runs of
    ``study_name`` (under ``parent_run_id``) with no ``nnexp.trial_state`` tag, still RUNNING,
    or FINISHED for a FAIL trial, whose trial has finished get the state (and fail reason) and
    a terminal status. With ``owners`` (every trial of the study), a run whose trial is not in
    the study, or is a later trial of the same number, is marked dropped (:func:`mark_dropped`);
    runs started at or after ``owners_since_ms`` (when ``owners`` was read: trials that another
    sweeper of the study created since) never are.
    Returns how many runs were fixed. One search request plus one request per fixed run.
    """
    fixed = 0
    for run in cl.search_runs(
        [experiment_id], filter_string=_trial_runs_filter(study_name, parent_run_id), max_results=5000
    ):
        try:
            number = int(run.data.tags.get(TRIAL_TAG, "-1"))
        except ValueError:
            continue
        later = owners_since_ms is not None and int(run.info.start_time or 0) >= owners_since_ms
        if owners is not None and not later and not (number in owners and owners[number].owns(run)):
            fixed += mark_dropped(cl, run)
            continue
        end = ends.get(number)
        if end is None:
            continue
        tagged = run.data.tags.get(STATE_TAG) == end.state
        # still RUNNING, or a FAIL trial's run not ended FAILED by nnexp (see fail_status)
        status_wrong = run.info.status == "RUNNING" or (
            end.state == EndState.FAIL and fail_status(run) is not None
        )
        if tagged and not status_wrong:
            continue
        finish = "FAILED" if end.state == EndState.FAIL else "FINISHED"
        record_trial_outcome(
            cl,
            run.info.run_id,
            end.state,
            pruned_at=end.pruned_at,
            fail_reason=end.fail_reason if end.state in (EndState.FAIL, EndState.PRUNED) else None,
            terminate=finish if status_wrong else None,
        )
        fixed += 1
    return fixed


def mark_dropped(cl: Any, run: Any) -> int:
    """Mark ``run`` as the run of a trial the study no longer holds (cut with a damaged
    journal): tag and note say so, the name ends ``[dropped]``, and a FINISHED or RUNNING run
    becomes FAILED (never FINISHED beside the run of the new trial of that number). Returns 1
    when it changed the run, 0 when it was marked already."""
    tags = run.data.tags
    if DROPPED_TAG in tags:
        return 0
    number = tags.get(TRIAL_TAG, "?")
    name = tags.get(NAME_TAG) or f"trial-{number}"
    set_tags(
        cl,
        run.info.run_id,
        {
            DROPPED_TAG: DROPPED_NOTE,
            NAME_TAG: f"{name} [dropped]",
            NOTE_TAG: (
                f"Trial {number} of study `{tags.get(STUDY_TAG, '?')}`: {DROPPED_NOTE}. The study "
                "no longer holds this trial (its records were cut when the journal was "
                "recovered); a later trial may have the same number. This run's own records "
                "are kept as they were."
            ),
        },
    )
    if run.info.status in ("FINISHED", "RUNNING"):
        cl.set_terminated(run.info.run_id, status="FAILED")
    return 1


def fail_trial_run(
    cl: Any,
    experiment_id: str,
    study_name: str,
    number: int,
    reason: str,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    started_ms: int | None = None,
) -> None:
    """A trial marked FAIL elsewhere (reaped): FAIL tags on its run, whose status becomes
    :func:`fail_status`'s (a trial's FAIL always shows on its run). A run found by ``number``
    that started before the trial (``started_ms``) is an earlier trial's: left alone."""
    found = run_id is None
    run_id = run_id or find_trial_run(cl, experiment_id, study_name, number, parent_run_id)
    if not run_id:
        return
    run = cl.get_run(run_id)
    if found and not TrialOwner(None, started_ms).owns(run):
        return
    record_trial_outcome(cl, run_id, EndState.FAIL, fail_reason=reason, terminate=fail_status(run))


def fail_status(run: Any) -> str | None:
    """The status a FAIL trial's run must get: ``"FAILED"``, or None where it already ended as
    it should (FAILED, or KILLED by an interrupt). A FINISHED run (its worker died after training,
    before telling Optuna) and a run that any nnexp command marked KILLED because its process
    was gone (``nnexp.killed_reason``, :mod:`nnexp.tracking.liveness`: the same death the
    reaper found, seen first) both turn FAILED."""
    status = run.info.status
    if status == "FAILED" or (status == "KILLED" and KILLED_REASON_TAG not in run.data.tags):
        return None
    return "FAILED"


def tag_trial_end(
    cl: Any,
    run_id: str,
    state: str,
    *,
    pruned_at: int | None = None,
    fail_reason: str | None = None,
    trained: bool = False,
    interrupted: bool = False,
) -> None:
    """A worker's view of how its trial ended, on the trial's run.

    ``trained``: training returned (its run ended FINISHED), so a FAIL must turn it FAILED;
    ``interrupted``: a run still RUNNING is ended KILLED.
    """
    status = None
    if state == EndState.FAIL and trained:
        status = "FAILED"
    elif interrupted and cl.get_run(run_id).info.status == "RUNNING":
        status = "KILLED"
    record_trial_outcome(cl, run_id, state, pruned_at=pruned_at, fail_reason=fail_reason, terminate=status)


def run_experiment(cl: Any, run_id: str) -> str:
    """The experiment id of run ``run_id``."""
    return str(cl.get_run(run_id).info.experiment_id)


def end_run(cl: Any, run_id: str, status: str) -> None:
    """Set run ``run_id``'s terminal status (FINISHED, FAILED, KILLED)."""
    cl.set_terminated(run_id, status=status)


def log_summary(
    cl: Any,
    run_id: str,
    *,
    tags: Mapping[str, Any],
    metrics: Mapping[str, float],
    step: int,
    artifacts: str | None = None,
    artifact_path: str | None = None,
) -> None:
    """Tags, finite ``metrics`` (at ``step``) and a directory of artifacts on one run."""
    import math
    import time

    from mlflow.entities import Metric

    set_tags(cl, run_id, tags)
    ts = int(time.time() * 1000)
    batch = [Metric(k, float(v), ts, step) for k, v in metrics.items() if math.isfinite(v)]
    if batch:
        cl.log_batch(run_id, metrics=batch)
    if artifacts is not None:
        cl.log_artifacts(run_id, artifacts, artifact_path)


def log_best_trial(tracking_uri: str, run_id: str, plots_dir: str | None, model: Any, X_example: Any) -> str:
    """The best trial's run: its plots (``plots/``), its servable model, ``nnexp.best_trial``.

    Returns the model URI.
    """
    from nnexp.contract import MODEL_URI_TAG
    from nnexp.tracking.pyfunc import log_servable_model

    cl = client(tracking_uri)
    if plots_dir is not None:
        cl.log_artifacts(run_id, plots_dir, "plots")
    uri = log_servable_model(run_id, model, X_example, tracking_uri=tracking_uri)
    mark_best_run(cl, run_id, {MODEL_URI_TAG: uri})
    return uri


def mark_best_run(cl: Any, run_id: str, tags: Mapping[str, Any] | None = None) -> None:
    """Tag ``run_id`` ``nnexp.best_trial=true`` (plus ``tags``) and take the tag off every other
    run of its parent run: a resumed sweep that finds a new best leaves exactly one run per
    study claiming it."""
    from nnexp.contract import BEST_TRIAL_TAG

    run = cl.get_run(run_id)
    parent = run.data.tags.get(PARENT_RUN_TAG)
    set_tags(cl, run_id, {**(tags or {}), BEST_TRIAL_TAG: "true"})
    if not parent:
        return
    claimed = cl.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.`{PARENT_RUN_TAG}` = {_quote(parent)} and tags.`{BEST_TRIAL_TAG}` = 'true'",
        max_results=1000,
    )
    for other in claimed:
        if other.info.run_id != run_id:
            cl.delete_tag(other.info.run_id, BEST_TRIAL_TAG)
