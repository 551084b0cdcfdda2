"""What every run records for reproduction: environment, BLAS threads in effect, data files, weights."""

from __future__ import annotations

import json

import numpy as np
from threadpoolctl import threadpool_limits

from nnexp.tracking.provenance import (
    DATA_FILES_TAG,
    PACKAGES,
    WEIGHTS_TAG,
    dataset_tags,
    environment_tags,
    weights_tags,
)


def test_environment_tags_name_packages_blas_and_cpu():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    tags = environment_tags()
    for dist in PACKAGES:
        assert f"env.pkg.{dist}" in tags
    assert tags["env.pkg.numpy"] == np.__version__
    assert tags["env.python"] and tags["env.cpu"] and tags["env.blas"] != "none"


def test_blas_threads_are_the_ones_in_effect():
    with threadpool_limits(limits=1, user_api="blas"):
        assert environment_tags()["env.blas_threads"] == "1"


def test_dataset_and_weights_tags():
    tags = dataset_tags({"files": {"b.csv": "2", "a.csv": "1"}, "source": "csv:/x"})
    assert json.loads(tags[DATA_FILES_TAG]) == {"a.csv": "1", "b.csv": "2"}

    class Model:
        def weights_checksum(self) -> str:
            return "abc"

    assert weights_tags(Model()) == {WEIGHTS_TAG: "abc"}
    assert weights_tags(object()) == {}


def test_a_tracked_run_records_provenance_and_weight_checksum(compose_cfg, sqlite_uri, tmp_path):
    from mlflow.tracking import MlflowClient

    from nnexp.nn import MLP
    from nnexp.train.trainer import run_training

    cfg = compose_cfg(
        "trainer.epochs=2",
        "model.width=16",
        "trainer.threads=1",
        "trainer.progress=false",
        "tracking.log_plots=false",
        f"tracking.uri={sqlite_uri}",
        f"trainer.save_dir={tmp_path}",
    )
    result = run_training(cfg)
    tags = MlflowClient(sqlite_uri).get_run(result.run_id).data.tags
    assert (
        tags[WEIGHTS_TAG] == result.model.weights_checksum() == MLP.load(result.model_path).weights_checksum()
    )
    assert tags["env.blas_threads"] == "1"
    assert "digits.csv" in json.loads(tags[DATA_FILES_TAG])
    assert tags["seed"] == "0" and tags["env.pkg.numpy"] == np.__version__
