"""The sweep's status line: trials done of ``n_trials`` by state, best so far, elapsed, ETA.

``[sweep] status: 5/30 trials done (COMPLETE 4, PRUNED 1), 1 failed, 2 running; best
val_accuracy=0.9750 (trial 3); elapsed 1m12s, ETA 4m48s``

On Ray (``hydra/launcher=nnexp_ray``) the running trials are counted per node, one per busy
worker: ``2 running on nodes 1a2b3c4d 1, 5e6f7a8b 1``.

Printed by the worker whose trial is the ``hydra.sweeper.status_every``-th, ``2 *
status_every``-th, ... to finish (right below its trial line), and by the sweeper process when
no trial has finished for ``hydra.sweeper.status_seconds`` (long trials). The ETA extrapolates this session's rate of
finished trials (all workers together) to the trials left, capped by the sweep's timeout.
A trial running far longer than its finished peers (a stopped or hung worker) is named at the
end: ``; trial 3 running 1m01s (peers ~4s), stalled?``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from nnexp.contract import NODE_ATTR, EndState
from nnexp.search.settings import STATUS_EVERY, STATUS_SECONDS  # noqa: F401 - re-exported

#: trial states that count as done
#: finished trials that count towards ``n_trials`` (FAIL trials don't: another runs instead)
DONE_STATES = (EndState.COMPLETE, EndState.PRUNED)
#: every finished trial, for the status cadence (each printed its own line)
FINISHED_STATES = (*DONE_STATES, EndState.FAIL)
#: a running trial is named as stalled past this many times its finished peers' median duration
STALL_FACTOR = 3.0
#: ... and at least this many seconds past that median (short trials jitter)
STALL_MARGIN_S = 10.0


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _done(trials: list[Any]) -> list[Any]:
    return [t for t in trials if t.state.name in DONE_STATES]


def eta_seconds(
    trials: list[Any], n_trials: int, started: float, now: float, deadline: float | None
) -> float | None:
    """Seconds until the study holds ``n_trials`` finished trials at this session's rate (trials
    finished since its first trial started; None before one finished); never past ``deadline``."""
    done = _done(trials)
    left = max(0, int(n_trials) - len(done))
    since = datetime.fromtimestamp(started)
    new = [t for t in done if t.datetime_complete is not None and t.datetime_complete >= since]
    eta = None
    if left == 0:
        eta = 0.0
    elif new:  # the rate since this session's first trial started (start-up not counted)
        first = min(t.datetime_start or since for t in new).timestamp()
        eta = max(0.0, now - max(first, started)) / len(new) * left
    if deadline is not None:
        cap = max(0.0, deadline - now)
        eta = cap if eta is None else min(eta, cap)
    return eta


def stalled_trials(trials: list[Any], now: float) -> list[tuple[int, float, float]]:
    """``(number, running seconds, peers' median seconds)`` of each RUNNING trial that has run
    much longer than the finished ones (a stopped or hung worker); empty before one finished."""
    took = sorted(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.state.name in FINISHED_STATES and t.datetime_start and t.datetime_complete
    )
    if not took:
        return []
    median = took[len(took) // 2]
    limit = max(STALL_FACTOR * median, median + STALL_MARGIN_S)
    out = []
    for t in trials:
        if t.state.name == "RUNNING" and t.datetime_start is not None:
            age = now - t.datetime_start.timestamp()
            if age > limit:
                out.append((t.number, age, median))
    return out


def workers_per_node(trials: list[Any]) -> str:
    """`` on nodes 1a2b3c4d 2, 5e6f7a8b 1``: the running trials (one per busy worker) by Ray
    node (``hydra/launcher=nnexp_ray``); empty when no running trial names a node."""
    counts: dict[str, int] = {}
    for t in trials:
        node = t.user_attrs.get(NODE_ATTR) if t.state.name == "RUNNING" else None
        if node:
            counts[str(node)[:8]] = counts.get(str(node)[:8], 0) + 1
    if not counts:
        return ""
    return " on nodes " + ", ".join(f"{node} {n}" for node, n in sorted(counts.items()))


def status_line(
    trials: list[Any],
    *,
    n_trials: int,
    metric: str,
    direction: str,
    started: float,
    now: float,
    deadline: float | None = None,
) -> str:
    """The status line for the study's ``trials`` (see the module doc)."""
    from nnexp.search.lines import format_number
    from nnexp.search.results import best_trial, state_counts

    done = _done(trials)
    counts = state_counts(done)
    by_state = ", ".join(f"{k} {counts[k]}" for k in DONE_STATES if counts.get(k))
    running = sum(1 for t in trials if t.state.name == "RUNNING")
    failed = sum(1 for t in trials if t.state.name == EndState.FAIL)
    best = best_trial(trials, direction)
    eta = eta_seconds(trials, n_trials, started, now, deadline)
    stalled = "".join(
        f"; trial {n} running {duration(age)} (peers ~{duration(peers)}), stalled?"
        for n, age, peers in stalled_trials(trials, now)
    )
    return (
        f"[sweep] status: {len(done)}/{n_trials} trials done"
        + (f" ({by_state})" if by_state else "")
        + (f", {failed} failed" if failed else "")
        + f", {running} running{workers_per_node(trials)}; "
        + (
            f"best {metric}={format_number(best.value)} (trial {best.number})"
            if best is not None
            else "no trial completed yet"
        )
        + f"; elapsed {duration(now - started)}, ETA "
        + (duration(eta) if eta is not None else "unknown")
        + stalled
    )


def finished_rank(trials: list[Any], number: int) -> int | None:
    """How many trials had finished when trial ``number`` did (itself included; ordered by
    completion time, then number), None when it is not among the finished ones. Each trial has
    its own rank, so workers reading the study at the same moment never print the same status."""
    done = sorted(
        (t for t in trials if t.state.name in FINISHED_STATES and t.datetime_complete is not None),
        key=lambda t: (t.datetime_complete, t.number),
    )
    for rank, t in enumerate(done, start=1):
        if t.number == number:
            return rank
    return None


def status_due(trials: list[Any], number: int, every: int) -> bool:
    """True when trial ``number`` was the ``every``-th, ``2 * every``-th, ... trial to finish
    (the worker that ran it prints the status line below its trial line)."""
    rank = finished_rank(trials, number)
    return rank is not None and rank % max(1, int(every)) == 0


class StatusTicker:
    """The sweeper's status line on long trials: a daemon thread that prints one when trials
    are running and none has finished (nor a line was printed here) for ``seconds``."""

    def __init__(
        self,
        get_trials: Callable[[], list[Any]],
        line: Callable[[list[Any], float], str],
        *,
        seconds: float,
        started: float,
        stream: TextIO | None = None,
    ) -> None:
        self.get_trials = get_trials
        self.line = line
        self.seconds = float(seconds)
        self.last = started
        self.stream = stream
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="nnexp-sweep-status", daemon=True)

    def __enter__(self) -> StatusTicker:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        poll = max(0.2, min(5.0, self.seconds / 4))
        while not self.stop_event.wait(poll):
            try:
                self.tick(time.time())
            except Exception:  # noqa: BLE001 - a status line must never disturb the sweep
                continue

    def tick(self, now: float) -> str | None:
        """Print (and return) a status line when one is due at ``now``."""
        from nnexp.search.lines import print_line

        if now - self.last < self.seconds:
            return None
        trials = self.get_trials()
        finished = [t.datetime_complete.timestamp() for t in trials if t.datetime_complete]
        self.last = max([self.last, *finished])
        running = any(t.state.name == "RUNNING" for t in trials)
        if not running or now - self.last < self.seconds:
            return None
        self.last = now
        text = self.line(trials, now)
        print_line(text, self.stream)
        return text


def sweep_status(ctx: Any, trials: list[Any], now: float) -> str:
    """:func:`status_line` for the sweep that ``ctx`` (a ``SweepContext``) describes."""
    return status_line(
        trials,
        n_trials=ctx.n_trials,
        metric=ctx.metric,
        direction=ctx.direction,
        started=ctx.started,
        now=now,
        deadline=ctx.deadline,
    )
