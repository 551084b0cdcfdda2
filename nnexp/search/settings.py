"""``hydra.sweeper`` settings, declared once: names, types, defaults and their meaning
(:class:`SweeperSettings`: the Hydra config node of the plugin, its constructor's keywords and
the defaults the workers' context takes), then the checks that run before anything is created.

Kept light to import (Hydra scans the plugin on every start): optuna loads on use.
"""

# OmegaConf reads the dataclass annotations at runtime: keep typing.Optional/Dict/List here.
# ruff: noqa: UP006, UP035, UP045

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig

from nnexp.errors import SweepSettingError
from nnexp.search.confirmation import CONFIRM_DEFAULT
from nnexp.search.objective import is_auto

#: default of ``hydra.sweeper.status_every`` (finished trials between status lines)
STATUS_EVERY = 5
#: default of ``hydra.sweeper.status_seconds`` (seconds without a finished trial)
STATUS_SECONDS = 30.0
#: default of ``hydra.sweeper.stale_after`` (seconds without a heartbeat: a dead worker)
STALE_AFTER = 300.0
#: default of ``hydra.sweeper.reconnect_timeout`` (seconds to wait for a lost service)
RECONNECT_TIMEOUT = 60.0


@dataclass
class SweeperSettings:
    """Every ``hydra.sweeper`` setting of the nnexp sweeper, with its default and meaning."""

    #: finished trials (COMPLETE + PRUNED) the study should hold; FAIL trials don't count.
    #: A resumed study stops there too
    n_trials: int = 20
    #: seconds after which no new trial starts (running trials finish); null: no limit
    timeout: Optional[float] = None
    #: parallel workers (also the launcher's n_jobs: nnexp's or joblib's)
    n_jobs: int = 1
    #: per-epoch record key to optimise and report for pruning (val_accuracy, val_loss, ...);
    #: null (or auto): follow the task -- classification val_accuracy, regression val_loss
    metric: Optional[str] = None
    #: minimize | maximize; null (or auto): from the task, or from the metric's name (an app's
    #: sweep: minimize). A list is read as `directions` (Hydra's Optuna sweeper's form)
    direction: Any = None
    #: a multi-objective study (apps whose task function returns a tuple): one direction per
    #: objective, e.g. [minimize, maximize]; no pruning (Optuna prunes single objectives only)
    directions: Optional[List[str]] = None
    #: the Optuna study; the same name (and storage) resumes it. null: the hparams_search name
    study_name: Optional[str] = None
    #: Optuna storage URL; null: $NNEXP_OPTUNA_STORAGE, else the journal file
    #: <launch dir>/mlruns/optuna/journal.log
    storage: Optional[str] = None
    #: tpe | random | cmaes | gp | qmc | nsgaii, or {name: ..., seed: ..., other sampler
    #: keywords}; the Hydra config group hydra/sweeper/sampler (default tpe) fills it, so
    #: `override hydra/sweeper/sampler: nsgaii` picks one as in Hydra's Optuna sweeper
    sampler: Any = field(default_factory=lambda: {"name": "tpe", "seed": None})
    #: median | hyperband | successive_halving | percentile | none, or {name: ..., keywords};
    #: a command line's mapping merges into a preset's, so switch pruners with pruner=<name>,
    #: or with keywords 'pruner=null' '++pruner={name: hyperband, min_resource: 2}'
    pruner: Any = field(default_factory=lambda: {"name": "median"})
    #: a RUNNING trial without heartbeat for this many seconds is marked FAIL (dead worker)
    stale_after: float = STALE_AFTER
    #: seconds a worker waits (probing with exponential backoff) for a lost MLflow tracking
    #: server or Optuna database before it stops with an error (the trial it was running fails)
    reconnect_timeout: float = RECONNECT_TIMEOUT
    #: a trial whose worker died (reaped) is run again with the same params up to this many
    #: times; retried trials do not count towards n_trials
    max_retries: int = 0
    #: print a status line (trials by state, best so far, elapsed, ETA) every this many
    #: finished trials ...
    status_every: int = STATUS_EVERY
    #: ... and after this many seconds without a trial finishing (long trials)
    status_seconds: float = STATUS_SECONDS
    #: enqueue the best configurations of an earlier study first: its name (same storage) or
    #: {study: NAME, storage: URL, top: N} (top 5 by default); see nnexp.search.warmstart
    warm_start: Any = None
    #: stop the sweep (exit 1, with the last failure's reason) once this many of its trials
    #: failed, in total; null: n_trials
    max_failures: Optional[int] = None
    #: Hydra's Optuna sweeper's form of max_failures: the fraction of n_trials that may fail
    #: (0.0: the first failure stops the sweep); read as max_failures = floor(rate * n_trials) + 1.
    #: null: max_failures decides; give one of the two
    max_failure_rate: Optional[float] = None
    #: after the search, re-train the top_k best trials with `seeds` new seeds each and choose
    #: the best mean: {top_k: K, seeds: S}; top_k 0 (the default) turns it off; see
    #: nnexp.search.confirmation
    confirm: Any = field(default_factory=lambda: dict(CONFIRM_DEFAULT))
    #: the search space: config key -> Hydra override expression (see nnexp.search.grammar)
    params: Optional[Dict[str, Any]] = None
    #: a function that adds conditional params to each trial, as package.module.function; it
    #: is called as fn(cfg, trial) after each ask and may call trial.suggest_*; each param it
    #: suggests becomes a key=value override of the trial (as Hydra's Optuna sweeper)
    custom_search_space: Optional[str] = None
    #: the config key holding a trial's epoch budget, for the pruning ledger (epochs saved by
    #: pruning); null: trainer.epochs for nnexp's trainer, no ledger for an app
    budget_key: Optional[str] = None
    #: an app's MLflow tracking (apps without nnexp's `tracking` config node): enabled, uri
    #: (null: $MLFLOW_TRACKING_URI, else <launch dir>/mlruns/mlflow.db), experiment (null: the
    #: app's name), artifact_location, timeout -- the keys and defaults of nnexp's `tracking`
    tracking: Optional[Dict[str, Any]] = None


