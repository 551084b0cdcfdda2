"""Dead workers never end a sweep: reap their trials, start replacements, until the study is full.

A worker process can die under the launcher (``kill -9``, the kernel's OOM killer, a segfault).
nnexp's launcher (``hydra/launcher=nnexp``, the ``hparams_search`` configs' choice: each job in
a process of its own) lets the other jobs run to their end, then raises loky's
``TerminatedWorkerError``; Hydra's joblib launcher raises it at once and -- loky's pool is one
unit -- SIGKILLs the other workers of that pool too; submitit raises ``UncompletedJobError``
for the dead job (its other jobs run on). Either way the launching process, not the workers,
sees it. :func:`launch_until_done` catches it and

1. reaps at once the RUNNING trials whose worker process is gone (they become FAIL with the
   reason ``worker process <pid> on <host> died while the trial was running``, their MLflow
   runs FAILED; with ``hydra.sweeper.max_retries`` their params are enqueued again --
   :mod:`nnexp.search.stale`);
2. launches ``min(n_jobs, trials left)`` new worker jobs through the same Hydra launcher (new
   job numbers, so new output dirs and sampler seeds) when trials remain. nnexp's launcher
   reports each death at once (its ``on_death`` hook) while the other workers run: the
   sweeper reaps then and there and asks it for one replacement job when trials remain;
3. gives up with :class:`~nnexp.errors.SweepFailed` when a round of workers died without any
   trial finishing or being reaped (a worker that dies before it asks for a trial would
   otherwise be replaced for ever).

When a round of workers ends without a death, no trial still RUNNING can be theirs: trials
that no worker claimed (a worker lost the storage right after creating one, as a database
restart does) are reaped and a replacement round runs while trials remain, so a sweep never
ends exit 0 one trial short.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any

from nnexp.errors import SweepFailed
from nnexp.search.launch import DEAD_WORKERS_ATTR, Launched, launch_workers
from nnexp.search.lines import print_line
from nnexp.search.prepare import Prepared
from nnexp.search.stale import remaining_trials

#: (module, class) of the errors a launcher raises when one of its worker processes died
WORKER_DEATH_ERRORS = (
    ("joblib.externals.loky.process_executor", "TerminatedWorkerError"),
    ("concurrent.futures.process", "BrokenProcessPool"),
    ("submitit.core.utils", "UncompletedJobError"),
)


#: Ray's errors for an actor or task whose worker process, node or owner died
#: (``hydra/launcher=nnexp_ray``; counted only once Ray is imported: the launcher's setup does)
RAY_DEATH_ERRORS = (
    ("ray.exceptions", "RayActorError"),  # ActorDiedError, ActorUnavailableError
    ("ray.exceptions", "WorkerCrashedError"),
    ("ray.exceptions", "NodeDiedError"),
    ("ray.exceptions", "LocalRayletDiedError"),
    ("ray.exceptions", "ObjectLostError"),  # OwnerDiedError
)


def worker_death_errors() -> tuple[type[BaseException], ...]:
    """The importable classes of :data:`WORKER_DEATH_ERRORS` (launchers are optional), and of
    :data:`RAY_DEATH_ERRORS` once Ray is imported (importing it costs seconds)."""
    import importlib

    found: list[type[BaseException]] = []
    names = WORKER_DEATH_ERRORS + (RAY_DEATH_ERRORS if "ray" in sys.modules else ())
    for module, name in names:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def first_line(exc: BaseException) -> str:
    """The launcher's error in one line: its first sentence and the exit codes loky reports
    (``TerminatedWorkerError: A worker process ... terminated (exit codes {SIGKILL(-9)})``)."""
    text = " ".join(str(exc).split())
    codes = re.search(r"exit codes? of the workers? (?:are|is) (\{[^}]*\})", text)
    head = text.split(". ")[0].rstrip(".")[:200]
    return f"{type(exc).__name__}: {head}" + (f" (exit codes {codes.group(1)})" if codes else "")


def launch_until_done(p: Prepared, launcher: Any, first_job: int = 0) -> Launched:
    """Launch the worker jobs (numbered from ``first_job``); after a worker died, reap and
    relaunch until the study is full."""
    deaths = worker_death_errors()
    total = Launched()
    n_workers, next_job = p.ctx.n_jobs, first_job
    progress = [_progress(p)]
    if hasattr(launcher, "on_death"):  # nnexp's launcher: replace a dead worker at once
        launcher.on_death = lambda exc: _replace_now(p, exc, progress, deaths)
    while True:
        try:
            got = launch_workers(p, launcher, n_workers=n_workers, initial_job_idx=next_job)
        except deaths as exc:
            next_job = getattr(launcher, "next_job_idx", next_job + n_workers)
            n_workers, progress[0] = _after_death(p, exc, progress[0])
            if n_workers == 0:
                return total
            continue
        total.crashed += got.crashed
        total.unreachable += got.unreachable
        total.disk_full += got.disk_full
        if got.crashed or got.unreachable or got.disk_full:
            return total
        next_job = getattr(launcher, "next_job_idx", next_job + n_workers)
        n_workers = _after_round(p)
        if n_workers == 0:
            return total


def _after_round(p: Prepared) -> int:
    """Every worker of the round ended, so no trial still RUNNING is theirs: reap the ones no
    worker owns now (one whose worker lost the storage right after creating it,
    :func:`~nnexp.search.stale.unclaimed_reason`) and return how many workers to start for the
    trials left (0: the sweep is done). Each round that starts workers reaped a trial, so the
    rounds end."""
    reaped = p.reap()
    for item in reaped:
        again = "; its params run again" if item.retried else ""
        print_line(f"[sweep] trial {item.number} failed: {item.reason}{again}", sys.stderr)
    left = remaining_trials(p.study.get_trials(deepcopy=False), p.ctx.n_trials)
    deadline = p.ctx.deadline
    if not reaped or left <= 0 or (deadline is not None and time.time() >= deadline):
        return 0
    n_workers = max(1, min(p.ctx.n_jobs, left))
    print_line(f"[sweep] {left} trial(s) left; starting {n_workers} worker(s)", sys.stderr)
    return n_workers


def _progress(p: Prepared) -> tuple[int, int]:
    """(finished trials, all trials) of the study: a round that changes neither did nothing."""
    trials = p.study.get_trials(deepcopy=False)
    return sum(1 for t in trials if t.state.is_finished()), len(trials)


def _replace_now(
    p: Prepared,
    exc: BaseException,
    progress: list[tuple[int, int]],
    deaths: tuple[type[BaseException], ...],
) -> int | None:
    """nnexp's launcher hook, while the other workers run: reap the dead worker's trial and
    start one replacement when trials remain (0 when none do). None (the launcher raises the
    error once every worker ended) for an error that is no worker death, or a death without
    progress since the last (the relaunch path then stops the sweep)."""
    if not isinstance(exc, deaths):
        return None
    try:
        left, progress[0] = _reap_after_death(p, exc, progress[0])
    except SweepFailed:
        return None
    if left > 0:
        print_line(f"[sweep] {left} trial(s) left; starting a replacement worker", sys.stderr)
    return 1 if left > 0 else 0


def _after_death(p: Prepared, exc: BaseException, before: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    """Reap the dead workers' trials; return (workers to relaunch, progress now)."""
    left, now = _reap_after_death(p, exc, before)
    if left <= 0:
        return 0, now
    n_workers = max(1, min(p.ctx.n_jobs, left))
    print_line(f"[sweep] {left} trial(s) left; starting {n_workers} worker(s)", sys.stderr)
    return n_workers, now


def _reap_after_death(
    p: Prepared, exc: BaseException, before: tuple[int, int]
) -> tuple[int, tuple[int, int]]:
    """Reap the dead workers' trials; return (trials left, progress now). Raises
    :class:`SweepFailed` when nothing finished or was reaped since ``before``."""
    print_line(f"[sweep] a worker process died: {first_line(exc)}", sys.stderr)
    reaped = p.reap(dead=getattr(exc, DEAD_WORKERS_ATTR, ()))
    for item in reaped:
        again = "; its params run again" if item.retried else ""
        print_line(f"[sweep] trial {item.number} failed: {item.reason}{again}", sys.stderr)
    trials = p.study.get_trials(deepcopy=False)
    left = remaining_trials(trials, p.ctx.n_trials)
    now = _progress(p)
    if left <= 0:
        return 0, now
    if not reaped and now == before:
        raise SweepFailed(
            f"sweep of study {p.ctx.study_name!r}: worker processes died before running any "
            f"trial ({first_line(exc)}); not starting more. Run the same command again to "
            "resume once the cause (memory, a crash in a library) is fixed."
        )
    return left, now
