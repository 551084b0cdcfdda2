"""End to end through the real ``nnexp-train`` command: what a run leaves in MLflow."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import NNEXP_TRAIN, cli_env

EPOCH_METRICS = ("train_loss", "val_loss", "val_accuracy", "lr", "epoch_seconds", "l2_penalty")

pytestmark = pytest.mark.slow


def nnexp_train(cwd: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NNEXP_TRAIN, *overrides], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def run_id_of(stdout: str) -> str:
    match = re.search(r"MLflow run: ([0-9a-f]{32})", stdout)
    assert match, stdout
    return match.group(1)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """One tracked 4-epoch digits run with the defaults: the servable model is logged too."""
    tmp = tmp_path_factory.mktemp("run")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    proc = nnexp_train(
        tmp,
        "trainer.epochs=4",
        "model.width=32",
        f"tracking.uri={uri}",
        "+tracking.tags.db=postgresql://bob:hunter2@dbhost/mlflow",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    return {
        "proc": proc,
        "uri": uri,
        "client": client,
        "run": client.get_run(run_id_of(proc.stdout)),
        "tmp": tmp,
    }


def test_terminal_shows_epochs_and_summary(full_run):
    out = full_run["proc"].stdout
    epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 4
    assert all(k in epochs[0] for k in ("train_loss", "val_loss", "val_acc", "s"))
    assert f"nnexp ui --backend-store-uri {full_run['uri']}  then http://127.0.0.1:5000/#/experiments/" in out
    assert "stopped: completed after 4 epochs" in out


def test_params_are_the_flattened_resolved_config(full_run):
    params = full_run["run"].data.params
    for key, value in {
        "model.depth": "2",
        "model.width": "32",
        "model.activation": "relu",
        "model.dropout": "0.0",
        "model.batch_norm": "false",
        "optimizer.name": "adam",
        "optimizer.lr": "0.001",
        "trainer.epochs": "4",
        "trainer.seed": "0",
        "trainer.early_stopping.patience": "20",
        "data.name": "digits",
        "data.dir": "null",
        "tracking.experiment": "nnexp",
    }.items():
        assert params[key] == value, key
    assert len(params) > 40


def test_full_metric_history_one_point_per_epoch(full_run):
    client, run = full_run["client"], full_run["run"]
    for key in EPOCH_METRICS:
        history = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == [1, 2, 3, 4], key
    metrics = run.data.metrics
    assert 0.5 < metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0
    assert metrics["best_val_loss"] == pytest.approx(
        min(m.value for m in client.get_metric_history(run.info.run_id, "val_loss"))
    )


def test_tags(full_run):
    import nnexp

    run = full_run["run"]
    tags = run.data.tags
    assert run.info.status == "FINISHED"
    assert tags["dataset"] == "digits" and re.fullmatch(r"[0-9a-f]{64}", tags["dataset.sha256"])
    assert tags["seed"] == "0" and tags["stop_reason"] == "completed"
    assert tags["nnexp.version"] == nnexp.__version__
    if (Path(nnexp.__file__).resolve().parents[1] / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", tags["git.commit"])


def test_secrets_are_masked_everywhere(full_run):
    client, run = full_run["client"], full_run["run"]
    assert run.data.tags["db"] == "postgresql://bob:***@dbhost/mlflow"
    assert run.data.params["tracking.tags.db"] == "postgresql://bob:***@dbhost/mlflow"
    config = Path(client.download_artifacts(run.info.run_id, "config.yaml", str(full_run["tmp"]))).read_text()
    assert "bob:***@dbhost" in config
    for text in (
        config,
        full_run["proc"].stdout,
        full_run["proc"].stderr,
        str(run.data.params),
        str(run.data.tags),
    ):
        assert "hunter2" not in text


def test_artifacts_and_servable_model(full_run, tmp_path):
    import mlflow

    from nnexp.data import load_dataset
    from nnexp.nn import MLP

    client, run = full_run["client"], full_run["run"]
    rid = run.info.run_id
    names = {a.path for a in client.list_artifacts(rid)}
    assert {"config.yaml", "dataset.json", "weights", "plots"} <= names
    assert {a.path for a in client.list_artifacts(rid, "plots")} == {
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
    }
    weights = client.download_artifacts(rid, "weights/model.npz", str(tmp_path))
    net = MLP.load(weights)
    ds = load_dataset("digits", seed=0, val_size=0.2, test_size=0.2)
    mlflow.set_tracking_uri(full_run["uri"])
    model_uri = run.data.tags["model_uri"]
    assert re.fullmatch(r"models:/m-[0-9a-f]{32}", model_uri)
    assert f"model: {model_uri}" in full_run["proc"].stdout  # the summary names it
    model = mlflow.pyfunc.load_model(model_uri)
    np.testing.assert_array_equal(model.predict(ds.X_test), net.predict(ds.X_test))
    assert model.metadata.signature is not None
    assert net.score(ds.X_test, ds.y_test) == pytest.approx(run.data.metrics["test_accuracy"])


def test_default_tracking_home_is_mlruns_in_the_launch_dir(tmp_path):
    proc = nnexp_train(tmp_path, "trainer.epochs=2", "model.width=16", "tracking.log_plots=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    db = tmp_path / "mlruns" / "mlflow.db"
    assert db.is_file()
    rid = run_id_of(proc.stdout)
    assert list((tmp_path / "mlruns" / "artifacts").glob(f"{rid}/artifacts/weights/model.npz"))
    assert f"nnexp ui --backend-store-uri sqlite:///{db}" in proc.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.dpeth=3", "unknown key 'model.dpeth'; did you mean model.depth?"),
        ("optimizer=adamm", "Could not find 'optimizer/adamm'"),
        ("model.dropout=1.5", "model.dropout=1.5 is out of range; must be a number in [0.0, 1.0)"),
        ("model.activation=rleu", "choose one of relu, leaky_relu, tanh, sigmoid, identity"),
    ],
)
def test_bad_config_fails_clearly_and_creates_no_run(tmp_path, override, message):
    proc = nnexp_train(tmp_path, override, f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}")
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    if override == "optimizer=adamm":
        assert all(name in proc.stderr for name in ("adam", "adamw", "sgd", "nesterov"))
    assert "epoch " not in proc.stdout
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_unreachable_tracking_server_fails_fast(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = nnexp_train(
        tmp_path, f"tracking.uri=http://user:pw@127.0.0.1:{port}", "tracking.timeout=2", timeout=60
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 3
    assert f"cannot reach the MLflow tracking server at http://user:***@127.0.0.1:{port}" in proc.stderr
    assert "epoch " not in proc.stdout and ":pw@" not in proc.stderr + proc.stdout
    assert elapsed < 30


@pytest.mark.slow
def test_missing_data_file_is_a_clear_error_not_a_traceback(tmp_path):
    """A single run on a missing CSV: one line naming the file, exit 2, nothing recorded."""
    proc = subprocess.run(
        [sys.executable, "-m", "nnexp.cli.train", "data=csv", "data.path=missing.csv", "data.target=y"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "nnexp-train: error: data=csv: csv dataset: file 'missing.csv' not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    db = tmp_path / "mlruns" / "mlflow.db"  # the store is set up before the data loads
    if db.exists():
        from mlflow.tracking import MlflowClient

        client = MlflowClient(f"sqlite:///{db}")
        experiments = [e.experiment_id for e in client.search_experiments()]
        assert not client.search_runs(experiments), "no run for a run that never started"
