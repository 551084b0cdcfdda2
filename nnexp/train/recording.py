"""Where one training run records: the set-up of its MLflow recorder (in this process, or the
tracking process of a single CLI run), the epoch callbacks that feed it, and the run's first
lines on the terminal.

``nnexp.train.trainer.run_training`` drives these phases; MLflow itself is reached only through
``nnexp.tracking``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from nnexp.tracking.timing import PhaseTimer
from nnexp.train.baseline import Baseline
from nnexp.train.progress import ProgressPrinter


@dataclass
class Tracking:
    """A run's tracking: the store ``uri``, the experiment and the recorder (all None when
    ``tracking.enabled=false``; the recorder of an in-process run starts after the data loads)."""

    uri: str | None = None
    experiment_id: str | None = None
    recorder: Any = None

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
        """Create the in-process MLflow run (nested under ``parent_run_id`` if given)."""
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
    tags: Mapping[str, Any],
    run_name: str | None,
    parent_run_id: str | None,
    tracking_process: bool,
    timer: PhaseTimer,
) -> Tracking:
    """Set tracking up before any data is loaded, so an unreachable store fails first:
    ``tracking_process`` launches the tracking process (which creates the run), otherwise the
    store and experiment are opened here."""
    if not cfg.tracking.enabled:
        return Tracking()
    if tracking_process:
        from nnexp.tracking.store import resolve_tracking_uri

        uri = resolve_tracking_uri(cfg.tracking.uri, base)
        from nnexp.tracking.liveness import process_tags

        owner = {**process_tags(), **tags}  # the run belongs to this process, not to the agent
        return Tracking(uri, None, launch_agent(cfg, uri, base, owner, run_name, parent_run_id))
    from nnexp.tracking.store import open_experiment

    with timer("setup"):
        uri, experiment_id = open_experiment(cfg.tracking, base)
    return Tracking(uri, experiment_id)


def launch_agent(
    cfg: DictConfig,
    uri: str,
    base: Path,
    tags: Mapping[str, Any],
    run_name: str | None,
    parent_run_id: str | None,
) -> Any:
    """Start the tracking process; an unreachable ``http(s)`` server is refused first, here."""
    from nnexp.tracking.agent import BackgroundRecorder
    from nnexp.tracking.store import configure_http_client, is_http, probe_server, resolve_artifact_location

    if is_http(uri):
        configure_http_client(float(cfg.tracking.timeout))  # the agent inherits the environment
        probe_server(uri, float(cfg.tracking.timeout))
    return BackgroundRecorder.launch(
        {
            "uri": uri,
            "experiment": str(cfg.tracking.experiment),
            "artifact_location": resolve_artifact_location(cfg.tracking.artifact_location, base),
            "timeout": float(cfg.tracking.timeout),
            "run_name": run_name,
            "tags": dict(tags),
            "parent_run_id": parent_run_id,
        }
    )


def fit_callbacks(
    cfg: DictConfig,
    recorder: Any,
    monitor: str,
    tracking_process: bool,
    callbacks: Sequence[Callable[..., Any]],
) -> list[Callable[..., Any]]:
    """The epoch callbacks of a fit: the progress printer (and, with a tracking process, the
    run id once it exists), the recorder's epoch logger, then the caller's ``callbacks``."""
    out: list[Callable[..., Any]] = []
    if cfg.trainer.progress:
        out.append(ProgressPrinter(int(cfg.trainer.epochs), monitor))
        if tracking_process and recorder is not None:
            out.append(announcer(recorder, str(cfg.tracking.experiment)))
    if recorder is not None:
        out.append(recorder.epoch_callback)
    out.extend(callbacks)
    return out


@contextlib.contextmanager
def sharing_cores(cfg: DictConfig, recorder: Any, tracking_process: bool) -> Iterator[list[Any]]:
    """Inside, a run whose tracking process is still busy trains with one BLAS thread fewer
    than the cores (see :class:`nnexp.train.threads.CoreShare`); yields the epoch callback that
    lifts the limit once it is idle. Only when ``trainer.threads`` is not set."""
    if not tracking_process or recorder is None or cfg.trainer.threads is not None:
        yield []
        return
    from nnexp.train.threads import CoreShare

    share = CoreShare(recorder.busy)
    try:
        yield [share] if share.limited else []
    finally:
        share.close()


def announcer(recorder: Any, experiment: str) -> Callable[[Any, Mapping[str, float]], None]:
    """Epoch callback printing the run id once the tracking process has created the run."""

    def announce(model: Any, record: Mapping[str, float]) -> None:
        run_id = recorder.announce()
        if run_id is not None:
            print(f"MLflow run {run_id} (experiment {experiment!r})", flush=True)

    return announce


def announce(
    cfg: DictConfig, ds: Any, task: str, baseline: Baseline | None, recorder: Any, tracking_process: bool
) -> None:
    """The run's first lines (with ``trainer.progress``): MLflow run, data, a table's column roles,
    task (and why), baseline scores. A tracking process's run id comes later, at epoch 1 (:func:`announcer`)."""
    if not cfg.trainer.progress:
        return
    run_id = recorder.run_id if recorder is not None and not tracking_process else None
    if run_id is not None:
        print(f"MLflow run {run_id} (experiment {cfg.tracking.experiment!r})", flush=True)
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
