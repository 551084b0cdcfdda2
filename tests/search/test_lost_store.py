"""A lost MLflow store between two sweeps of one study (``rm mlruns/mlflow.db``), through the
real ``nnexp-train -m``: the second sweep says the study's runs are gone, records a new parent
run, and never prints a run id that is not in the store (issue 13, point 7)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import NNEXP_TRAIN, cli_env

from nnexp.contract import RUN_ID_ATTR, STUDY_PARENT_RUN

pytestmark = pytest.mark.slow

#: seeded, fixed lr that learns, no pruning: the states and the best trial can't vary by luck
FIXED = [
    "hparams_search=digits",
    "model.depth=1",
    "model.width=range(16,65,16)",
    "optimizer=adam",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.pruner=none",
]


def _sweep(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = cli_env(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [NNEXP_TRAIN, "-m", *FIXED, *overrides],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_deleted_mlflow_store_is_noticed_and_no_gone_run_id_is_printed(tmp_path: Path) -> None:
    import optuna
    from mlflow.tracking import MlflowClient

    from nnexp.search.storage import open_storage

    # sweep 1: two trials that learn (4 epochs at lr 0.01)
    _sweep(tmp_path, "hydra.sweeper.n_trials=2", "trainer.epochs=4", "optimizer.lr=0.01")
    study = optuna.load_study(
        study_name="digits", storage=open_storage(f"journal:{tmp_path / 'mlruns/optuna/journal.log'}")
    )
    old_parent = study.user_attrs[STUDY_PARENT_RUN]
    old_runs = {old_parent, *(t.user_attrs[RUN_ID_ATTR] for t in study.trials)}
    (tmp_path / "mlruns" / "mlflow.db").unlink()  # the tracking store is lost

    # sweep 2, same study: one more trial that cannot beat them (1 epoch at lr 1e-4), so the
    # best trial is one whose run went with the store
    again = _sweep(tmp_path, "hydra.sweeper.n_trials=3", "trainer.epochs=1", "optimizer.lr=0.0001")
    out = again.stdout + again.stderr
    assert "the MLflow runs of study 'digits' are gone from the tracking store" in out, out[-3000:]
    assert old_parent in out  # named as the missing parent
    assert "the best trial's run is gone from the tracking store" in out, out[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    printed = set(re.findall(r"(?<![-\w])[0-9a-f]{32}\b", again.stdout)) - {old_parent}
    assert not printed & old_runs, f"printed run ids that are gone: {printed & old_runs}"
    for run_id in printed:
        client.get_run(run_id)  # every run id printed exists (raises otherwise)
    study = optuna.load_study(
        study_name="digits", storage=open_storage(f"journal:{tmp_path / 'mlruns/optuna/journal.log'}")
    )
    new_parent = study.user_attrs[STUDY_PARENT_RUN]
    assert new_parent != old_parent and f"MLflow parent run {new_parent}" in again.stdout
    parent = client.get_run(new_parent)
    assert parent.info.status == "FINISHED"
    assert "best.run_id" not in parent.data.tags  # no tag naming a run that is gone
    assert study.best_trial.number < 2 and study.trials[2].state.name == "COMPLETE"
    client.get_run(study.trials[2].user_attrs[RUN_ID_ATTR])  # the new trial has its run
