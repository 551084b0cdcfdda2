"""The end-of-run summary printed by ``nnexp-train``."""

from __future__ import annotations

import math
from typing import Any

from nnexp.nn.callbacks import StopReason
from nnexp.tracking.masking import mask_secrets
from nnexp.train.baseline import format_vs_baseline


def divergence(epochs_run: int) -> str:
    """What a diverged run kept: the weights of its last finite epoch, or nothing."""
    where = f"non-finite loss or weights in epoch {epochs_run + 1}"
    if epochs_run:
        return f"{where}; kept the weights of epoch {epochs_run}, the last finite one"
    return f"{where}; no finite epoch, so no weights and no test metrics"


def format_summary(result: Any, experiment: str = "") -> str:
    """Stop reason, best monitored value, test metrics, weights path, MLflow run and how to open it."""
    from nnexp.tracking.links import open_run_hint

    lines: list[str] = []
    best = f" (best epoch {result.best_epoch})" if result.best_epoch else ""
    lines.append(
        f"stopped: {result.stop_reason} after {result.epochs_run} epochs{best}, {result.seconds:.1f}s"
    )
    if math.isfinite(result.best_value):
        lines.append(f"best {result.metric} ({result.mode}): {result.best_value:.4f}")
    else:
        lines.append(f"best {result.metric} ({result.mode}): none (no epoch ended with finite values)")
    if result.stop_reason == StopReason.DIVERGED:
        lines.append(f"diverged: {divergence(result.epochs_run)}")
    if result.test_metrics:
        lines.append("test: " + "  ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items()))
    baseline = getattr(result, "baseline", None)
    if baseline is not None:
        versus = format_vs_baseline({**result.test_metrics, **baseline.metrics}, baseline.model)
        if versus:
            lines.append(f"network vs baseline: {versus}")
    if result.model_path is not None:
        lines.append(f"weights: {result.model_path}")
    if result.run_id is None:
        lines.append("MLflow: tracking disabled (tracking.enabled=false)")
        return "\n".join(lines)
    lines.append(
        f"MLflow run: {result.run_id} (experiment {experiment!r}, id {result.experiment_id}) "
        f"at {mask_secrets(result.tracking_uri or '')}"
    )
    if result.model_uri:
        lines.append(f"model: {result.model_uri}  (mlflow.pyfunc.load_model(...).predict(X))")
    lines.append(
        f"open it: {open_run_hint(result.tracking_uri or '', result.experiment_id or '', result.run_id)}"
    )
    timings = dict(result.tracking_seconds)
    waited = timings.pop("wait", None)  # recorded by a second process while this one trained
    if timings:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        if waited is None:
            lines.append(f"tracking time: {sum(timings.values()):.2f}s ({parts})")
        else:
            lines.append(f"tracking time: waited {waited:.2f}s at the end (tracking process: {parts})")
    return "\n".join(lines)
