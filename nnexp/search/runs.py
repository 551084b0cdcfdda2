"""The sweep's MLflow parent and child runs, seen from Optuna: what to tag, when.

All MLflow requests go through :mod:`nnexp.tracking.sweep_runs`; this module turns Optuna's
view (trials, reaped trials, a worker's :class:`~nnexp.search.trial.TrialOutcome`) into calls
of it. ``None`` clients (tracking disabled) make every function a no-op.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from nnexp.contract import (
    FAIL_REASON_ATTR,
    OPTUNA_STUDY_TAG,
    PRUNE_REASON_ATTR,
    PRUNED_AT_ATTR,
    RUN_ID_ATTR,
    STATE_TAG,
    STUDY_PARENT_RUN,
    STUDY_UID,
    SWEEP_PRUNER_TAG,
    SWEEP_SAMPLER_TAG,
    SWEEP_SPACE_TAG,
    SWEEP_STORAGE_TAG,
    EndState,
)
from nnexp.tracking import sweep_runs
from nnexp.tracking.liveness import process_tags

log = logging.getLogger(__name__)


def trial_owner(trial: Any) -> sweep_runs.TrialOwner:
    """What tells ``trial``'s own run from runs of earlier trials of its number."""
    start = trial.datetime_start
    return sweep_runs.TrialOwner(
        trial.user_attrs.get(RUN_ID_ATTR), int(start.timestamp() * 1000) if start else None
    )


