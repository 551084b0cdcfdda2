"""The Hydra job entry of a sweep worker: the launcher runs :class:`nnexp.search.task.WorkerTask`,
which calls :func:`run_worker_job` with the sweep's task."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nnexp.errors import ServiceUnreachable, SweepAborted
from nnexp.filesystem import disk_full
from nnexp.search.context import SweepContext
from nnexp.search.watchdog import exit_with_sweeper

#: The sweeper's ``_target_`` (a worker job recognises itself by it).
SWEEPER_TARGET = "hydra_plugins.nnexp_sweeper.nnexp_sweeper.NnexpSweeper"


def is_sweep_worker() -> bool:
    """True inside a job that the nnexp sweeper launched."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode
    except ImportError:  # pragma: no cover
        return False
    if not HydraConfig.initialized():
        return False
    hc = HydraConfig.get()
    return (
        hc.mode == RunMode.MULTIRUN
        and str(hc.sweeper.get("_target_", "")) == SWEEPER_TARGET
        and bool(hc.sweeper.get("worker_context"))
    )


def run_worker_job(cfg: Any = None, task: Any = None) -> dict[str, Any]:
    """The task function of a worker job: run trials of ``task`` (a
    :class:`nnexp.search.task.SweepTask`; None: nnexp's trainer); return a summary of what it ran.

    ``cfg`` (the job's composed config) is unused: trials compose their own.
    """
    import optuna
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig

    from nnexp.search.worker import Worker

    hc = HydraConfig.get()
    ctx = SweepContext.load(hc.sweeper.worker_context)
    exit_with_sweeper(ctx.sweeper_pid)  # a worker whose sweeper was killed exits: no orphans
    config_name = hc.job.config_name

    def compose_trial(overrides: list[str]) -> Any:
        return compose(config_name=config_name, overrides=overrides)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    worker = Worker(
        ctx,
        worker_index=int(hc.job.num),
        out_dir=Path(hc.runtime.output_dir),
        base_overrides=[str(o) for o in hc.overrides.task],
        compose=compose_trial,
        task=task,
    )
    try:
        outcomes = worker.run()
    except SweepAborted as exc:
        print(f"[worker {hc.job.num}] stopped: {exc}", file=sys.stderr, flush=True)
        return {"aborted": True}
    except ServiceUnreachable as exc:
        print(f"[worker {hc.job.num}] stopped: {exc}", file=sys.stderr, flush=True)
        return {"unreachable": str(exc)}
    except Exception as exc:  # a full disk stops the worker; the sweeper says so, once
        full = disk_full(exc)
        if full is None:
            raise
        return {"disk_full": str(full)}
    return {
        "trials": [o.number for o in outcomes],
        "states": [o.state for o in outcomes],
    }