def normalized(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A checked copy of the settings (direction lower-cased; metric and direction ``None`` when
    they follow the task, see :mod:`nnexp.search.objective`); sampler and pruner built once so
    a bad one fails here. Raises :class:`SweepSettingError` listing every problem."""
    s = {**dataclasses.asdict(SweeperSettings()), **settings}  # unset keys: the declared defaults
    settle_upstream_forms(s)
    for key in ("metric", "direction"):
        s[key] = None if is_auto(s.get(key)) else str(s[key]).strip()
    if s["direction"] is not None:
        s["direction"] = s["direction"].lower()
    directions = s.get("directions")
    if directions and not isinstance(directions, str):
        s["directions"] = [str(d).strip().lower() for d in directions]
        if s["direction"] is None:
            s["direction"] = s["directions"][0]
    check_settings(s)
    check_trust_settings(s)
    from nnexp.search.pruners import make_pruner
    from nnexp.search.samplers import make_sampler

    make_sampler(s.get("sampler"))
    make_pruner(s.get("pruner"))
    return s


def settle_upstream_forms(s: dict[str, Any]) -> None:
    """Hydra's Optuna sweeper's spellings, in place: ``direction`` given as a list is
    ``directions``; ``max_failure_rate`` (the fraction of ``n_trials`` that may fail) becomes
    ``max_failures = floor(rate * n_trials) + 1``, the first failure past the rate stopping."""
    direction = s.get("direction")
    if isinstance(direction, (list, tuple)):
        if s.get("directions") and list(s["directions"]) != list(direction):
            raise SweepSettingError(
                f"hydra.sweeper.direction={list(direction)!r} and directions={list(s['directions'])!r}: "
                "give the list once (directions)"
            )
        s["directions"], s["direction"] = list(direction), None
    rate = s.pop("max_failure_rate", None)
    if rate is None:
        return
    if s.get("max_failures") is not None:
        raise SweepSettingError("hydra.sweeper: give max_failures or max_failure_rate, not both")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise SweepSettingError(f"hydra.sweeper.max_failure_rate must be within [0, 1], got {rate!r}")
    if isinstance(s.get("n_trials"), int):
        s["max_failures"] = math.floor(rate * s["n_trials"]) + 1


def check_settings(s: Mapping[str, Any]) -> None:
    """Range checks on ``hydra.sweeper`` settings with messages naming the key."""
    problems = []
    if not isinstance(s.get("n_trials"), int) or s["n_trials"] < 1:
        problems.append(f"hydra.sweeper.n_trials must be an integer >= 1, got {s.get('n_trials')!r}")
    if not isinstance(s.get("n_jobs"), int) or s["n_jobs"] < 1:
        problems.append(f"hydra.sweeper.n_jobs must be an integer >= 1, got {s.get('n_jobs')!r}")
    direction = s.get("direction")
    if not is_auto(direction) and str(direction).lower() not in ("minimize", "maximize"):
        problems.append(
            f"hydra.sweeper.direction must be minimize, maximize or null (follow the task), got {direction!r}"
        )
    directions = s.get("directions")
    if directions is not None and (
        isinstance(directions, str)
        or not directions
        or any(str(d).lower() not in ("minimize", "maximize") for d in directions)
    ):
        problems.append(
            f"hydra.sweeper.directions must be a list of minimize/maximize, one per objective, got {directions!r}"
        )
    if s.get("metric") is not None and not str(s["metric"]).strip():
        problems.append(
            "hydra.sweeper.metric must name a per-epoch metric (val_accuracy, val_loss, ...) "
            "or be null (follow the task)"
        )
    if not isinstance(s.get("status_every", 1), int) or s.get("status_every", 1) < 1:
        problems.append(f"hydra.sweeper.status_every must be an integer >= 1, got {s.get('status_every')!r}")
    if float(s.get("status_seconds", 1)) <= 0:
        problems.append(f"hydra.sweeper.status_seconds must be > 0 seconds, got {s['status_seconds']!r}")
    if s.get("timeout") is not None and float(s["timeout"]) <= 0:
        problems.append(f"hydra.sweeper.timeout must be > 0 seconds or null, got {s['timeout']!r}")
    if not isinstance(s.get("max_retries", 0), int) or s.get("max_retries", 0) < 0:
        problems.append(f"hydra.sweeper.max_retries must be an integer >= 0, got {s.get('max_retries')!r}")
    if float(s.get("reconnect_timeout", 0)) < 0:
        problems.append(
            f"hydra.sweeper.reconnect_timeout must be >= 0 seconds, got {s['reconnect_timeout']!r}"
        )
    if float(s.get("stale_after", 1)) <= 0:
        problems.append(f"hydra.sweeper.stale_after must be > 0 seconds, got {s['stale_after']!r}")
    if problems:
        raise SweepSettingError("\n".join(problems))


# -- settings of a trustworthy best (issue 11) -----------------------------------------------


def check_trust_settings(s: Mapping[str, Any]) -> None:
    """``warm_start``: a study name or ``{study, storage, top}`` (see nnexp.search.warmstart);
    ``confirm``: ``{top_k, seeds}``, non-negative integers (see nnexp.search.confirmation)."""
    from nnexp.search.confirmation import parse_confirm
    from nnexp.search.warmstart import parse_warm_start

    parse_warm_start(s.get("warm_start"))
    parse_confirm(s.get("confirm"))


def check_max_failures(s: Mapping[str, Any]) -> None:
    """``hydra.sweeper.max_failures``: null (``n_trials``) or an integer >= 1
    (:mod:`nnexp.search.failures`)."""
    value = s.get("max_failures")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise SweepSettingError(
            f"hydra.sweeper.max_failures must be an integer >= 1 or null (n_trials), got {value!r}"
        )


def default_study_name(search: str | None, data: str) -> str:
    """``<hparams_search>``, or ``<hparams_search>-<data>`` when sweeping it on other data."""
    if not search:
        return f"sweep-{data}"
    return search if search == data else f"{search}-{data}"


def check_names(study_name: str, cfg: DictConfig) -> None:
    """Study, experiment and run names become MLflow names and paths: refuse traversal
    (the rule single runs use too: :func:`nnexp.config.validate.name_problems`)."""
    from nnexp.config.validate import name_problems

    problems = name_problems(cfg, study_name)
    if problems:
        raise SweepSettingError("; ".join(problems))
