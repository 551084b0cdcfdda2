"""Where one training run records: the set-up of its MLflow recorder, the epoch callbacks that
feed it, and the run's first lines on the terminal.

``nnexp.train.trainer.run_training`` drives these phases; MLflow itself is reached only through
``nnexp.tracking``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from nnexp.tracking.timing import PhaseTimer
from nnexp.train.baseline import Baseline
from nnexp.train.progress import ProgressPrinter

if TYPE_CHECKING:
    from nnexp.tracking.recorder import Recorder


@dataclass
class Tracking:
    """A run's tracking: the store ``uri``, the experiment and the recorder (all None when
    ``tracking.enabled=false``; the recorder starts after the data loads)."""

    uri: str | None = None
    experiment_id: str | None = None
    recorder: Recorder | None = None

    @contextlib.contextmanager
    def failing_run(self) -> Iterator[None]:
        """End the run KILLED on ``KeyboardInterrupt``, FAILED on any other exception, and re-raise."""
        try:
            yield
        except KeyboardInterrupt:
            if self.recorder is not None:
                self.recorder.fail_safely("KILLED")
            raise
        except BaseException:
            if self.recorder is not None:
                self.recorder.fail_safely("FAILED")
            raise

    def start_run(
        self, run_name: str | None, tags: Mapping[str, Any], parent_run_id: str | None, timer: PhaseTimer
    ) -> None:
        """Create the MLflow run (nested under ``parent_run_id`` if given)."""
        if self.uri is None or self.recorder is not None:
            return
        from nnexp.tracking.recorder import RunRecorder

        assert self.experiment_id is not None
        self.recorder = RunRecorder.start(
            self.uri,
            self.experiment_id,
            run_name=run_name,
            tags=tags,
            parent_run_id=parent_run_id,
            timer=timer,
        )


def run_tags(cfg: DictConfig, extra_tags: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's tags: ``tracking.tags`` from the config, then the caller's ``extra_tags``."""
    tags = {str(k): v for k, v in (cfg.tracking.tags or {}).items()}
    tags.update(extra_tags or {})
    return tags


def open_tracking(cfg: DictConfig, base: Path, timer: PhaseTimer) -> Tracking:
    """Open the store and the experiment before any data is loaded, so an unreachable store
    fails first."""
    if not cfg.tracking.enabled:
        return Tracking()
    from nnexp.tracking.store import open_experiment

    with timer("setup"):
        uri, experiment_id = open_experiment(cfg.tracking, base)
    return Tracking(uri, experiment_id)


def fit_callbacks(
    cfg: DictConfig,
    recorder: Recorder | None,
    monitor: str,
    callbacks: Sequence[Callable[..., Any]],
) -> list[Callable[..., Any]]:
    """The epoch callbacks of a fit: the progress printer, the recorder's epoch logger, then
    the caller's ``callbacks``."""
    out: list[Callable[..., Any]] = []
    if cfg.trainer.progress:
        out.append(ProgressPrinter(int(cfg.trainer.epochs), monitor))
    if recorder is not None:
        out.append(recorder.epoch_callback)
    out.extend(callbacks)
    return out


def announce(
    cfg: DictConfig, ds: Any, task: str, baseline: Baseline | None, recorder: Recorder | None
) -> None:
    """The run's first lines (with ``trainer.progress``): MLflow run, data, a table's column roles,
    task (and why), baseline scores."""
    if not cfg.trainer.progress:
        return
    if recorder is not None:
        print(f"MLflow run {recorder.run_id} (experiment {cfg.tracking.experiment!r})", flush=True)
    print(f"data: {ds.summary()}", flush=True)
    if getattr(ds, "roles", None) is not None:
        print(f"columns: {ds.roles.summary()}", flush=True)
    print(f"task: {task} ({task_reason(cfg, ds, task)})", flush=True)
    if baseline is not None:
        print(f"baseline: {baseline.describe()}", flush=True)


def task_reason(cfg: DictConfig, ds: Any, task: str) -> str:
    """Why the run's task is what it is: set in the config, or inferred from the data."""
    if str(cfg.model.task) != "auto":
        return f"model.task={task} (set in the config)"
    return str(ds.task_reason)
