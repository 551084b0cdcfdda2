"""UI addresses (runs table, run page), the experiment kind tag and ``nnexp ui``'s link list."""

from __future__ import annotations

from nnexp.cli.ui import open_lines
from nnexp.tracking.links import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    experiment_url,
    open_run_hint,
    run_link,
    run_url,
)
from nnexp.tracking.queries import experiments_by_latest_run
from nnexp.tracking.store import ensure_tracking_store


def test_addresses():
    assert experiment_url("http://127.0.0.1:5050/", "3") == (
        "http://127.0.0.1:5050/#/experiments/3/runs?workflowType=machine_learning"
    )
    assert run_url("http://h:5000", "3", "abc") == "http://h:5000/#/experiments/3/runs/abc"
    assert run_link("trial 2", "abc", "3") == "[trial 2](#/experiments/3/runs/abc)"
    assert run_link("trial 2", None, "3") == "trial 2"
    # a tracking server is its own UI (credentials masked); a local store needs nnexp ui
    assert open_run_hint("http://u:pw@h:5000", "3", "abc") == "http://u:***@h:5000/#/experiments/3/runs/abc"
    assert open_run_hint("sqlite:////x/mlflow.db", "3", "abc") == (
        "nnexp ui --backend-store-uri sqlite:////x/mlflow.db  then http://127.0.0.1:5000/#/experiments/3/runs/abc"
    )


def test_new_experiments_are_tagged_and_ui_lists_the_latest_first(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    older = ensure_tracking_store(uri, "older")
    newer = ensure_tracking_store(uri, "newer")
    ensure_tracking_store(uri, "empty")
    assert client.get_experiment(older).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    for exp_id, start in ((newer, 2000), (older, 1000)):
        client.set_terminated(client.create_run(exp_id, start_time=start).info.run_id)
    assert experiments_by_latest_run(uri) == [(newer, "newer"), (older, "older")]  # "empty": no runs
    lines = open_lines(experiments_by_latest_run(uri), 5050)
    assert lines[0].startswith(
        f"open: http://127.0.0.1:5050/#/experiments/{newer}/runs?workflowType=machine_learning"
    )
    assert lines[1].startswith(f"also: http://127.0.0.1:5050/#/experiments/{older}/runs?")
    assert open_lines([], 5050) == ["open: http://127.0.0.1:5050   (no runs yet)"]