class SweepRuns:
    """One sweep's runs in one experiment of one tracking store."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_id: str | None,
        study_name: str,
        parent_run_id: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.study_name = study_name
        #: the study's parent run: its trial runs are the children of this one
        self.parent_run_id = parent_run_id
        self._client: Any = None
        #: (run id, storage) of a parent run of another study of the same name, when this
        #: study's parent run was created beside it (said on the sweep's start line)
        self.other_parent: tuple[str, str] | None = None

    @property
    def client(self) -> Any:
        """The MLflow client, made on first use."""
        if self._client is None:
            self._client = sweep_runs.client(self.tracking_uri)
        return self._client

    def start_parent(self, study: Any, settings: Mapping[str, Any], storage: str, space: Any) -> str:
        """Create (or reopen, on resume) the study's parent run; record its id on the study.

        The parent run is matched on the study's identity (``STUDY_UID``, set here once), so a
        second study of the same name gets a parent run of its own (:attr:`other_parent` names
        the other study's). A study whose recorded parent run is gone from the store (the
        store was deleted or replaced) gets a warning and a new parent run
        (:meth:`warn_lost_runs`). Call it under the study's count lock."""
        import uuid

        uid = study.user_attrs.get(STUDY_UID)
        if not uid:
            uid = uuid.uuid4().hex
            study.set_user_attr(STUDY_UID, uid)
        known = study.user_attrs.get(STUDY_PARENT_RUN)
        lost = bool(known) and not self.run_exists(str(known))
        parent = sweep_runs.start_parent_run(
            self.tracking_uri,
            str(self.experiment_id),
            self.study_name,
            known_run_id=None if lost else known,
            study_uid=str(uid),
            tags={
                **process_tags(),  # this sweeper's pid: marked KILLED once it is gone
                OPTUNA_STUDY_TAG: self.study_name,
                SWEEP_SAMPLER_TAG: settings.get("sampler"),
                SWEEP_PRUNER_TAG: settings.get("pruner"),
                SWEEP_STORAGE_TAG: storage,
                SWEEP_SPACE_TAG: space.describe(),
            },
        )
        study.set_user_attr(STUDY_PARENT_RUN, parent.run_id)
        self.parent_run_id = parent.run_id
        if not parent.resumed and parent.other_run_id and parent.other_run_id != known:
            self.other_parent = (parent.other_run_id, parent.other_storage or "?")
        if lost:
            self.warn_lost_runs(study, str(known), parent.run_id)
        return parent.run_id

    def run_exists(self, run_id: str) -> bool:
        """Whether ``run_id`` is (still) an active run of this tracking store."""
        return sweep_runs.run_exists(self.client, run_id)

    def warn_lost_runs(self, study: Any, lost_parent: str, new_parent: str) -> None:
        """Say that the study's earlier MLflow runs are gone, and what that means."""
        from nnexp.search.lines import print_line
        from nnexp.tracking.masking import mask_secrets

        n = sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished())
        print_line(
            f"[sweep] warning: the MLflow runs of study {self.study_name!r} are gone from the "
            f"tracking store {mask_secrets(self.tracking_uri)} (its parent run {lost_parent} "
            "is not there: the store was deleted or replaced, or the run deleted). Continuing "
            f"in a new parent run {new_parent}; the study's {n} earlier trial(s) keep their "
            "Optuna records, but those whose runs are gone cannot be reproduced from MLflow.",
            sys.stderr,
        )

    def mark_reaped(self, item: Any) -> None:
        """``on_reaped`` for :func:`nnexp.search.stale.reap_stale_trials`."""
        if self.experiment_id:
            sweep_runs.fail_trial_run(
                self.client,
                self.experiment_id,
                self.study_name,
                item.number,
                item.reason,
                run_id=item.mlflow_run_id,
                parent_run_id=self.parent_run_id,
                started_ms=item.started_ms,
            )

    def cut_reason(self, trial: Any) -> str | None:
        """Why RUNNING ``trial`` is not running, when its run says it ended COMPLETE or PRUNED
        (so it told Optuna, and the storage lost that: its journal was cut in a recovery);
        None otherwise or when tracking cannot tell."""
        if not self.experiment_id:
            return None
        try:
            run_id = trial.user_attrs.get(RUN_ID_ATTR) or sweep_runs.find_trial_run(
                self.client, self.experiment_id, self.study_name, trial.number, self.parent_run_id
            )
            run = self.client.get_run(run_id) if run_id else None
        except Exception as exc:  # noqa: BLE001 - the reaper's own reason stands
            log.debug("trial %d: run not read: %s", trial.number, exc)
            return None
        state = run.data.tags.get(STATE_TAG) if run is not None else None
        if state not in (EndState.COMPLETE, EndState.PRUNED) or not trial_owner(trial).owns(run):
            return None
        return (
            f"its end ({state}, run {run_id}) is not in the study's storage any more: it was "
            "cut with the damaged journal"
        )

    def tag_outcome(self, out: Any, *, trained: bool, interrupted: bool = False) -> None:
        """Tag the run of a worker's trial with how it ended; never raises."""
        try:
            run_id = out.run_id or (
                sweep_runs.find_trial_run(
                    self.client, self.experiment_id, self.study_name, out.number, self.parent_run_id
                )
                if self.experiment_id
                else None
            )
            if run_id:
                sweep_runs.tag_trial_end(
                    self.client,
                    run_id,
                    out.state,
                    pruned_at=out.pruned_at,
                    fail_reason=out.reason,
                    trained=trained,
                    interrupted=interrupted,
                )
        except Exception as exc:  # noqa: BLE001 - tracking trouble must not stop the sweep
            log.warning("trial %d: could not tag its MLflow run: %s", out.number, exc)

    def reconcile(self, study: Any) -> int:
        """Make the trial runs agree with the study: finished trials' states on their runs,
        and runs whose trial the study no longer holds marked dropped."""
        if not self.experiment_id:
            return 0
        import time

        since_ms = int(time.time() * 1000)  # runs created from now on: of trials not seen here
        trials = study.get_trials(deepcopy=False)
        ends = {
            t.number: sweep_runs.TrialEnd(
                t.state.name,
                pruned_at=t.user_attrs.get(PRUNED_AT_ATTR),
                fail_reason=t.user_attrs.get(FAIL_REASON_ATTR) or t.user_attrs.get(PRUNE_REASON_ATTR),
            )
            for t in trials
            if t.state.is_finished()
        }
        owners = {t.number: trial_owner(t) for t in trials}
        return sweep_runs.reconcile_trial_runs(
            self.client,
            self.experiment_id,
            self.study_name,
            ends,
            parent_run_id=self.parent_run_id,
            owners=owners if self.parent_run_id else None,
            owners_since_ms=since_ms,
        )

    def end_parent(self, run_id: str, status: str) -> None:
        """Set the parent run's terminal status."""
        sweep_runs.end_run(self.client, run_id, status)

    def warm_up(self) -> None:
        """Open the store once (its engine, its tables) so the first trial doesn't pay for it."""
        if self.experiment_id:
            try:
                self.client.get_experiment(self.experiment_id)
            except Exception as exc:  # noqa: BLE001 - the first trial will report it properly
                log.debug("tracking warm-up failed: %s", exc)
