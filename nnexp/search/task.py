"""What a sweep runs in each trial: nnexp's trainer, or any Hydra app's task function.

The sweeper is the same for both (ask, compose, run, report, tell, reap, confirm, finish); a
:class:`SweepTask` says only what differs:

* :class:`NnexpTrainer` -- ``nnexp-train`` itself: the objective follows the data's task, the
  data and metric are checked before any trial, the trainer records its own child run and
  reports each epoch through :func:`nnexp.report` (:class:`~nnexp.search.trial.TrialCallback`),
  and the winner gets a servable model.
* :class:`HydraApp` -- any ``@hydra.main`` task function: the trial's config goes in, the
  objective comes back as its return value (a tuple for ``hydra.sweeper.directions``), its
  child run is MLflow's active run while it runs, and ``nnexp.report`` feeds the pruner.

The sweeper plugin wraps the app's task function in :class:`WorkerTask` for the launcher, so
each launched job becomes a worker that pulls trials and calls the task function per trial.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nnexp.nn.callbacks import StopReason

#: the task function of ``nnexp-train`` (``nnexp.cli.train.app``), as ``module:qualname``
NNEXP_TRAINER_APP = "nnexp.cli.train:app"
#: the objective's name in lines and files when an app's sweep names no metric
APP_METRIC = "value"
#: an app's default direction when the settings give none (as Hydra's Optuna sweeper)
APP_DIRECTION = "minimize"


@dataclass
class TrialTracking:
    """Where a trial's child run goes (the worker's side of ``nnexp.tracking``)."""

    uri: str
    experiment_id: str
    parent_run_id: str | None
    run_name: str
    tags: Mapping[str, Any]
    params: Mapping[str, Any]


@dataclass
class AppResult:
    """What an app's trial produced, in the terms the worker records (as ``TrainResult``)."""

    value: Any  #: the task function's return value (float, tuple, or None)
    stop_reason: str  #: ``completed`` | ``pruned``
    history: dict[str, list[float]]
    epochs_run: int  #: steps reported
    run_id: str | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    model_path: Path | None = None
    baseline: Any = None
    metric: str | None = None
    best_value: float | None = None


def objective_values(value: Any, n_objectives: int) -> list[float] | None:
    """The task function's return value as ``n_objectives`` floats (None: it returned None).
    Raises ``TypeError`` naming what it got when the count or a type is wrong."""
    if value is None:
        return None
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(items) != n_objectives:
        raise TypeError(
            f"the task function returned {value!r}: {n_objectives} objective value(s) expected "
            f"(one per hydra.sweeper.directions entry)"
        )
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError):
        raise TypeError(f"the task function returned {value!r}: objective values must be numbers") from None


class NnexpTrainer:
    """nnexp's own trainer (``nnexp-train``) as the sweep's task."""

    kind = "nnexp"
    budget_key: str | None = "trainer.epochs"

    def warm_up(self) -> None:
        """Import the trainer and the data loaders once, before the first trial's clock."""
        import nnexp.data
        import nnexp.train.trainer  # noqa: F401

    def trial_config(self, cfg: DictConfig, trial_dir: Path) -> None:
        """Weights into the trial dir, quiet epochs, cheap artifacts (the winner's come later)."""
        OmegaConf.update(cfg, "trainer.save_dir", str(trial_dir), merge=False)
        OmegaConf.update(cfg, "trainer.progress", False, merge=False)
        OmegaConf.update(cfg, "tracking.log_plots", False, merge=False)

    def run(self, cfg: DictConfig, metric: str, tracking: TrialTracking | None, train: Any = None) -> Any:
        """``run_training`` as the trial's child run; its epochs reach :func:`nnexp.report`."""
        from nnexp.search.trial import TrialCallback

        if train is None:
            from nnexp.train.trainer import run_training as train
        return train(
            cfg,
            callbacks=[TrialCallback(metric)],
            parent_run_id=tracking.parent_run_id if tracking else None,
            run_name=tracking.run_name if tracking else None,
            extra_tags=dict(tracking.tags) if tracking else None,
            log_model=False,
        )


class HydraApp:
    """Any Hydra app's task function as the sweep's task."""

    kind = "app"
    budget_key: str | None = None

    def __init__(self, task_function: Callable[[DictConfig], Any]) -> None:
        self.task_function = task_function
        self.sweeper_pid = os.getpid()  #: made by the sweeper plugin, in the sweeper process

    def warm_up(self) -> None:
        """Nothing to import ahead: the app imported what it needs."""

    def entry_point(self, launch_cwd: str) -> dict[str, Any]:
        """Where the task function lives and how the sweep was launched (the study records it
        for ``nnexp reproduce``; credentials in the command line are masked)."""
        import inspect
        import sys

        from nnexp.tracking.masking import mask_secrets

        fn = inspect.unwrap(self.task_function)
        return {
            "module": fn.__module__,
            "file": str(Path(inspect.getfile(fn)).resolve()),
            "function": fn.__qualname__,
            "cwd": str(launch_cwd),
            "argv": [mask_secrets(str(a)) for a in sys.argv],
        }

    def trial_config(self, cfg: DictConfig, trial_dir: Path) -> None:
        """An app's config is its own: nothing is changed."""

    def run(
        self, cfg: DictConfig, metric: str, tracking: TrialTracking | None, train: Any = None
    ) -> AppResult:
        """Call the task function inside its child run; ``optuna.TrialPruned`` ends it PRUNED."""
        import optuna

        from nnexp.search.session import current

        session = current()
        assert session is not None, "HydraApp.run runs inside nnexp.search.session.active()"
        result = AppResult(
            value=None, stop_reason=StopReason.COMPLETED, history={}, epochs_run=0, metric=metric
        )
        run_ctx: Any = contextlib.nullcontext(None)
        if tracking is not None:
            from nnexp.tracking.active import trial_run

            run_ctx = trial_run(
                tracking.uri,
                tracking.experiment_id,
                parent_run_id=tracking.parent_run_id,
                run_name=tracking.run_name,
                tags=tracking.tags,
                params=tracking.params,
            )
        try:
            with run_ctx as run:
                if run is not None:
                    session.log_step = run.log_step
                    result.run_id = run.run_id
                try:
                    result.value = self.task_function(cfg)
                except optuna.TrialPruned:
                    result.stop_reason = StopReason.PRUNED
        finally:
            result.history = {k: list(v) for k, v in session.history.items()}
            result.epochs_run = len(session.steps)
            result.test_metrics = dict(session.test_metrics)
        return result


