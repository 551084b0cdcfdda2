"""End to end through the real commands: sweep -> nnexp best/reproduce/register -> served model.

One tiny digits sweep (4 trials, 4 epochs; built so that 2 trials complete and 2 are pruned)
in a temporary launch directory serves every test of the module.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import helpers
import numpy as np
import pytest
from helpers import BIN, MLFLOW, NNEXP, cli_env, free_port, serve

from nnexp.contract import (
    REPRODUCED_BY_TAG,
    REPRODUCTION_TAG,
    ROLE_TAG,
    RUN_ID_ATTR,
    TRIAL_TAG,
)

pytestmark = pytest.mark.slow

SWEEP = [
    "hparams_search=digits",
    "trainer.epochs=4",
    "model.depth=1",
    "model.width=32",
    "trainer.batch_size=64",
    "model.dropout=0.2",
    "model.l2=0.0001",
    "optimizer=sgd",
    "optimizer.lr=choice(0.05,0.000001)",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.pruner.n_startup_trials=1",
    "hydra.sweeper.pruner.n_warmup_steps=0",
]


def run(cwd: Path, cmd: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """The command ``cmd`` of the venv's bin (``nnexp``, ``nnexp-train``) in ``cwd``."""
    return helpers.run(str(BIN / cmd), *args, cwd=cwd, timeout=timeout)


