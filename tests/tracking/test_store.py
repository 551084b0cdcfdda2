"""Tracking URI resolution, the fail-fast server probe and one-time store creation."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnexp.tracking.store import (
    TrackingUnavailable,
    default_artifact_location,
    default_tracking_uri,
    ensure_tracking_store,
    probe_server,
    resolve_tracking_uri,
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_uri_is_mlruns_in_the_launch_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri(None, tmp_path)
    assert uri == default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlruns/mlflow.db"
    assert default_artifact_location(uri) == (tmp_path.resolve() / "mlruns" / "artifacts").as_uri()


def test_config_and_env_uris(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracker:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://tracker:5000"
    assert resolve_tracking_uri("postgresql://u:p@h/db", tmp_path) == "postgresql://u:p@h/db"
    # relative SQLite paths are anchored at the launch directory
    assert (
        resolve_tracking_uri("sqlite:///runs/x.db", tmp_path) == f"sqlite:///{tmp_path.resolve()}/runs/x.db"
    )
    assert default_artifact_location("http://tracker:5000") is None


def test_unreachable_server_fails_fast_with_a_clear_message():
    port = closed_port()
    start = time.perf_counter()
    with pytest.raises(TrackingUnavailable) as info:
        probe_server(f"http://user:secret@127.0.0.1:{port}", timeout=2.0)
    assert time.perf_counter() - start < 3.0
    msg = str(info.value)
    assert f"cannot reach the MLflow tracking server at http://user:***@127.0.0.1:{port}" in msg
    assert "secret" not in msg
    assert "tracking.enabled=false" in msg


def test_ensure_store_on_unreachable_server_fails_fast():
    port = closed_port()
    start = time.perf_counter()
    with pytest.raises(TrackingUnavailable):
        ensure_tracking_store(f"http://127.0.0.1:{port}", "nnexp", timeout=1.0)
    assert time.perf_counter() - start < 3.0


def test_ensure_store_creates_db_experiment_and_artifact_root(tmp_path, sqlite_uri):
    from mlflow.tracking import MlflowClient

    exp_id = ensure_tracking_store(sqlite_uri, "exp-a")
    assert ensure_tracking_store(sqlite_uri, "exp-a") == exp_id  # idempotent
    exp = MlflowClient(sqlite_uri).get_experiment(exp_id)
    assert exp.name == "exp-a"
    assert exp.artifact_location == (tmp_path / "mlruns" / "artifacts").as_uri()
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()


def test_deleted_experiment_is_restored(sqlite_uri):
    from mlflow.tracking import MlflowClient

    exp_id = ensure_tracking_store(sqlite_uri, "gone")
    MlflowClient(sqlite_uri).delete_experiment(exp_id)
    assert ensure_tracking_store(sqlite_uri, "gone") == exp_id
    assert MlflowClient(sqlite_uri).get_experiment(exp_id).lifecycle_stage == "active"


@pytest.mark.slow
def test_concurrent_processes_create_one_store(tmp_path):
    """Several processes initialising the same new SQLite store agree on one experiment."""
    uri = f"sqlite:///{tmp_path / 'race' / 'mlflow.db'}"
    code = (
        "import sys; from nnexp.tracking.store import ensure_tracking_store; "
        f"print(ensure_tracking_store({uri!r}, 'race'))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert len({o[0].strip() for o in outs}) == 1
    assert Path(tmp_path / "race" / "mlflow.db").is_file()


def test_a_reader_holding_the_sqlite_store_does_not_block_a_run_write(tmp_path):
    """The store is in WAL mode: while another process holds a read transaction open (``nnexp
    ui``, a test polling runs, a worker's query), a trial's metric write still commits. In
    SQLite's rollback mode it waited MLflow's 20 s busy timeout and failed, "database is locked"."""
    import sqlite3

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "nnexp")
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(experiment_id)
    reader = sqlite3.connect(tmp_path / "mlflow.db", timeout=0.1)
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM runs").fetchone()  # holds its snapshot open
        client.log_metric(run.info.run_id, "val_loss", 0.5, step=1)
        client.set_terminated(run.info.run_id)
    finally:
        reader.close()
    assert client.get_run(run.info.run_id).data.metrics == {"val_loss": 0.5}


def test_a_new_store_is_copied_from_the_migrated_template(tmp_path, monkeypatch):
    """The first new store is migrated and saved as the template (no experiment in it); the
    next starts as its copy, with no migration, and MLflow adds ``Default`` with its own root."""
    import mlflow.store.db.utils as db_utils
    from mlflow.tracking import MlflowClient

    from nnexp.tracking.store_template import template_path

    monkeypatch.setenv("NNEXP_CACHE_DIR", str(tmp_path / "cache"))
    first = f"sqlite:///{tmp_path / 'one' / 'mlflow.db'}"
    ensure_tracking_store(first, "exp-a")
    assert template_path().is_file()

    def no_migration(engine):
        raise AssertionError("a store copied from the template is migrated again")

    monkeypatch.setattr(db_utils, "_initialize_tables", no_migration)
    second = f"sqlite:///{tmp_path / 'two' / 'mlflow.db'}"
    exp_id = ensure_tracking_store(second, "exp-b")
    exps = {e.name: e for e in MlflowClient(second).search_experiments()}
    assert set(exps) == {"Default", "exp-b"}  # nothing of the first store's experiments
    assert exps["exp-b"].experiment_id == exp_id == "1"
    assert exps["exp-b"].artifact_location == (tmp_path / "two" / "artifacts").as_uri()


def test_a_damaged_template_costs_only_the_migration(tmp_path, monkeypatch):
    """A template that is no store is dropped, the store migrated as before and saved anew."""
    import sqlite3

    from mlflow.tracking import MlflowClient

    from nnexp.tracking.store_template import template_path

    monkeypatch.setenv("NNEXP_CACHE_DIR", str(tmp_path / "cache"))
    template_path().parent.mkdir(parents=True)
    template_path().write_bytes(b"not a database")
    uri = f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"
    exp_id = ensure_tracking_store(uri, "exp")
    assert MlflowClient(uri).get_experiment(exp_id).name == "exp"
    with sqlite3.connect(template_path()) as conn:  # replaced by the migrated store
        assert conn.execute("SELECT count(*) FROM experiments").fetchone() == (0,)
