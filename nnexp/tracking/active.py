"""MLflow's active run, for apps that nnexp sweeps: the trial's child run is the active run
while the app's task function runs, so ``nnexp.report`` and the app's own ``mlflow.log_*``
calls land in it (:func:`trial_run`); outside a sweep ``nnexp.report`` logs to whatever run
the app started (:func:`log_to_active_run`)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

from nnexp.tracking.masking import mask_secrets


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    """MLflow stores NaN, but not every backend takes infinities: keep the finite values."""
    return {k: float(v) for k, v in metrics.items() if math.isfinite(float(v))}


def log_to_active_run(metrics: Mapping[str, float], step: int | None) -> None:
    """Log ``metrics`` at ``step`` to the active MLflow run; nothing when there is none."""
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.log_metrics(_finite(metrics), step=step)


class TrialRun:
    """The active child run of one trial: what the worker logs besides the app."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def log_step(self, metrics: Mapping[str, float], step: int | None) -> None:
        """One step's metrics (``step`` None: summary scores, logged at step 0)."""
        import mlflow

        mlflow.log_metrics(_finite(metrics), step=step or 0, run_id=self.run_id)


@contextlib.contextmanager
def trial_run(
    uri: str,
    experiment_id: str,
    *,
    parent_run_id: str | None,
    run_name: str,
    tags: Mapping[str, Any],
    params: Mapping[str, Any],
) -> Iterator[TrialRun]:
    """Create the trial's child run (owned by this process, as every nnexp run), make it
    MLflow's active run while the block runs, and end it: FINISHED (pruned trials too: they ran
    as far as they should), else FAILED; the worker tags the outcome afterwards."""
    import mlflow

    from nnexp.tracking.run import TrackedRun

    mlflow.set_tracking_uri(uri)
    run = TrackedRun.start(uri, experiment_id, run_name=run_name, tags=tags, parent_run_id=parent_run_id)
    # a hook's "+key" param adds a config key: MLflow names it by the key (no "+" allowed there)
    run.log_params({str(k).lstrip("+"): mask_secrets(str(v)) for k, v in params.items()})
    status = "FAILED"
    try:
        with mlflow.start_run(run_id=run.run_id, nested=mlflow.active_run() is not None):
            yield TrialRun(run.run_id)
            status = "FINISHED"
    except BaseException as exc:
        import optuna

        if isinstance(exc, optuna.TrialPruned):
            status = "FINISHED"  # a pruned trial ran as far as it should; its tags say PRUNED
        raise
    finally:
        run.end(status)
