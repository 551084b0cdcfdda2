"""One training run: config -> data -> MLP -> fit (with tracking) -> TrainResult.

This is the seam the CLI and the sweeper share: ``run_training`` takes a composed config and
optional extra callbacks (e.g. Optuna pruning raising ``StopTraining("pruned")``) and returns
the best value of the monitored metric along with the run's record.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from nnexp.config.to_model import model_kwargs
from nnexp.config.validate import ConfigError, validate
from nnexp.data.paths import resolve_under
from nnexp.nn.early_stopping import resolve_mode
from nnexp.tracking.provenance import weights_tags
from nnexp.tracking.timing import PhaseTimer
from nnexp.train.baseline import Baseline, baseline_for, input_scaling
from nnexp.train.datasets import load_config_dataset
from nnexp.train.metrics import regression_scores
from nnexp.train.progress import ProgressPrinter
from nnexp.train.threads import blas_threads

WEIGHTS_FILE = "model.npz"


@dataclass
class TrainResult:
    """What a run produced; ``best_value`` of ``metric`` is the sweep objective."""

    run_id: str | None
    metric: str
    mode: str
    best_value: float
    stop_reason: str
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    model_path: Path | None
    epochs_run: int
    best_epoch: int | None = None
    experiment_id: str | None = None
    tracking_uri: str | None = None
    model_uri: str | None = None
    dataset: str = ""
    seconds: float = 0.0
    tracking_seconds: dict[str, float] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)
    task: str = ""
    baseline: Baseline | None = None


def launch_dir() -> Path:
    """Where the user launched: Hydra's original working directory, else the current one."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            from hydra.utils import get_original_cwd

            return Path(get_original_cwd())
    except ImportError:  # pragma: no cover - hydra is a dependency
        pass
    return Path.cwd()


def _hydra_output_dir() -> Path | None:
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return Path(HydraConfig.get().runtime.output_dir)
    except (ImportError, ValueError):  # pragma: no cover
        pass
    return None


def build_model(cfg: DictConfig) -> Any:
    """A fresh, untrained ``nnexp.nn.MLP`` from a validated config (see ``config.to_model``)."""
    from nnexp.nn import MLP

    return MLP(**model_kwargs(cfg))


def best_of(values: Sequence[float], mode: str) -> float:
    """Best finite value (``min``/``max``); the worst possible value when none is finite."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return math.inf if mode == "min" else -math.inf
    return min(finite) if mode == "min" else max(finite)


def test_metrics(
    model: Any, X: np.ndarray, y: np.ndarray, task: str
) -> tuple[dict[str, float], np.ndarray | None]:
    """Test-set metrics from ``sklearn.metrics``, in the target's units; plus the test predictions.

    Classification: ``test_accuracy`` and ``test_loss`` (cross-entropy). Regression:
    ``test_loss`` (MSE), ``test_rmse``, ``test_mae`` and ``test_r2`` (NaN when predictions are
    not finite; see :func:`nnexp.train.metrics.regression_scores`).
    """
    from sklearn import metrics as skm

    if len(y) == 0:
        return {}, None
    y_pred = np.asarray(model.predict(X))
    if task == "classification":
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
        return {
            "test_accuracy": float(skm.accuracy_score(y, y_pred)),
            "test_loss": float(skm.log_loss(y, proba, labels=model.classes_)),
        }, y_pred
    s = regression_scores(y, y_pred)
    return {"test_loss": s["mse"], "test_rmse": s["rmse"], "test_mae": s["mae"], "test_r2": s["r2"]}, y_pred


def _weights_dir(cfg: DictConfig, base: Path) -> Path:
    explicit = resolve_under(cfg.trainer.save_dir, base)
    if explicit is not None:
        return explicit
    return _hydra_output_dir() or Path(tempfile.mkdtemp(prefix="nnexp-run-"))


def has_trained_weights(stop_reason: str, epochs_run: int) -> bool:
    """Whether the model holds weights worth testing and saving: a run that diverged in its
    first epoch is back at its initial weights (``MLP.fit`` restores the last finite epoch's
    weights, here none), so its test metrics and weights would mean nothing."""
    return not (stop_reason == "diverged" and epochs_run == 0)


def check_task(cfg: DictConfig, task: str) -> None:
    """Refuse an early-stopping monitor the task cannot report (accuracy on regression)."""
    monitor = str(cfg.trainer.early_stopping.monitor)
    if task != "classification" and "accuracy" in monitor:
        raise ConfigError(
            [
                f"trainer.early_stopping.monitor={monitor!r} needs a classification dataset, "
                f"but data={cfg.data.name} is {task}; choose one of val_loss, train_loss"
            ]
        )


def _baseline(cfg: DictConfig, ds: Any, task: str) -> Baseline | None:
    """The split's linear baseline (cached on disk); a failed fit is said and the run goes on."""
    if task != ds.task:  # model.task overrides the data's task: targets do not fit the baseline
        return None
    try:
        return baseline_for(ds, input_scaling(cfg), seed=int(cfg.trainer.seed))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        print(f"baseline: skipped ({type(exc).__name__}: {exc})", flush=True)
        return None


