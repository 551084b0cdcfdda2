"""Hyperparameter search: the Optuna sweeper behind ``nnexp-train -m hparams_search=...``.

The front page: the names most callers need (``run_sweep``, ``best_trial``, ``Worker``, ...; see
``_EXPORTS``), loaded on first use, so importing the package (Hydra scans plugins on every
start) stays cheap. Callers that need one module's details (``nnexp.repro``, the Hydra plugin
``hydra_plugins.nnexp_sweeper``) import that module.

Modules, one concept each (see docs/ARCHITECTURE.md):

* sweeper phases: ``sweep`` (``run_sweep``, exit codes), ``prepare`` (with ``precheck``: data
  and metric before any trial), ``launch``, ``respawn`` (dead workers replaced), ``finish``;
  ``failures`` (``max_failures``);
* settings and space: ``settings``, ``objective`` (metric and direction that follow the task
  unless set), ``samplers``, ``pruners``, ``grammar``, ``space``, ``compose``;
* storage: ``storage`` (URLs, studies, count lock), ``storage_errors`` (a storage that cannot
  work, said before any trial), ``journal``, ``health`` (probe, reconnect);
* workers: ``task`` (what a trial runs: ``nnexp-train`` or any Hydra app's task function),
  ``job`` (Hydra entry), ``worker`` (the loop), ``trial``, ``session`` (``nnexp.report`` inside
  an app's trial), ``tell``, ``stale`` (reaping, retries), ``watchdog`` (a worker whose sweeper
  died exits), ``context``;
* results: ``results`` (best trial, results file), ``report`` (lines, descriptions),
  ``status`` (status lines with an ETA),
  ``plots``, ``runs`` (MLflow parent/child runs via ``nnexp.tracking.sweep_runs``);
* a best you can trust: ``winner`` (the selected trial's test score), ``ledger`` (epochs run
  against the budget: compute saved by pruning), ``warmstart`` (seed a study with an earlier
  one's best trials), ``confirm`` (the top trials re-trained with new seeds, run through the
  launcher as a second study) and ``confirmed`` (their means; the confirmed choice).
  ``nnexp audit`` (``nnexp.repro.audit``) checks the pruning afterwards.
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
    "confirmed_trial": "confirmed",
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
    "trial_line": "report",
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
