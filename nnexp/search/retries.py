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
from optuna.trial import FrozenTrial

log = logging.getLogger(__name__)

RETRIED_ATTR = "retried"
RETRY_OF_ATTR = "retry_of"
RETRIES_ATTR = "retries"


def counted_trials(trials: list[FrozenTrial]) -> int:
    """Trials that count towards ``n_trials``: all but the reaped ones that were retried."""
    return sum(1 for t in trials if not t.user_attrs.get(RETRIED_ATTR))


def retry_trial(study: optuna.Study, trial: FrozenTrial, max_retries: int) -> bool:
    """Enqueue ``trial``'s params again unless they were retried ``max_retries`` times already.

    Call it right after the trial was marked FAIL by the reaper, under the count lock.
    """
    done = int(trial.user_attrs.get(RETRIES_ATTR, 0))
    if max_retries <= 0 or done >= max_retries or not trial.params:
        return False
    original = int(trial.user_attrs.get(RETRY_OF_ATTR, trial.number))
    study._storage.set_trial_user_attr(trial._trial_id, RETRIED_ATTR, True)
    attrs: dict[str, Any] = {RETRY_OF_ATTR: original, RETRIES_ATTR: done + 1}
    for key in ("overrides",):
        if key in trial.user_attrs:
            attrs[key] = trial.user_attrs[key]
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)
    log.warning(
        "trial %d: params enqueued again (retry %d of %d)",
        trial.number,
        done + 1,
        max_retries,
    )
    return True
