"""Addresses in the MLflow UI that land a fresh browser on the right page.

MLflow 3 opens an experiment on its GenAI overview (traces, latency: empty for nnexp) unless the
address names the workflow: ``#/experiments/<id>/runs?workflowType=machine_learning`` opens the
runs table (measured on MLflow 3.17; the ``mlflow.experimentKind`` tag alone does not change the
landing page). A run's page is ``#/experiments/<id>/runs/<run_id>``. Every address nnexp prints
or writes into a run description is built here.
"""

from __future__ import annotations

from nnexp.tracking.masking import mask_secrets

#: Where ``nnexp ui`` serves by default.
UI_HOST = "127.0.0.1"
UI_PORT = 5000
#: The query that makes the experiment page open on its runs table.
RUNS_TABLE_QUERY = "workflowType=machine_learning"
#: Experiment tag telling MLflow 3 what kind of experiment this is, set when nnexp creates one.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def local_ui(port: int = UI_PORT) -> str:
    """``http://127.0.0.1:<port>``: where ``nnexp ui`` serves."""
    return f"http://{UI_HOST}:{int(port)}"


def experiment_fragment(experiment_id: str) -> str:
    """``#/experiments/<id>/runs?workflowType=machine_learning`` (the runs table)."""
    return f"#/experiments/{experiment_id}/runs?{RUNS_TABLE_QUERY}"


def run_fragment(experiment_id: str, run_id: str) -> str:
    """``#/experiments/<id>/runs/<run_id>`` (a run's page); relative links in descriptions."""
    return f"#/experiments/{experiment_id}/runs/{run_id}"


def experiment_url(base: str, experiment_id: str) -> str:
    """The runs table of an experiment on the UI at ``base``."""
    return f"{mask_secrets(base).rstrip('/')}/{experiment_fragment(experiment_id)}"


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    """A run's page on the UI at ``base``."""
    return f"{mask_secrets(base).rstrip('/')}/{run_fragment(experiment_id, run_id)}"


def run_link(text: str, run_id: str | None, experiment_id: str | None) -> str:
    """A markdown link to a run's page (``text`` alone without ids), for run descriptions."""
    if run_id and experiment_id:
        return f"[{text}]({run_fragment(experiment_id, run_id)})"
    return text


def server_ui(tracking_uri: str) -> str | None:
    """The UI of an ``http(s)`` tracking server is the server itself; ``None`` for local stores."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return None


def ui_command(tracking_uri: str) -> str:
    """The shell command that serves a local store's UI on :func:`local_ui`."""
    return f"nnexp ui --backend-store-uri {mask_secrets(tracking_uri)}"


def open_run_hint(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """How to open a run: its address on a tracking server, else ``nnexp ui ...`` then the address."""
    base = server_ui(tracking_uri)
    if base is not None:
        return run_url(base, experiment_id, run_id)
    return f"{ui_command(tracking_uri)}  then {run_url(local_ui(), experiment_id, run_id)}"
