"""Retrying the trials of dead workers: the same params again, as a new (enqueued) trial.

Like Optuna's ``RetryFailedTrialCallback``, only trials that the reaper marked FAIL (their worker
died or stopped beating) are retried; a trial that failed by itself (an exception, divergence)
is a result, not a fault. With ``hydra.sweeper.max_retries`` > 0 the reaped trial gets the user
attribute ``retried=true`` and the same params are enqueued with ``retry_of`` (the original
number) and ``retries`` (how many times these params were retried). A retried trial does not
count towards ``n_trials``: the sweep still reaches ``n_trials`` trials besides the retried ones.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)

RETRIED_ATTR = "retried"
RETRY_OF_ATTR = "retry_of"
RETRIES_ATTR = "retries"


def counted_trials(trials: list[FrozenTrial]) -> int:
    """Trials that count towards ``n_trials``: all but the reaped ones that were retried."""
    return sum(
        1
        for t in trials
        if not (t.state == TrialState.FAIL and t.user_attrs.get(RETRIED_ATTR))
    )


def remaining_trials(trials: list[FrozenTrial], n_trials: int) -> int:
    """Trials still to run: enqueued (WAITING) ones, which already count, plus the shortfall.

    A retry enqueued by the reaper keeps the count where it was, so a study can hold
    ``n_trials`` counted trials and still have a WAITING retry that must run.
    """
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    return waiting + max(0, n_trials - counted_trials(trials))


def should_retry(trial: FrozenTrial, max_retries: int) -> bool:
    """Whether a reaped ``trial``'s params get another run (fewer than ``max_retries`` so far)."""
    done = int(trial.user_attrs.get(RETRIES_ATTR, 0))
    return max_retries > 0 and done < max_retries and bool(trial.params)


def enqueue_retry(study: optuna.Study, trial: FrozenTrial, max_retries: int) -> None:
    """Enqueue ``trial``'s params again, with ``retry_of`` and ``retries`` user attributes.

    The reaper calls it under the count lock, after it set ``retried`` on the trial and
    marked it FAIL, so the study's count stays the same.
    """
    done = int(trial.user_attrs.get(RETRIES_ATTR, 0))
    attrs: dict[str, Any] = {
        RETRY_OF_ATTR: int(trial.user_attrs.get(RETRY_OF_ATTR, trial.number)),
        RETRIES_ATTR: done + 1,
    }
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)
    log.warning(
        "trial %d: params enqueued again (retry %d of %d)",
        trial.number,
        done + 1,
        max_retries,
    )
