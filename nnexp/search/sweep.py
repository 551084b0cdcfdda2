"""The sweeper process: prepare, launch workers, finish -- and the exit code when it fails.

1. :mod:`~nnexp.search.prepare`: settings, search space, storage and study, MLflow parent run,
   stale trials, the context file (bad input fails here, before any trial);
2. :mod:`~nnexp.search.launch`: ``min(n_jobs, trials left)`` worker jobs pull trials until the
   study holds ``n_trials``; a worker process that dies is replaced (:mod:`~nnexp.search.respawn`);
3. :mod:`~nnexp.search.confirmation` (``hydra.sweeper.confirm``): the top trials re-trained with new
   seeds through the same launcher; the best mean is the sweep's choice;
4. :mod:`~nnexp.search.finish`: ``optimization_results.yaml`` + ``best_config.yaml`` in the sweep
   directory, the parent run's summary and plots, the best trial's servable model.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from omegaconf import DictConfig

from nnexp.errors import EXIT_INVALID, EXIT_UNREACHABLE, DiskFull, SweepFailed, exit_code, fail
from nnexp.filesystem import disk_full
from nnexp.search.confirmation import run_confirmation
from nnexp.search.failures import too_many_failures
from nnexp.search.finish import finish
from nnexp.search.launch import Launched, check_stopped
from nnexp.search.lines import (
    best_lines,
    done_line,
    print_line,
    quiet_launchers,
    start_line,
    workers_line,
)
from nnexp.search.prepare import masked, prepare, task_config
from nnexp.search.respawn import launch_until_done
from nnexp.search.results import SweepSummary, trust_lines
from nnexp.search.stale import remaining_trials
from nnexp.search.status import StatusTicker, sweep_status
from nnexp.train.threads import available_cores


def status_ticker(p: Any) -> StatusTicker:
    """The sweeper's status line on long trials (``hydra.sweeper.status_seconds``)."""
    ctx = p.ctx
    return StatusTicker(
        lambda: p.study.get_trials(deepcopy=False),
        lambda trials, now: sweep_status(ctx, trials, now),
        seconds=ctx.status_seconds,
        started=ctx.started,
    )


@contextlib.contextmanager
def main_errors(prog: str = "nnexp-train") -> Iterator[None]:
    """Expected failures end the sweep with one clear message (``<prog>: error: ...``; an app's
    sweep names the app's script) and an exit code, no traceback.

    2: bad search space or settings (nothing ran); 3: tracking server unreachable (at the
    start, or mid-sweep past ``reconnect_timeout``) or Optuna storage unreachable mid-sweep;
    1: the sweep ran but no trial completed (everything is recorded); 3 also for a full disk.
    """
    try:
        yield
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            full = disk_full(exc)  # at any write of the sweeper's (e.g. best_config.yaml)
            if full is None:
                raise
            exc, code = full, EXIT_UNREACHABLE
        fail(prog, f"invalid sweep: {exc}" if code == EXIT_INVALID else str(exc), code)


def run_sweep(
    settings: Mapping[str, Any],
    arguments: Sequence[str],
    *,
    config: DictConfig,
    config_loader: Any,
    launcher: Any,
    task: Any = None,
) -> SweepSummary:
    """Run (or resume) the sweep that ``settings`` (``hydra.sweeper``) describes; ``task``: the
    :class:`nnexp.search.task.SweepTask` its trials run (None: nnexp's trainer)."""
    started = time.time()
    p = prepare(
        settings, arguments, config, config_loader, started, task, getattr(launcher, "check_places", None)
    )
    try:
        return _sweep(p, started, config=config, config_loader=config_loader, launcher=launcher)
    except Exception as exc:
        full = disk_full(exc)
        if full is None:
            raise
        if not end_parent_quietly(p, "FAILED"):  # what was recorded stays; the command resumes
            full = DiskFull(
                f"{full} (the MLflow parent run could not be marked FAILED on the full disk: "
                "it is ended by the next sweep or nnexp command)"
            )
        raise full from None


def end_parent_quietly(p: Any, status: str) -> bool:
    """End the sweep's parent run with ``status``; False when the store refused (never raises)."""
    if p.runs is None or not p.ctx.parent_run_id:
        return True
    try:
        p.runs.end_parent(p.ctx.parent_run_id, status)
    except Exception:  # noqa: BLE001 - the store may be on the full disk
        return False
    return True


def _sweep(p: Any, started: float, *, config: DictConfig, config_loader: Any, launcher: Any) -> SweepSummary:
    """Launch, confirm and finish the prepared sweep ``p``."""
    ctx = p.ctx
    print_line(
        start_line(
            ctx.study_name,
            masked(p.storage_url),
            n_existing=ctx.n_existing,
            n_reaped=len(p.reaped),
            n_trials=ctx.n_trials,
            direction=ctx.direction,
            metric=ctx.metric,
            n_jobs=ctx.n_jobs,
            other_parent=p.runs.other_parent if p.runs is not None else None,
        )
    )
    if p.remaining > 0:
        cores = getattr(launcher, "cluster_cores", available_cores)()  # Ray: the cluster's CPUs
        workers = workers_line(int(p.settings["n_jobs"]), ctx.n_jobs, p.remaining, cores)
        if workers:
            print_line(workers)
    print_line("[sweep] search space:\n" + p.space.describe())
    for line in p.warm_lines:
        print_line(line)
    launched = Launched()
    if p.remaining > 0:
        quiet_launchers()
        with status_ticker(p):
            launched = launch_until_done(p, launcher)
    else:
        print_line(
            f"[sweep] study {ctx.study_name!r} already holds {ctx.n_existing} >= {ctx.n_trials} "
            "trials; nothing to run (raise hydra.sweeper.n_trials to continue it, or set "
            "hydra.sweeper.study_name for a new study)"
        )
    if launched.disk_full:
        raise DiskFull(launched.disk_full[0])
    check_stopped(p, launched.unreachable)
    trials = p.study.get_trials(deepcopy=False)
    full = remaining_trials(trials, ctx.n_trials) == 0  # the last trials may fail, if it is full
    gave_up = None if full else too_many_failures(trials, ctx.max_failures, ctx.failed_before)

    def recompose(overrides: list[str]) -> Any:
        return task_config(config_loader, config, p.passthrough + overrides)

    confirmation = None
    if not gave_up:
        quiet_launchers()
        confirmation = run_confirmation(p, launcher, recompose, getattr(launcher, "next_job_idx", ctx.n_jobs))
    summary = finish(p.study, ctx, recompose, "FAILED" if gave_up else "FINISHED", confirmation)
    print_line(done_line(summary, time.time() - started))
    for err in launched.crashed:
        print_line(f"[sweep] a worker crashed: {err}", sys.stderr)
    if summary.best_number is None and not summary.pareto:
        if gave_up:
            raise SweepFailed(f"study {ctx.study_name!r}: {gave_up}")
        reasons = "\n  ".join(summary.fail_reasons[:10]) or "no trial finished"
        raise SweepFailed(
            f"no trial of study {ctx.study_name!r} completed; everything is recorded in "
            f"{summary.results_file} and MLflow.\n  {reasons}"
        )
    for line in best_lines(summary, ctx.metric, ctx.parent_run_id, ctx.tracking_uri, ctx.experiment_id):
        print_line(line)
    for line in trust_lines(summary):
        print_line(line)
    if gave_up:
        raise SweepFailed(f"study {ctx.study_name!r}: {gave_up}")
    if launched.crashed:
        raise SweepFailed("worker job(s) crashed:\n  " + "\n  ".join(launched.crashed))
    return summary
