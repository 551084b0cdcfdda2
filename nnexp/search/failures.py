"""The failure guard: a sweep whose trials keep failing stops (``hydra.sweeper.max_failures``).

FAIL trials do not count towards ``n_trials`` (:func:`nnexp.search.stale.counted_trials`), so
without a bound a sweep whose every trial fails would run for ever. The bound is on the FAIL
trials of this sweep invocation, in total (not consecutive: occasional failures spread over a
long sweep add up, and the worst case stays ``n_trials + max_failures`` trials). FAIL trials the
study already held when the sweep started (an earlier run of the same command) are not counted,
so fixing the cause and rerunning starts afresh. ``null`` means ``n_trials``.

The sweeper records the bound and the FAIL count at its start in the context file; each worker
checks it under the count lock before it asks for a trial, and the sweeper once more at the end
(exit 1 with the last failure's reason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import FAIL_REASON_ATTR


def max_failures(s: Mapping[str, Any]) -> int:
    """``hydra.sweeper.max_failures`` (checked by ``settings.check_max_failures``); null ->
    ``n_trials``."""
    value = s.get("max_failures")
    return int(s["n_trials"]) if value is None else int(value)


def failed(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The FAIL trials, in trial order."""
    return sorted((t for t in trials if t.state == TrialState.FAIL), key=lambda t: t.number)


def last_failure(trials: Sequence[FrozenTrial]) -> str:
    """``trial <n>: <reason>`` of the latest FAIL trial (empty without one)."""
    fails = failed(trials)
    if not fails:
        return ""
    t = fails[-1]
    return f"trial {t.number}: {t.user_attrs.get(FAIL_REASON_ATTR, 'no reason recorded')}"


def too_many_failures(trials: Sequence[FrozenTrial], bound: int | None, failed_before: int = 0) -> str | None:
    """Why the sweep must stop (its message), or None while fewer than ``bound``
    (``max_failures``) of this invocation's trials failed; ``failed_before``: the FAIL trials
    the study held when it started (the sweep context records both)."""
    if bound is None:
        return None
    n_failed = len(failed(trials)) - int(failed_before)
    if n_failed < int(bound):
        return None
    return (
        f"stopped after {n_failed} failed trials (hydra.sweeper.max_failures={bound}); "
        f"the last failure: {last_failure(trials)}"
    )
