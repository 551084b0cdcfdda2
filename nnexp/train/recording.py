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


def open_tracking(
    cfg: DictConfig,
    base: Path,
    timer: PhaseTimer,
    *,
    separate_process: bool = False,
    start: Mapping[str, Any] | None = None,
) -> Tracking:
    """Open the store and the experiment before any data is loaded, so an unreachable store
    fails first. ``separate_process``: record through a :class:`RecorderProxy` started now (it
    opens the store while this process loads data; an unreachable server is still refused
    here); ``start``: its run's ``run_name``, ``tags`` and ``parent_run_id``."""
    if not cfg.tracking.enabled:
        return Tracking()
    if separate_process:
        return Tracking(*_start_proxy(cfg, base, dict(start or {})))
    from nnexp.tracking.store import open_experiment

    with timer("setup"):
        uri, experiment_id = open_experiment(cfg.tracking, base)
    return Tracking(uri, experiment_id)


def _start_proxy(cfg: DictConfig, base: Path, start: dict[str, Any]) -> tuple[str, None, Recorder]:
    from nnexp.tracking.agent import RecorderProxy, Start
    from nnexp.tracking.liveness import process_tags
    from nnexp.tracking.store import (
        configure_http_client,
        is_http,
        probe_server,
        resolve_artifact_location,
        resolve_tracking_uri,
    )

    uri, timeout = resolve_tracking_uri(cfg.tracking.uri, base), float(cfg.tracking.timeout)
    if is_http(uri):
        configure_http_client(timeout)  # the tracking process inherits the environment
        probe_server(uri, timeout)
    proxy = RecorderProxy(
        Start(
            uri=uri,
            experiment=str(cfg.tracking.experiment),
            artifact_location=resolve_artifact_location(cfg.tracking.artifact_location, base),
            timeout=timeout,
            run_name=start.get("run_name"),
            tags={**process_tags(), **dict(start.get("tags") or {})},  # the run is this process's
            parent_run_id=start.get("parent_run_id"),
        )
    )
    return uri, None, proxy


class RunLine:
    """Prints ``MLflow run <id> (experiment ...)`` once, as soon as the run exists: called
    before the fit and after each epoch (a separate process creates the run a moment later)."""

    def __init__(self, recorder: Recorder, experiment: str) -> None:
        self.recorder, self.experiment, self.printed = recorder, experiment, False

    def __call__(self, model: Any = None, record: Any = None) -> None:
        if not self.printed and (run_id := self.recorder.run_id) is not None:
            self.printed = True
            print(f"MLflow run {run_id} (experiment {self.experiment!r})", flush=True)


def fit_callbacks(
    cfg: DictConfig,
    recorder: Recorder | None,
    monitor: str,
    callbacks: Sequence[Callable[..., Any]],
    run_line: RunLine | None = None,
) -> list[Callable[..., Any]]:
    """The epoch callbacks of a fit: the progress printer and the run's line (until printed),
    the recorder's epoch logger, then the caller's ``callbacks``."""
    out: list[Callable[..., Any]] = []
    if cfg.trainer.progress:
        out.append(ProgressPrinter(int(cfg.trainer.epochs), monitor))
        if run_line is not None:
            out.append(run_line)
    if recorder is not None:
        out.append(recorder.epoch_callback)
    out.extend(callbacks)
    return out


def announce(
    cfg: DictConfig, ds: Any, task: str, baseline: Baseline | None, recorder: Recorder | None
) -> RunLine | None:
    """The run's first lines (with ``trainer.progress``): MLflow run (once it exists; the
    returned :class:`RunLine` prints it later otherwise), data, a table's column roles, task
    (and why), baseline scores."""
    if not cfg.trainer.progress:
        return None
    run_line = RunLine(recorder, str(cfg.tracking.experiment)) if recorder is not None else None
    if run_line is not None:
        run_line()
    print(f"data: {ds.summary()}", flush=True)
    if getattr(ds, "roles", None) is not None:
        print(f"columns: {ds.roles.summary()}", flush=True)
    print(f"task: {task} ({task_reason(cfg, ds, task)})", flush=True)
    if baseline is not None:
        print(f"baseline: {baseline.describe()}", flush=True)
    return run_line


def task_reason(cfg: DictConfig, ds: Any, task: str) -> str:
    """Why the run's task is what it is: set in the config, or inferred from the data."""
    if str(cfg.model.task) != "auto":
        return f"model.task={task} (set in the config)"
    return str(ds.task_reason)
