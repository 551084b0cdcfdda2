# OmegaConf reads the dataclass annotations at runtime: keep typing.Optional/Dict/List here.
# ruff: noqa: UP006, UP035, UP045
"""Hydra sweeper plugin ``nnexp``: Optuna on current versions, with pruning, pull-based parallel
workers, exact resume and MLflow parent/child runs.

Select it in a config (``defaults: [override /hydra/sweeper: nnexp]``, as the
``conf/hparams_search/*.yaml`` configs do). Settings live under ``hydra.sweeper``; see
:class:`NnexpSweeperConf` and ``nnexp.search.grammar`` for the search-space syntax.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import MISSING, DictConfig, OmegaConf

from nnexp.search.confirmed import CONFIRM_DEFAULT
from nnexp.search.job import SWEEPER_TARGET
from nnexp.search.samplers import SAMPLERS
from nnexp.search.status import STATUS_EVERY, STATUS_SECONDS


@dataclass
class NnexpSweeperConf:
    """``hydra.sweeper`` settings of the nnexp sweeper."""

    _target_: str = SWEEPER_TARGET  #: this class; worker jobs recognise themselves by it
    #: Hydra passes the settings as written: a sampler or pruner `_target_` (Hydra's Optuna
    #: sweeper's form) is read by nnexp.search.samplers, not instantiated by Hydra
    _recursive_: bool = False
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
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
    #: keywords}; the config group hydra/sweeper/sampler (default tpe) fills it, so
    #: `override hydra/sweeper/sampler: nsgaii` picks one as in Hydra's Optuna sweeper
    sampler: Any = MISSING
    #: median | hyperband | successive_halving | percentile | none, or {name: ..., keywords};
    #: a config's mapping merges into this one, so switch pruners with pruner=<name> or a whole
    #: mapping ('pruner={name: hyperband, min_resource: 2}'), not pruner.name=<name>
    pruner: Any = field(default_factory=lambda: {"name": "median"})
    #: a RUNNING trial without heartbeat for this many seconds is marked FAIL (dead worker)
    stale_after: float = 300.0
    #: seconds a worker waits (probing with exponential backoff) for a lost MLflow tracking
    #: server or Optuna database before it stops with an error (the trial it was running fails)
    reconnect_timeout: float = 60.0
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
    #: nnexp.search.confirm
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
    #: internal: set by the sweeper on its worker jobs
    worker_context: Optional[str] = None


ConfigStore.instance().store(group="hydra/sweeper", name="nnexp", node=NnexpSweeperConf, provider="nnexp")
for _name, (_cls, _) in SAMPLERS.items():  # hydra/sweeper/sampler=<name>, as Hydra's Optuna sweeper
    ConfigStore.instance().store(
        group="hydra/sweeper/sampler",
        name=_name,
        node={"_target_": f"optuna.samplers.{_cls}", "seed": None},  # that sweeper's form
        provider="nnexp",
    )


class NnexpSweeper(Sweeper):
    """Thin Hydra adapter; :func:`nnexp.search.run_sweep` does the work."""

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings: Dict[str, Any] = {
            k: (OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v)
            for k, v in settings.items()
        }
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None
        self.task_function: Optional[TaskFunction] = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        from hydra.core.plugins import Plugins

        from nnexp.search.task import WorkerTask

        self.hydra_context = hydra_context
        self.config = config
        self.task_function = task_function
        # each launched job is a worker that runs trials of the app's task function
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=WorkerTask(task_function), config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        from nnexp.search import main_errors, run_sweep
        from nnexp.search.task import task_for

        assert self.hydra_context is not None and self.config is not None
        task = task_for(self.task_function)
        prog = "nnexp-train" if task.kind == "nnexp" else Path(sys.argv[0]).name or "nnexp"
        with main_errors(prog):
            return run_sweep(
                self.settings,
                arguments,
                config=self.config,
                config_loader=self.hydra_context.config_loader,
                launcher=self.launcher,
                task=task,
            )
