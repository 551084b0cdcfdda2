"""One training run: config -> data -> MLP -> fit (with tracking) -> TrainResult.

This is the seam the CLI and the sweeper share: ``run_training`` takes a composed config and
optional extra callbacks (e.g. Optuna pruning raising ``StopTraining("pruned")``) and returns
the best value of the monitored metric along with the run's record.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from nnexp.config.to_model import model_kwargs
from nnexp.config.validate import ConfigError, validate
from nnexp.data.paths import resolve_under
from nnexp.nn.callbacks import StopReason
from nnexp.nn.early_stopping import resolve_mode
from nnexp.tracking.provenance import weights_tags
from nnexp.tracking.recorder import Outcome
from nnexp.tracking.timing import PhaseTimer
from nnexp.train.baseline import Baseline, baseline_for, input_scaling
from nnexp.train.datasets import load_config_dataset
from nnexp.train.metrics import regression_scores
from nnexp.train.recording import announce, fit_callbacks, open_tracking, run_tags, task_reason
from nnexp.train.threads import blas_threads, run_threads

if TYPE_CHECKING:
    from nnexp.tracking.recorder import Recorder

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


def check_run_places(cfg: DictConfig, base: Path) -> None:
    """Refuse (exit 2, :class:`~nnexp.errors.NotWritable`) a run whose tracking home, artifact
    root or output dir is read-only, before anything is created or trained."""
    from nnexp.filesystem import check_writable
    from nnexp.tracking.store import local_places, resolve_artifact_location, resolve_tracking_uri

    places = []
    if cfg.tracking.enabled:
        uri = resolve_tracking_uri(cfg.tracking.uri, base)
        places += local_places(uri, resolve_artifact_location(cfg.tracking.artifact_location, base))
    out = resolve_under(cfg.trainer.save_dir, base) or _hydra_output_dir()
    places.append(
        ("the run's weights", out, "set trainer.save_dir (or hydra.run.dir) to a writable directory")
    )
    check_writable(places)


def has_trained_weights(stop_reason: str, epochs_run: int) -> bool:
    """Whether the model holds weights worth testing and saving: a run that diverged in its
    first epoch is back at its initial weights (``MLP.fit`` restores the last finite epoch's
    weights, here none), so its test metrics and weights would mean nothing."""
    return not (stop_reason == StopReason.DIVERGED and epochs_run == 0)


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


@dataclass
class _Fitted:
    """What the fit left: its history and stop, the test metrics and the saved weights."""

    history: dict[str, list[float]]
    stop_reason: str
    best_value: float
    best_epoch: int | None
    epochs_run: int
    task: str
    metrics: dict[str, float]
    y_pred: np.ndarray | None
    weights: Path | None


def _final_evaluation(
    cfg: DictConfig, base: Path, model: Any, ds: Any, monitor: str, mode: str, task: str
) -> _Fitted:
    """After the fit: the best monitored value, test metrics and the saved weights (none for a
    model that never trained, or whose weights are not finite)."""
    history = {k: [float(v) for v in vals] for k, vals in model.history_.items()}
    stop_reason = str(model.stop_reason_)
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
    return _Fitted(
        history=history,
        stop_reason=stop_reason,
        best_value=best_of(history.get(monitor, []), mode),
        best_epoch=getattr(model, "best_epoch_", None),
        epochs_run=epochs_run,
        task=task,
        metrics=metrics,
        y_pred=y_pred,
        weights=weights,
    )


def _hand_off(
    cfg: DictConfig,
    recorder: Recorder,
    model: Any,
    ds: Any,
    baseline: Baseline | None,
    fitted: _Fitted,
    config: dict[str, Any],
    monitor: str,
    uri: str,
    want_model: bool,
) -> None:
    """Record the outcome, (``want_model``) the servable model, the artifacts and the plots, and
    end the run FINISHED. The model is sent before the plots are drawn here: a recorder in a
    second process logs it meanwhile."""
    outcome_tags = {**weights_tags(model), "dataset.task_reason": task_reason(cfg, ds, fitted.task)}
    if baseline is not None:
        outcome_tags.update({"baseline.model": baseline.model, "baseline.scaling": baseline.scaling})
    recorder.log_outcome(
        Outcome(
            stop_reason=fitted.stop_reason,
            epochs_run=fitted.epochs_run,
            best_epoch=fitted.best_epoch,
            monitor=monitor,
            best_value=fitted.best_value,
            test_metrics={**fitted.metrics, **(baseline.metrics if baseline is not None else {})},
            extra_tags=outcome_tags,
        )
    )
    if want_model and fitted.weights is not None:
        recorder.log_model(fitted.weights, ds.X_train, uri)
    with tempfile.TemporaryDirectory(prefix="nnexp-plots-") as tmp:
        plots = _draw_plots(ds, fitted, Path(tmp)) if cfg.tracking.log_plots else None
        recorder.log_artifacts(config=config, weights=fitted.weights, dataset=ds, plots=plots)
        recorder.end("FINISHED")  # the figures are uploaded by then


def _draw_plots(ds: Any, fitted: _Fitted, folder: Path) -> Path:
    """The run's figures in ``folder``: learning curves, and a classifier's confusion matrix."""
    from nnexp.tracking.plots import run_plots

    return run_plots(
        folder,
        fitted.history,
        best_epoch=fitted.best_epoch,
        y_test=ds.y_test,
        y_pred_test=fitted.y_pred if fitted.task == "classification" else None,
        class_names=getattr(ds, "class_names", None),
    )


def run_training(
    cfg: DictConfig,
    *,
    callbacks: Sequence[Callable[[Any, Mapping[str, float]], Any]] = (),
    parent_run_id: str | None = None,
    run_name: str | None = None,
    extra_tags: Mapping[str, Any] | None = None,
    log_model: bool | None = None,
    separate_process: bool = False,
) -> TrainResult:
    """Train one MLP as ``cfg`` says and record it in MLflow (unless ``tracking.enabled=false``).

    Order: validate the config (the one place a run is validated), set up the tracking store (an unreachable server fails here,
    before any data is loaded), load data, create the run (nested under ``parent_run_id`` if
    given), fit with the progress printer, the MLflow epoch logger and ``callbacks``, then log
    test metrics, tags and artifacts. A crash marks the run FAILED (KeyboardInterrupt: KILLED)
    and re-raises. ``log_model`` overrides ``tracking.log_model``. ``separate_process`` (single
    runs from the CLI) records through a second process, started first, that imports MLflow and
    sets up the store while this one loads data and trains (:mod:`nnexp.tracking.agent`); sweeps
    record in-process (MLflow is loaded once there).
    """
    validate(cfg)
    started = time.perf_counter()
    timer = PhaseTimer()
    base = launch_dir()
    check_run_places(cfg, base)
    monitor = str(cfg.trainer.early_stopping.monitor)
    mode = resolve_mode(monitor, str(cfg.trainer.early_stopping.mode))
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    want_model = bool(cfg.tracking.log_model) if log_model is None else bool(log_model)
    tags = run_tags(cfg, extra_tags)
    name = run_name or cfg.tracking.run_name
    tracking = open_tracking(
        cfg,
        base,
        timer,
        separate_process=separate_process,
        start={"run_name": name, "tags": tags, "parent_run_id": parent_run_id},
    )

    threads = run_threads(cfg.trainer.threads, model_kwargs(cfg).get("width", 0))
    with blas_threads(threads), tracking.failing_run():
        ds = load_config_dataset(cfg, base)
        task = ds.task if str(cfg.model.task) == "auto" else str(cfg.model.task)
        check_task(cfg, task)
        model = build_model(cfg)
        model.columns_ = ds.columns  # a table's encoding, fitted on the training rows: saved with the model
        baseline = _baseline(cfg, ds, task)
        tracking.start_run(name, tags, parent_run_id, timer)
        recorder = tracking.recorder
        if recorder is not None:
            recorder.log_config(config, ds)
        run_line = announce(cfg, ds, task, baseline, recorder)
        model.fit(
            ds.X_train,
            ds.y_train,
            ds.X_val,
            ds.y_val,
            callbacks=fit_callbacks(cfg, recorder, monitor, callbacks, run_line),
        )
        fitted = _final_evaluation(cfg, base, model, ds, monitor, mode, task)
        if recorder is not None:
            assert tracking.uri is not None
            _hand_off(cfg, recorder, model, ds, baseline, fitted, config, monitor, tracking.uri, want_model)
            timer.seconds.update(recorder.seconds)

    return TrainResult(
        run_id=recorder.run_id if recorder is not None else None,
        metric=monitor,
        mode=mode,
        best_value=fitted.best_value,
        stop_reason=fitted.stop_reason,
        history=fitted.history,
        test_metrics=fitted.metrics,
        model_path=fitted.weights,
        epochs_run=fitted.epochs_run,
        best_epoch=fitted.best_epoch,
        experiment_id=recorder.experiment_id if recorder is not None else None,
        tracking_uri=tracking.uri,
        model_uri=recorder.model_uri if recorder is not None else None,
        dataset=ds.name,
        seconds=time.perf_counter() - started,
        tracking_seconds=dict(timer.seconds),
        model=model,
        task=fitted.task,
        baseline=baseline,
    )
