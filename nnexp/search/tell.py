"""How a trial's end is stored in Optuna: tell COMPLETE / PRUNED / FAIL, retry faults, and
hold the FAILs that could not be stored while the storage was down until it is back."""

from __future__ import annotations

import logging

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from nnexp.contract import FAIL_REASON_ATTR, RETRIED_ATTR, EndState
from nnexp.search.stale import enqueue_retry, should_retry
from nnexp.search.storage import count_lock
from nnexp.search.trial import TrialOutcome

log = logging.getLogger(__name__)


class Teller:
    """Tells one worker's trials to the study."""

    def __init__(self, study: optuna.Study, storage_url: str, max_retries: int) -> None:
        self.study = study
        self.storage_url = storage_url
        self.max_retries = int(max_retries)
        self.unfinished: list[tuple[optuna.Trial, TrialOutcome]] = []

    def fail(self, trial: optuna.Trial, out: TrialOutcome, quiet: bool = False) -> bool:
        """Tell FAIL with the reason; False when the storage could not be written."""
        out.state = EndState.FAIL
        try:
            trial.set_user_attr(FAIL_REASON_ATTR, out.reason or "unknown")
            self.study.tell(trial, state=TrialState.FAIL)
        except (UpdateFinishedTrialError, ValueError) as exc:
            if not quiet:
                log.warning("trial %d could not be marked FAIL: %s", trial.number, exc)
        except Exception as exc:  # noqa: BLE001 - storage down: told again after reconnecting
            if not quiet:
                log.warning("trial %d could not be marked FAIL: %s", trial.number, exc)
            return False
        return True

    def fail_or_retry(self, trial: optuna.Trial, out: TrialOutcome) -> None:
        """Tell FAIL; a trial failed by a lost service (``out.fault``) is retried with
        ``max_retries``. A FAIL the storage refused is kept for :meth:`settle`."""
        if not self._fail_and_retry(trial, out):
            self.unfinished.append((trial, out))

    def _fail_and_retry(self, trial: optuna.Trial, out: TrialOutcome) -> bool:
        """With ``max_retries`` a lost-service failure is a fault, not a result, so (as the
        reaper does for dead workers) the trial is marked ``retried`` and its params are
        enqueued again, all under the count lock. Returns False when FAIL could not be stored."""
        if out.fault is None or self.max_retries <= 0:
            return self.fail(trial, out, quiet=out.fault == "storage")
        try:
            frozen = self.study._storage.get_trial(trial._trial_id)
            if not should_retry(frozen, self.max_retries):
                return self.fail(trial, out)
            with count_lock(self.storage_url, self.study.study_name):
                trial.set_user_attr(RETRIED_ATTR, True)
                if not self.fail(trial, out):
                    return False
                enqueue_retry(self.study, frozen, self.max_retries)
            return True
        except Exception as exc:  # noqa: BLE001 - counted as an ordinary FAIL then
            log.warning("trial %d: not retried: %s", trial.number, exc)
            return self.fail(trial, out, quiet=True)

    def settle(self) -> None:
        """Tell FAIL the trials whose end could not be stored while the storage was down."""
        pending, self.unfinished = self.unfinished, []
        for trial, out in pending:
            try:
                trial.set_user_attr(FAIL_REASON_ATTR, out.reason or "unknown")
                self.study.tell(trial, state=TrialState.FAIL)
            except (UpdateFinishedTrialError, ValueError):
                pass  # reaped meanwhile
            except Exception as exc:  # noqa: BLE001 - the reaper will get it
                log.warning("trial %d still could not be marked FAIL: %s", trial.number, exc)
