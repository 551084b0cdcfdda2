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
from omegaconf import MISSING, DictConfig, OmegaConf, open_dict

from nnexp.search.job import SWEEPER_TARGET
from nnexp.search.samplers import SAMPLERS
from nnexp.search.settings import SweeperSettings


@dataclass
class NnexpSweeperConf(SweeperSettings):
    """``hydra.sweeper`` of the nnexp sweeper: the settings (declared once, in
    :class:`nnexp.search.settings.SweeperSettings`) and the two keys Hydra and the workers need."""

    _target_: str = SWEEPER_TARGET  #: this class; worker jobs recognise themselves by it
    #: Hydra passes the settings as written: a sampler or pruner `_target_` (Hydra's Optuna
    #: sweeper's form) is read by nnexp.search.samplers, not instantiated by Hydra
    _recursive_: bool = False
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    #: filled by the config group hydra/sweeper/sampler (default tpe), as in Hydra's Optuna
    #: sweeper; SweeperSettings.sampler is the same default for callers without Hydra
    sampler: Any = MISSING
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

#: Hydra's default launcher; the sweeper replaces it with nnexp's (one process per worker)
BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


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
        if str(config.hydra.launcher.get("_target_")) == BASIC_LAUNCHER:
            # Hydra's default launcher runs jobs one after another in this process: n_jobs
            # workers would take turns. nnexp's runs each worker in its own process.
            from hydra_plugins.nnexp_sweeper.nnexp_launcher import NnexpLauncherConf

            with open_dict(config):
                config.hydra.launcher = OmegaConf.structured(NnexpLauncherConf)
        # each launched job is a worker that runs trials of the app's task function
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=WorkerTask(task_function), config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        # nnexp's launcher starts the workers' processes now: they import what they need
        # while this process imports and prepares (a second of each, and more)
        prewarm = getattr(self.launcher, "prewarm", None)
        if prewarm is not None:
            prewarm(self.settings.get("n_jobs"), self.settings.get("n_trials"))
        try:
            return self._sweep(arguments)
        finally:
            discard = getattr(self.launcher, "discard_warm", None)
            if discard is not None:
                discard()

    def _sweep(self, arguments: List[str]) -> Any:
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
