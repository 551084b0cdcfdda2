"""Stale trials: RUNNING trials whose worker is gone become FAIL (and their MLflow runs FAILED).

Each worker stamps its trial with ``worker_host``, ``worker_pid`` and ``heartbeat`` (epoch
seconds, refreshed every epoch) as user attributes. A RUNNING trial is stale when

* its worker ran on this host and that process no longer exists (immediate), or
* its heartbeat is older than ``stale_after`` seconds (any host, any storage).

The sweeper also reaps trials no worker claimed (:func:`unclaimed_reason`). Reaping runs in
the sweeper before the workers start (this is what makes resume after a crash exact) and after
each round of workers, and in each worker before it asks for a new trial.

Retries (``hydra.sweeper.max_retries``): like Optuna's ``RetryFailedTrialCallback``, only
trials that the reaper marked FAIL (their worker died or stopped beating) are retried; a trial
that failed by itself (an exception, divergence) is a result, not a fault. With
``max_retries`` > 0 the reaped trial gets the user attribute ``retried=true`` and the same
params are enqueued with ``retry_of`` (the original number) and ``retries`` (how many times
these params were retried). No FAIL trial counts towards ``n_trials`` (:func:`counted_trials`):
the sweep still reaches ``n_trials`` finished trials besides the failed and retried ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import (
    FAIL_REASON_ATTR,
    HEARTBEAT_ATTR,
    HOST_ATTR,
    NODE_ATTR,
    PID_ATTR,
    PID_NS_ATTR,
    PID_START_ATTR,
    RETRIED_ATTR,
    RETRIES_ATTR,
    RETRY_OF_ATTR,
    RUN_ID_ATTR,
)

log = logging.getLogger(__name__)


@dataclass
class Reaped:
    """One trial marked FAIL by the reaper."""

    number: int
    reason: str
    mlflow_run_id: str | None
    retried: bool = False
    #: the trial's start (epoch ms): a run found by its number that started before is not its
    started_ms: int | None = None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    from nnexp.tracking.liveness import process_alive

    return process_alive(pid)


def worker_identity(host: str, pid: int) -> dict[str, Any]:
    """The user attrs by which a worker owns a trial: host, pid, its start time and pid
    namespace where this system tells them (:func:`worker_dead` reads them back)."""
    from nnexp.tracking.liveness import pid_namespace, process_start

    attrs: dict[str, Any] = {HOST_ATTR: host, PID_ATTR: pid}
    start, ns = process_start(pid), pid_namespace()
    if start is not None:
        attrs[PID_START_ATTR] = start
    if ns:
        attrs[PID_NS_ATTR] = ns
    return attrs


def worker_dead(attrs: Mapping[str, Any], dead: Collection[tuple[str, int]] = ()) -> bool:
    """Whether the worker a trial's user ``attrs`` name is known dead: one a launcher saw die
    (``dead``: (host, pid), on any host: a Ray node's), or by the rule runs follow
    (:func:`nnexp.tracking.liveness.process_dead`: host, pid, start time, pid namespace)."""
    from nnexp.tracking.liveness import process_dead

    host, pid = attrs.get(HOST_ATTR), attrs.get(PID_ATTR)
    if isinstance(pid, int) and (host, pid) in dead:
        return True
    return process_dead(host, pid, attrs.get(PID_START_ATTR), attrs.get(PID_NS_ATTR))


def stale_reason(
    trial: FrozenTrial,
    stale_after: float,
    now: float | None = None,
    dead: Collection[tuple[str, int]] = (),
) -> str | None:
    """Why ``trial`` (RUNNING) is stale, or None when its worker may still be alive. ``dead``:
    (host, pid) of workers a launcher saw die (on any host: a Ray node's)."""
    now = time.time() if now is None else now
    attrs = trial.user_attrs
    if worker_dead(attrs, dead):
        return f"worker process {attrs.get(PID_ATTR)} on {worker_place(attrs)} died while the trial was running"
    beat = attrs.get(HEARTBEAT_ATTR)
    if beat is None and trial.datetime_start is not None:
        beat = trial.datetime_start.timestamp()
    if beat is not None and now - float(beat) > stale_after:
        return f"no heartbeat for {now - float(beat):.0f}s (hydra.sweeper.stale_after={stale_after:g})"
    return None


def worker_place(attrs: dict[str, Any]) -> str:
    """Where a trial's worker ran: its host, or ``node <Ray node id> (<host>)``."""
    host, node = attrs.get(HOST_ATTR), attrs.get(NODE_ATTR)
    return f"node {str(node)[:12]} ({host})" if node else str(host)


def unclaimed_reason(trial: FrozenTrial) -> str | None:
    """Why RUNNING ``trial`` has no worker, when none recorded itself as its owner.

    A worker asks for a trial and records its host, pid and heartbeat under the count lock, so
    a trial seen without them (or with only some) by a caller holding that lock was abandoned: its worker lost the
    storage (a database restart) between creating the trial and claiming it. Only the sweeper
    applies this rule (:meth:`nnexp.search.prepare.Prepared.reap`)."""
    if all(key in trial.user_attrs for key in (HOST_ATTR, PID_ATTR, HEARTBEAT_ATTR)):
        return None
    return "no worker claimed it: its worker lost the storage right after creating the trial"


def reap_stale_trials(
    study: optuna.Study,
    stale_after: float,
    on_reaped: Callable[[Reaped], None] | None = None,
    max_retries: int = 0,
    reason_for: Callable[[FrozenTrial, str | None], str | None] | None = None,
    dead: Collection[tuple[str, int]] = (),
) -> list[Reaped]:
    """Mark stale RUNNING trials FAIL with a ``fail_reason``; return what was reaped.

    With ``max_retries`` > 0 each reaped trial's params are enqueued again
    (:func:`enqueue_retry`). ``reason_for(trial, stale reason or None)`` may give the final
    reason (None: the trial runs on): the sweeper's knowledge of trials no worker owns
    (:func:`unclaimed_reason`) and of trials whose end a journal recovery cut. Call it under
    the count lock. ``dead``: (host, pid) of workers the launcher saw die (:func:`stale_reason`).
    """
    reaped: list[Reaped] = []
    now = time.time()
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = stale_reason(trial, stale_after, now, dead)
        if reason_for is not None:
            reason = reason_for(trial, reason)
        if reason is None:
            continue
        retry = should_retry(trial, max_retries)
        try:
            storage.set_trial_user_attr(trial._trial_id, FAIL_REASON_ATTR, reason)
            if retry:
                storage.set_trial_user_attr(trial._trial_id, RETRIED_ATTR, True)
            study.tell(trial.number, state=TrialState.FAIL)
        except (UpdateFinishedTrialError, RuntimeError, ValueError):
            continue  # finished meanwhile
        start = trial.datetime_start
        item = Reaped(
            trial.number,
            reason,
            trial.user_attrs.get(RUN_ID_ATTR),
            started_ms=int(start.timestamp() * 1000) if start else None,
        )
        log.warning("trial %d marked FAIL: %s", trial.number, reason)
        if retry:
            enqueue_retry(study, trial, max_retries)
            item.retried = True
        reaped.append(item)
        if on_reaped is not None:
            try:
                on_reaped(item)
            except Exception as exc:  # noqa: BLE001 - tracking trouble must not stop the sweep
                log.warning(
                    "could not mark the MLflow run of trial %d failed: %s",
                    trial.number,
                    exc,
                )
    return reaped


# -- retries --------------------------------------------------------------------------------


#: States that take a slot of ``n_trials``: finished trials and those in flight. FAIL trials
#: (exceptions, divergence, dead workers, lost services, interrupts) do not: a sweep runs
#: until ``n_trials`` trials finished, bounded by ``hydra.sweeper.max_failures``.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def counted_trials(trials: list[FrozenTrial]) -> int:
    """Trials that count towards ``n_trials``: COMPLETE, PRUNED and RUNNING (in flight)."""
    return sum(1 for t in trials if t.state in BUDGET_STATES)


def remaining_trials(trials: list[FrozenTrial], n_trials: int) -> int:
    """Trials still to run: ``n_trials`` minus the counted ones.

    Enqueued (WAITING) trials, retries of reaped ones, fill the slots their FAIL freed:
    ``study.ask`` hands them out first.
    """
    return max(0, n_trials - counted_trials(trials))


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
