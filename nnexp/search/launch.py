"""The sweep's middle phase: launch ``min(n_jobs, trials left)`` long-lived worker jobs through
Hydra's launcher, each pulling trials until the study holds ``n_trials``
(:mod:`nnexp.search.worker`); clean up after Ctrl-C; tell lost services from crashes."""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from nnexp.errors import SweepStopped
from nnexp.search.lines import print_line
from nnexp.search.prepare import Prepared
from nnexp.search.stale import counted_trials

#: On a launcher's error (a worker's death, Ctrl-C): the {(host, pid)} of the workers it saw die
#: or killed, when it knows them (the Ray launcher, on any node): their trials are reaped at
#: once, not after ``stale_after``
DEAD_WORKERS_ATTR = "nnexp_dead_workers"


@dataclass
class Launched:
    """What the worker jobs returned."""

    crashed: list[str] = field(default_factory=list)  #: workers that raised
    unreachable: list[str] = field(default_factory=list)  #: workers stopped by a lost service
    disk_full: list[str] = field(default_factory=list)  #: workers stopped by a full disk


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def set_launcher_workers(launcher: Any, n_jobs: int) -> None:
    """The launcher runs ``n_jobs`` jobs at once (1: in this process): nnexp's launcher
    (``hydra/launcher=nnexp``, each job in its own process) and Hydra's joblib launcher.

    Other launchers (submitit) run every launched job as its own cluster job.
    """
    if isinstance(getattr(launcher, "n_jobs", None), int):  # nnexp's launcher
        launcher.n_jobs = int(n_jobs)
    joblib_kwargs = getattr(launcher, "joblib", None)
    if isinstance(joblib_kwargs, dict):
        joblib_kwargs["n_jobs"] = int(n_jobs)


def launch_workers(
    p: Prepared, launcher: Any, n_workers: int | None = None, initial_job_idx: int = 0
) -> Launched:
    """Run ``n_workers`` (default ``n_jobs``) worker jobs, numbered from ``initial_job_idx``, to
    their end (the launcher blocks); on Ctrl-C, reap and re-raise. A dead worker's launcher
    error propagates (:mod:`nnexp.search.respawn` relaunches)."""
    out = Launched()
    n_jobs = p.ctx.n_jobs if n_workers is None else n_workers
    job = [*p.passthrough, f"hydra.sweeper.worker_context={_quote(str(p.context_path))}"]
    set_launcher_workers(launcher, n_jobs)
    try:
        returns = launcher.launch([job] * n_jobs, initial_job_idx=initial_job_idx)
    except KeyboardInterrupt as exc:
        interrupted(p, getattr(exc, DEAD_WORKERS_ATTR, ()))
        raise
    for r in returns:
        value = getattr(r, "_return_value", None)
        if getattr(r, "status", None) is not None and r.status.name == "FAILED":
            out.crashed.append(repr(value))
        elif isinstance(value, dict) and value.get("unreachable"):
            out.unreachable.append(str(value["unreachable"]))
        elif isinstance(value, dict) and value.get("disk_full"):
            out.disk_full.append(str(value["disk_full"]))
    return out


def interrupted(p: Prepared, dead: Collection[tuple[str, int]] = ()) -> None:
    """After Ctrl-C: the interrupted trials FAIL (those of the workers ``dead`` too: the
    launcher killed them), their runs and the parent run KILLED."""
    p.reap(dead=dead)
    if p.runs is not None and p.ctx.parent_run_id:
        p.runs.reconcile(p.study)
        p.runs.end_parent(p.ctx.parent_run_id, "KILLED")
    print_line(
        f"[sweep] interrupted; run the same command again to resume study {p.ctx.study_name!r}",
        sys.stderr,
    )


def check_stopped(p: Prepared, messages: list[str]) -> None:
    """Workers gave up on a lost service: raise :class:`SweepStopped` unless the study is full
    anyway (then the sweep finishes as usual, with a warning)."""
    if not messages:
        return
    n_trials = p.ctx.n_trials
    try:
        done = counted_trials(p.study.get_trials(deepcopy=False))
    except Exception:  # noqa: BLE001 - the storage may be the lost service
        done = -1
    if done >= n_trials:
        for m in messages:
            print_line(f"[sweep] warning: a worker stopped: {m}", sys.stderr)
        return
    held = f"{done} of {n_trials}" if done >= 0 else f"? of {n_trials}"
    raise SweepStopped(f"sweep of study {p.ctx.study_name!r} stopped with {held} trials: {messages[0]}")
