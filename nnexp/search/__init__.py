"""Hyperparameter search for any Hydra app: the sweeper behind ``override hydra/sweeper: nnexp``.

``nnexp-train -m hparams_search=...`` is its first client; any ``@hydra.main`` task function is
another (it calls :func:`nnexp.report` each epoch and returns its objective). This page is the
front: the names most callers need (``_EXPORTS``), loaded on first use so that Hydra's plugin
scan stays cheap; callers needing one module's details import that module.

The lifecycle, in the order it runs, and the module holding each step:

0. ``sweep``: :func:`run_sweep` runs the phases below and gives the exit code when one fails;
1. **prepare** (sweeper process), ``prepare``: the settings (``settings``; ``failures`` for
   ``max_failures``; ``samplers`` and ``pruners`` built from them), the search space (``grammar``, ``space``), the task (``task``: nnexp's
   trainer, whose objective follows the data (``objective``) and whose data and metric are
   checked before any trial (``precheck``), or an app's task function), the storage and study
   (``storage``: URLs, studies, the count lock, checks before any trial; ``journal``), a warm start (``warmstart``), the MLflow
   parent run (``runs``), reaping, and the workers' context file (``context``);
2. **launch**, ``launch`` and ``respawn``: ``min(n_jobs, trials left)`` long-lived worker jobs
   through Hydra's launcher, each a :class:`~nnexp.search.task.WorkerTask` -> ``job`` ->
   :class:`~nnexp.search.worker.Worker`; a dead worker is replaced while trials remain;
3. **ask** (``worker``): under the count lock, reap, count, ``study.ask`` (retries first), the
   search-space hook, the owner recorded;
4. **run and report**: ``compose`` (the trial's config), ``task`` (the trial's child run, the
   task function called), ``session`` (:func:`nnexp.report`: metrics to the run, the metric to
   the pruner, the heartbeat; ``hold``: a test hook keeping a trial at a step), ``trial``
   (nnexp's epoch callback: the same call);
5. **tell** (``worker``, ``tell``): COMPLETE with the objective(s), PRUNED, or FAIL with its
   reason; a lost service waits (``health``);
6. **reap** (``stale``): trials of dead or silent workers FAIL (retried under ``max_retries``),
   by the liveness rule runs follow; a worker whose sweeper died exits (``watchdog``);
7. **confirm** (``confirmation``: the phase, the means and the choice): the top trials
   re-trained with new seeds as a second study;
8. **finish** (``finish``): ``results`` (best trial or Pareto front, results file), ``lines``
   and ``status`` (lines), ``plots``, ``winner`` (the winner's test score), ``ledger`` (compute
   saved by pruning). ``nnexp audit`` (``nnexp.repro.audit``) checks the pruning afterwards.
"""

from __future__ import annotations

import importlib
from typing import Any

#: exported name -> module that defines it
_EXPORTS = {
    "run_sweep": "sweep",
    "main_errors": "sweep",
    "is_sweep_worker": "job",
    "run_worker_job": "job",
    "Worker": "worker",
    "worker_threads": "worker",
    "TrialOutcome": "trial",
    "TrialCallback": "trial",
    "objective_value": "trial",
    "SweepContext": "context",
    "SweepSummary": "results",
    "best_trial": "results",
    "study_best": "results",
    "state_counts": "results",
    "confirmed_trial": "confirmation",
    "check_settings": "settings",
    "default_study_name": "settings",
    "make_sampler": "samplers",
    "make_pruner": "pruners",
    "parse_search_space": "grammar",
    "SearchSpace": "space",
    "validate_space": "space",
    "resolve_storage_url": "storage",
    "open_storage": "storage",
    "local_file": "storage",
    "create_or_load_study": "storage",
    "load_study": "storage",
    "count_lock": "storage",
    "probe_storage": "health",
    "is_storage_error": "health",
    "counted_trials": "stale",
    "remaining_trials": "stale",
    "reap_stale_trials": "stale",
    "trial_line": "lines",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nnexp.search' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nnexp.search.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
