"""A run's splits are MLflow dataset inputs: names, the nnexp checksum as digest, contexts."""

from __future__ import annotations

import json

import numpy as np

from nnexp.tracking.datasets import CONTEXTS, DIGEST_LENGTH
from nnexp.train.trainer import run_training


def test_a_run_logs_its_three_splits_as_dataset_inputs(compose_cfg, tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = compose_cfg(
        "trainer.epochs=2",
        "model.width=16",
        "trainer.progress=false",
        f"trainer.save_dir={tmp_path}",
        "tracking.log_plots=false",
        "tracking.log_model=false",
        f"tracking.uri={uri}",
    )
    first, second = run_training(cfg), run_training(cfg)
    client = MlflowClient(uri)
    run = client.get_run(first.run_id)
    sha = run.data.tags["dataset.sha256"]
    found = {
        next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset
        for i in run.inputs.dataset_inputs
    }
    assert set(found) == {"training", "validation", "test"} == set(CONTEXTS.values())
    for split, context in CONTEXTS.items():
        ds = found[context]
        assert ds.name == f"digits-{split}"
        assert ds.digest == sha[:DIGEST_LENGTH]
        assert json.loads(ds.profile)["sha256"] == sha
        features = json.loads(ds.schema)["mlflow_tensorspec"]["features"]
        assert '"shape": [-1, 64]' in features
    # the same data in another run: the same three datasets (MLflow keys them by name + digest)
    again = {(i.dataset.name, i.dataset.digest) for i in client.get_run(second.run_id).inputs.dataset_inputs}
    assert again == {(d.name, d.digest) for d in found.values()}


def test_dataset_inputs_logged_by_runs_starting_together_are_retried_not_failed(tmp_path):
    """Two runs logging the same new dataset at once: MLflow's SQL store checks and then
    inserts, so the slower one hits the unique constraint; that is retried, other errors are not.
    Reproduced with a real SQLite store by letting the other run insert between the two steps."""
    import mlflow
    import pytest
    from mlflow.entities import DatasetInput
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from nnexp.tracking.run import TrackedRun

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("race")
    first, second = (client.create_run(exp).info.run_id for _ in range(2))
    ds = mlflow.data.from_numpy(np.zeros((2, 2)), name="digits-train", digest="abc")
    inputs = [DatasetInput(ds._to_mlflow_entity())]

    calls = []

    class RacingClient:
        """The real client; the first call loses the race the way MLflow reports it."""

        def log_inputs(self, run_id, datasets):
            calls.append(run_id)
            if len(calls) == 1:
                client.log_inputs(first, datasets=datasets)  # the other worker got there first
                raise MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.name")
            return client.log_inputs(run_id, datasets=datasets)

    TrackedRun(RacingClient(), second, exp).log_inputs(inputs)
    assert calls == [second, second]
    for run_id in (first, second):
        assert [d.dataset.name for d in client.get_run(run_id).inputs.dataset_inputs] == ["digits-train"]

    class Broken:
        def log_inputs(self, run_id, datasets):
            raise MlflowException("RESOURCE_DOES_NOT_EXIST: no such run")

    with pytest.raises(MlflowException, match="no such run"):
        TrackedRun(Broken(), second, exp).log_inputs(inputs)