def _announce(cfg: DictConfig, ds: Any, task: str, baseline: Baseline | None, run_id: str | None) -> None:
    """The run's first lines: MLflow run, data, task (and why), baseline scores."""
    if run_id is not None:
        print(f"MLflow run {run_id} (experiment {cfg.tracking.experiment!r})", flush=True)
    print(f"data: {ds.summary()}", flush=True)
    print(f"task: {task} ({_task_reason(cfg, ds, task)})", flush=True)
    if baseline is not None:
        print(f"baseline: {baseline.describe()}", flush=True)


def _task_reason(cfg: DictConfig, ds: Any, task: str) -> str:
    if str(cfg.model.task) != "auto":
        return f"model.task={task} (set in the config)"
    return str(ds.task_reason)


def _launch_agent(
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


def _announcer(recorder: Any, experiment: str) -> Callable[[Any, Mapping[str, float]], None]:
    """Epoch callback printing the run id once the tracking process has created the run."""

    def announce(model: Any, record: Mapping[str, float]) -> None:
        run_id = recorder.announce()
        if run_id is not None:
            print(f"MLflow run {run_id} (experiment {experiment!r})", flush=True)

    return announce


def run_training(
    cfg: DictConfig,
    *,
    callbacks: Sequence[Callable[[Any, Mapping[str, float]], Any]] = (),
    parent_run_id: str | None = None,
    run_name: str | None = None,
    extra_tags: Mapping[str, Any] | None = None,
    log_model: bool | None = None,
    tracking_process: bool = False,
) -> TrainResult:
    """Train one MLP as ``cfg`` says and record it in MLflow (unless ``tracking.enabled=false``).

    Order: validate the config (the one place a run is validated), set up the tracking store (an unreachable server fails here,
    before any data is loaded), load data, create the run (nested under ``parent_run_id`` if
    given), fit with the progress printer, the MLflow epoch logger and ``callbacks``, then log
    test metrics, tags and artifacts. A crash marks the run FAILED (KeyboardInterrupt: KILLED)
    and re-raises. ``log_model`` overrides ``tracking.log_model``. ``tracking_process=True``
    (single runs from the CLI) records in a separate process started first, which imports MLflow
    and sets up the store while this one loads data and trains
    (:mod:`nnexp.tracking.agent`); sweeps keep tracking in-process (MLflow is loaded once there).
    """
    validate(cfg)
    started = time.perf_counter()
    timer = PhaseTimer()
    base = launch_dir()
    track = bool(cfg.tracking.enabled)
    monitor = str(cfg.trainer.early_stopping.monitor)
    mode = resolve_mode(monitor, str(cfg.trainer.early_stopping.mode))
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    want_model = bool(cfg.tracking.log_model) if log_model is None else bool(log_model)

    uri: str | None = None
    experiment_id: str | None = None
    tags = {str(k): v for k, v in (cfg.tracking.tags or {}).items()}
    tags.update(extra_tags or {})
    recorder: Any = None
    if track and tracking_process:
        from nnexp.tracking.store import resolve_tracking_uri

        uri = resolve_tracking_uri(cfg.tracking.uri, base)
        from nnexp.tracking.liveness import process_tags

        owner = {**process_tags(), **tags}  # the run belongs to this process, not to the agent
        recorder = _launch_agent(cfg, uri, base, owner, run_name or cfg.tracking.run_name, parent_run_id)
    elif track:
        from nnexp.tracking.store import open_experiment

        with timer("setup"):
            uri, experiment_id = open_experiment(cfg.tracking, base)

    agent_guard = recorder.ending_on_error() if recorder is not None else contextlib.nullcontext()
    with blas_threads(cfg.trainer.threads), agent_guard:
        ds = load_config_dataset(cfg, base)
        task = ds.task if str(cfg.model.task) == "auto" else str(cfg.model.task)
        check_task(cfg, task)
        model = build_model(cfg)
        baseline = _baseline(cfg, ds, task)

        if track and recorder is None:
            from nnexp.tracking.recorder import RunRecorder

            assert uri is not None and experiment_id is not None
            recorder = RunRecorder.start(
                uri,
                experiment_id,
                run_name=run_name or cfg.tracking.run_name,
                tags=tags,
                parent_run_id=parent_run_id,
                timer=timer,
            )
        try:
            if recorder is not None:
                recorder.log_config(config, ds)
            if cfg.trainer.progress:
                shown_id = recorder.run_id if recorder is not None and not tracking_process else None
                _announce(cfg, ds, task, baseline, shown_id)  # the agent's run id: at epoch 1
            fit_callbacks: list[Callable[..., Any]] = []
            if cfg.trainer.progress:
                fit_callbacks.append(ProgressPrinter(int(cfg.trainer.epochs), monitor))
                if tracking_process and recorder is not None:
                    fit_callbacks.append(_announcer(recorder, str(cfg.tracking.experiment)))
            if recorder is not None:
                fit_callbacks.append(recorder.epoch_callback)
            fit_callbacks.extend(callbacks)
            model.fit(ds.X_train, ds.y_train, ds.X_val, ds.y_val, callbacks=fit_callbacks)

            history = {k: [float(v) for v in vals] for k, vals in model.history_.items()}
            stop_reason = str(model.stop_reason_)
            best_value = best_of(history.get(monitor, []), mode)
            best_epoch = getattr(model, "best_epoch_", None)
            epochs_run = int(model.n_epochs_run_)
            task = str(getattr(model, "task_", task))
            trained = has_trained_weights(stop_reason, epochs_run)
            metrics, y_pred = test_metrics(model, ds.X_test, ds.y_test, task) if trained else ({}, None)

            weights: Path | None = _weights_dir(cfg, base) / WEIGHTS_FILE if trained else None
            if weights is not None:
                weights.parent.mkdir(parents=True, exist_ok=True)
                try:
                    model.save(weights)
                except ValueError as exc:  # non-finite weights
                    print(f"weights not saved: {exc}", flush=True)
                    weights = None

            model_uri = None
            if recorder is not None:
                outcome_tags = {**weights_tags(model), "dataset.task_reason": _task_reason(cfg, ds, task)}
                if baseline is not None:
                    outcome_tags.update(
                        {"baseline.model": baseline.model, "baseline.scaling": baseline.scaling}
                    )
                recorder.log_outcome(
                    stop_reason=stop_reason,
                    epochs_run=epochs_run,
                    best_epoch=best_epoch,
                    monitor=monitor,
                    best_value=best_value,
                    test_metrics={**metrics, **(baseline.metrics if baseline is not None else {})},
                    extra_tags=outcome_tags,
                )
                recorder.log_artifacts(
                    config=config,
                    weights=weights,
                    dataset=ds,
                    history=history,
                    best_epoch=best_epoch,
                    y_pred_test=y_pred if task == "classification" else None,
                    plots=bool(cfg.tracking.log_plots),
                )
                if want_model and weights is not None:
                    model_uri = recorder.log_model(weights, ds.X_train, uri)  # type: ignore[arg-type]
                recorder.end("FINISHED")
                if tracking_process:
                    model_uri, experiment_id = recorder.model_uri, recorder.experiment_id
                    timer.seconds.update(recorder.seconds)
        except KeyboardInterrupt:
            if recorder is not None:
                recorder.fail_safely("KILLED")
            raise
        except BaseException:
            if recorder is not None:
                recorder.fail_safely("FAILED")
            raise

    return TrainResult(
        run_id=recorder.run_id if recorder is not None else None,
        metric=monitor,
        mode=mode,
        best_value=best_value,
        stop_reason=stop_reason,
        history=history,
        test_metrics=metrics,
        model_path=weights,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        experiment_id=experiment_id,
        tracking_uri=uri,
        model_uri=model_uri,
        dataset=ds.name,
        seconds=time.perf_counter() - started,
        tracking_seconds=dict(timer.seconds),
        model=model,
        task=task,
        baseline=baseline,
    )
