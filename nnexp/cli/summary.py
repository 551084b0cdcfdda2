"""The end-of-run summary printed by ``nnexp-train``."""

from __future__ import annotations

from typing import Any, List

from nnexp.tracking.masking import mask_secrets


def format_summary(result: Any, experiment: str = "") -> str:
    """Stop reason, best monitored value, test metrics, weights path, MLflow run and how to open it."""
    from nnexp.tracking.links import open_run_hint

    lines: List[str] = []
    best = f" (best epoch {result.best_epoch})" if result.best_epoch else ""
    lines.append(f"stopped: {result.stop_reason} after {result.epochs_run} epochs{best}, {result.seconds:.1f}s")
    lines.append(f"best {result.metric} ({result.mode}): {result.best_value:.4f}")
    if result.test_metrics:
        lines.append("test: " + "  ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items()))
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
    lines.append(f"open it: {open_run_hint(result.tracking_uri or '', result.experiment_id or '', result.run_id)}")
    timings = dict(result.tracking_seconds)
    waited = timings.pop("wait", None)
    if timings:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        if waited is None:
            lines.append(f"tracking time: {sum(timings.values()):.2f}s ({parts})")
        else:  # a separate tracking process did the work while this one trained
            lines.append(f"tracking time: waited {waited:.2f}s at the end (tracking process: {parts})")
    return "\n".join(lines)