def nnexp(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run(cwd, "nnexp", *args)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The launch directory of a finished 4-trial sweep, its study and MLflow client."""
    cwd = tmp_path_factory.mktemp("sweep")
    ok(run(cwd, "nnexp-train", "-m", *SWEEP))
    import optuna
    from mlflow.tracking import MlflowClient

    from nnexp.repro.studies import open_existing, storage_url

    study = optuna.load_study(study_name="digits", storage=open_existing(storage_url(None, cwd)))
    states = sorted(t.state.name for t in study.trials)
    assert states == ["COMPLETE", "COMPLETE", "PRUNED", "PRUNED"], states
    uri = f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}"
    return {"cwd": cwd, "study": study, "uri": uri, "client": MlflowClient(uri)}


@pytest.fixture(scope="module")
def reproduced(swept):
    """``nnexp reproduce --study digits --register digits-mlp`` on the sweep."""
    proc = nnexp(
        swept["cwd"],
        "reproduce",
        "--study",
        "digits",
        "--register",
        "digits-mlp",
        "--quiet",
        "--out-dir",
        "repro",
    )
    out = ok(proc)
    run_id = re.search(r"reproduction run: ([0-9a-f]{32})", out).group(1)
    return {"out": out, "run_id": run_id}


def test_reproduce_gives_the_identical_metric_and_weights(swept, reproduced):
    best = swept["study"].best_trial
    cl = swept["client"]
    original = cl.get_run(best.user_attrs[RUN_ID_ATTR])
    new = cl.get_run(reproduced["run_id"])
    out = reproduced["out"]
    assert "verdict: identical" in out and "environment: matches" in out
    assert f"val_accuracy: original {best.value!r}, reproduced {best.value!r}" in out
    assert new.data.metrics["best_val_accuracy"] == best.value
    assert new.data.tags["nnexp.weights_sha256"] == original.data.tags["nnexp.weights_sha256"]
    from nnexp.nn import MLP

    weights = MLP.load(swept["cwd"] / "repro" / "model.npz").weights_checksum()
    assert weights == original.data.tags["nnexp.weights_sha256"]
    assert MLP.load(best.user_attrs["model_path"]).weights_checksum() == weights


def test_the_reproduction_is_linked_in_mlflow(swept, reproduced):
    best = swept["study"].best_trial
    original_id = best.user_attrs[RUN_ID_ATTR]
    cl = swept["client"]
    new = cl.get_run(reproduced["run_id"])
    tags = new.data.tags
    assert tags[REPRODUCTION_TAG] == original_id
    assert tags[ROLE_TAG] == "reproduction" and tags[TRIAL_TAG] == str(best.number)
    assert tags["nnexp.reproduction.verdict"] == "identical"
    assert f"#/experiments/{new.info.experiment_id}/runs/{original_id}" in tags["mlflow.note.content"]
    assert cl.get_run(original_id).data.tags[REPRODUCED_BY_TAG] == reproduced["run_id"]
    found = cl.search_runs([new.info.experiment_id], f"tags.`nnexp.reproduction_of` = '{original_id}'")
    assert [r.info.run_id for r in found] == [reproduced["run_id"]]
    for key in ("env.blas_threads", "env.pkg.numpy", "dataset.files", "git.commit"):
        assert tags.get(key) == cl.get_run(original_id).data.tags.get(key), key


def test_the_registered_model_is_served_with_the_networks_predictions(swept, reproduced, tmp_path):
    from mlflow.tracking import MlflowClient

    from nnexp.data import load_dataset
    from nnexp.nn import MLP

    version = MlflowClient(swept["uri"], registry_uri=swept["uri"]).get_model_version("digits-mlp", "1")
    assert version.run_id == reproduced["run_id"]
    assert version.tags[REPRODUCTION_TAG] == swept["study"].best_trial.user_attrs[RUN_ID_ATTR]
    assert "models:/digits-mlp/1" in reproduced["out"]

    X = load_dataset("digits", seed=0).X_test[:50]
    expected = MLP.load(swept["cwd"] / "repro" / "model.npz").predict(X)
    port = free_port()
    with serve(
        [
            MLFLOW,
            "models",
            "serve",
            "-m",
            "models:/digits-mlp/1",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        f"http://127.0.0.1:{port}/ping",
        swept["cwd"],
        tmp_path / "serve.log",
        env=cli_env(MLFLOW_TRACKING_URI=swept["uri"]),
    ):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": X.tolist()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            predictions = json.loads(resp.read())["predictions"]
    np.testing.assert_array_equal(np.asarray(predictions), expected)


def test_best_config_reruns_through_nnexp_train_to_the_same_metric(swept):
    best = swept["study"].best_trial
    out = ok(nnexp(swept["cwd"], "best", "--study", "digits"))
    assert f"best trial: {best.number}" in out and best.user_attrs["mlflow_run_id"] in out
    command = re.search(r"re-run it: (nnexp-train .*)", out).group(1).split()
    rerun = ok(run(swept["cwd"], *command))
    run_id = re.search(r"MLflow run: ([0-9a-f]{32})", rerun).group(1)
    cl = swept["client"]
    new, original = cl.get_run(run_id), cl.get_run(best.user_attrs[RUN_ID_ATTR])
    assert new.data.metrics["best_val_accuracy"] == best.value
    assert new.data.tags["nnexp.weights_sha256"] == original.data.tags["nnexp.weights_sha256"]


def test_refusals_unknown_study_out_of_range_and_pruned_trial(swept):
    cwd, study = swept["cwd"], swept["study"]
    proc = nnexp(cwd, "reproduce", "--study", "mnist")
    assert proc.returncode == 2
    assert "study 'mnist' does not exist" in proc.stderr and "'digits' (4 trials)" in proc.stderr
    proc = nnexp(cwd, "reproduce", "--study", "digits", "--trial", "7")
    assert proc.returncode == 2 and "its trials are 0..3" in proc.stderr
    pruned = next(t for t in study.trials if t.state.name == "PRUNED")
    proc = nnexp(cwd, "reproduce", "--study", "digits", "--trial", str(pruned.number))
    assert proc.returncode == 2
    assert f"trial {pruned.number} of study 'digits' was PRUNED at epoch" in proc.stderr
    assert f"best finished trial is {study.best_trial.number}" in proc.stderr
    table = ok(nnexp(cwd, "studies"))
    assert re.search(r"^digits\s+maximize\s+4\s+2\s+2\s+0\s+0\s+0\s", table, re.M), table


def test_ui_serves_the_tracking_home(swept, tmp_path):
    port = free_port()
    log = tmp_path / "ui.log"
    with serve([NNEXP, "ui", "--port", str(port)], f"http://127.0.0.1:{port}/health", swept["cwd"], log):
        api = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name=nnexp"
        with urllib.request.urlopen(api, timeout=10) as resp:
            assert json.loads(resp.read())["experiment"]["name"] == "nnexp"
    assert f"open: http://127.0.0.1:{port}" in log.read_text()


def test_changed_data_is_refused_unless_forced(tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, random_state=0)
    table = tmp_path / "table.csv"
    lines = ["f0,f1,f2,f3,f4,f5,label"] + [
        ",".join(f"{v:.6f}" for v in row) + f",{t}" for row, t in zip(X, y)
    ]
    table.write_text("\n".join(lines) + "\n")
    out = ok(
        run(
            tmp_path,
            "nnexp-train",
            "data=csv",
            f"data.path={table}",
            "data.target=label",
            "trainer.epochs=3",
            "model.width=16",
            "trainer.threads=1",
            "tracking.log_plots=false",
        )
    )
    run_id = re.search(r"MLflow run: ([0-9a-f]{32})", out).group(1)

    flipped = lines[5][:-1] + str(1 - int(lines[5][-1]))  # one label changes
    table.write_text(table.read_text().replace(lines[5] + "\n", flipped + "\n"))
    proc = nnexp(tmp_path, "reproduce", "--run-id", run_id, "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"the data changed since run {run_id}" in proc.stderr
    assert f"file 'table.csv' (csv:{table})" in proc.stderr and "--force" in proc.stderr

    forced = nnexp(tmp_path, "reproduce", "--run-id", run_id, "--quiet", "--force", "--tolerance", "1")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "data differs: file 'table.csv'" in forced.stdout
    assert "verdict: within tolerance" in forced.stdout
