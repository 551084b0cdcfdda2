"""Reading and annotating finished runs (``nnexp best``, ``nnexp reproduce``): the MLflow
requests behind them, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunRecord:
    """What MLflow holds about one run (no artifacts)."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def _client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def read_run(tracking_uri: str, run_id: str) -> RunRecord | None:
    """Run ``run_id`` of the store at ``tracking_uri``; None when the store has no such run."""
    from mlflow.exceptions import MlflowException

    try:
        run = _client(tracking_uri).get_run(run_id)
    except MlflowException:
        return None
    return RunRecord(
        run_id=run_id,
        run_name=run.info.run_name or run_id[:8],
        experiment_id=run.info.experiment_id,
        status=run.info.status,
        tags=dict(run.data.tags),
        metrics=dict(run.data.metrics),
    )


def run_tags(tracking_uri: str, run_id: str) -> dict[str, str]:
    """The tags of run ``run_id`` (raises when the run does not exist)."""
    return dict(_client(tracking_uri).get_run(run_id).data.tags)


def download_artifact(tracking_uri: str, run_id: str, path: str, dst: str) -> Path | None:
    """Artifact ``path`` of run ``run_id`` downloaded into ``dst``; None when it is missing."""
    try:
        return Path(_client(tracking_uri).download_artifacts(run_id, path, dst))
    except Exception:  # noqa: BLE001 - a missing artifact is "not recorded"
        return None


def set_run_tags(tracking_uri: str, run_id: str, tags: dict[str, Any]) -> None:
    """Set many tags on run ``run_id`` in one request."""
    from nnexp.tracking.sweep_runs import set_tags

    set_tags(_client(tracking_uri), run_id, tags)


def start_run_under(tracking_uri: str, parent_run_id: str, name: str, tags: dict[str, Any]) -> str:
    """A new RUNNING run nested under ``parent_run_id`` (same experiment); returns its id."""
    from nnexp.contract import PARENT_RUN_TAG

    cl = _client(tracking_uri)
    experiment_id = cl.get_run(parent_run_id).info.experiment_id
    all_tags = {PARENT_RUN_TAG: parent_run_id, **{k: str(v) for k, v in tags.items()}}
    return str(cl.create_run(experiment_id, tags=all_tags, run_name=name).info.run_id)


def finish_run(
    tracking_uri: str,
    run_id: str,
    *,
    metrics: dict[str, float],
    tags: dict[str, Any],
    status: str = "FINISHED",
) -> None:
    """Log ``metrics`` and ``tags`` on run ``run_id`` and end it with ``status``."""
    from nnexp.tracking.sweep_runs import end_run, log_summary

    cl = _client(tracking_uri)
    log_summary(cl, run_id, tags=tags, metrics=metrics, step=0)
    end_run(cl, run_id, status)


def experiments_by_latest_run(uri: str) -> list[tuple[str, str]]:
    """``[(experiment id, name)]`` of the active experiments holding runs, latest run first."""
    client = _client(uri)
    found: list[tuple[int, str, str]] = []
    for exp in client.search_experiments():
        runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
        if runs:
            found.append((int(runs[0].info.start_time or 0), exp.experiment_id, exp.name))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(exp_id, name) for _, exp_id, name in found]
