"""A run's splits are MLflow dataset inputs: names, the nnexp checksum as digest, contexts."""

from __future__ import annotations

import json

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