SweepTask = NnexpTrainer | HydraApp


def task_for(task_function: Callable[..., Any] | None) -> SweepTask:
    """The sweep task of a Hydra task function (None, or ``nnexp-train``'s: nnexp's trainer)."""
    if task_function is None:
        return NnexpTrainer()
    name = f"{getattr(task_function, '__module__', '')}:{getattr(task_function, '__qualname__', '')}"
    return NnexpTrainer() if name == NNEXP_TRAINER_APP else HydraApp(task_function)


def app_objective(result: Any, metric: str, direction: str) -> float:
    """An app trial's objective: its return value, else the best ``metric`` it reported."""
    values = objective_values(getattr(result, "value", None), 1)
    if values is not None:
        return values[0]
    reported = [v for v in result.history.get(metric, []) if math.isfinite(v)]
    if not reported:
        return math.nan
    return max(reported) if direction == "maximize" else min(reported)


class WorkerTask:
    """The task function the sweeper hands Hydra's launcher: each launched job is a worker
    that runs trials of the app's ``task_function`` (picklable for loky and submitit)."""

    def __init__(self, task_function: Callable[[DictConfig], Any]) -> None:
        self.task_function = task_function
        self.sweeper_pid = os.getpid()  #: made by the sweeper plugin, in the sweeper process

    def __call__(self, cfg: DictConfig) -> Any:
        from nnexp.search.job import run_worker_job

        try:
            return run_worker_job(cfg, task=task_for(self.task_function))
        finally:
            if os.getpid() != self.sweeper_pid:  # a worker's own process: it ends with its job
                from nnexp.shutdown import end_quickly

                end_quickly()

    def warm_up(self) -> None:
        """Import what a worker job imports as it starts (Optuna, the worker, MLflow's client
        and SQL store, and nnexp's trainer for ``nnexp-train``): the launcher calls this in a
        process it starts early (``NnexpLauncher.prewarm``), while the sweeper prepares. The
        process ends when the sweeper dies, as a worker does (:mod:`nnexp.search.watchdog`)."""
        import importlib

        from nnexp.search.watchdog import ORPHAN_EXIT, exit_with_sweeper

        if os.getppid() != self.sweeper_pid:  # the sweeper died before this process got here
            os._exit(ORPHAN_EXIT)
        exit_with_sweeper(self.sweeper_pid)
        modules = ["nnexp.search.job", "nnexp.search.worker", "mlflow.tracking"]
        modules.append("mlflow.store.tracking.sqlalchemy_store")
        if task_for(self.task_function).kind == "nnexp":
            modules.append("nnexp.train.trainer")
        for name in modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)


# -- the sweeper's side for an app (nnexp's trainer: nnexp.search.prepare.settle_trainer) -------


def settle_app_objective(s: dict[str, Any]) -> None:
    """An app's objective, in place: ``metric`` (the name ``nnexp.report`` gets for pruning)
    defaults to :data:`APP_METRIC`, the directions to :data:`APP_DIRECTION`."""
    if not s.get("metric"):
        s["metric"] = APP_METRIC
    s["directions"] = list(s.get("directions") or [s.get("direction") or APP_DIRECTION])
    s["direction"] = s["directions"][0]


def check_app_names(study_name: str) -> None:
    """The study name becomes MLflow names and paths: refuse traversal (exit 2)."""
    from nnexp.errors import SweepSettingError, UnsafeName
    from nnexp.filesystem import check_safe_name

    try:
        check_safe_name(study_name, "hydra.sweeper.study_name")
    except UnsafeName as exc:
        raise SweepSettingError(str(exc)) from None


def app_tracking(setting: Any, job_name: str) -> Any:
    """``hydra.sweeper.tracking`` over nnexp's tracking defaults (``nnexp.config.schema``),
    the experiment named after the app: where an app's sweep records, checked once."""
    from omegaconf.errors import OmegaConfBaseException

    from nnexp.config.schema import TrackingConfig
    from nnexp.errors import SweepSettingError

    base = OmegaConf.structured(TrackingConfig(experiment=job_name))
    try:
        return OmegaConf.merge(base, setting or {})
    except OmegaConfBaseException as exc:
        valid = ", ".join(TrackingConfig.__dataclass_fields__)
        first = str(exc).splitlines()[0]
        raise SweepSettingError(f"hydra.sweeper.tracking: {first}; valid keys: {valid}") from None
