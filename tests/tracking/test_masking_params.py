"""Secrets never reach MLflow or the terminal; configs flatten to dotted params."""

from __future__ import annotations

import pytest

from nnexp.tracking.masking import mask_obj, mask_secrets
from nnexp.tracking.params import config_params, flatten


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("postgresql://user:pass@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql+psycopg2://u:p%40ss@db.example:5432/mlflow",
            "postgresql+psycopg2://u:***@db.example:5432/mlflow",
        ),
        ("http://user:s3cret@tracking:5000", "http://user:***@tracking:5000"),
        ("https://token123@tracking.example/", "https://***@tracking.example/"),
        ("mysql://root:a@b@localhost/x", "mysql://root:***@localhost/x"),
        ("s3://bucket/path?X-Amz-Signature=abc&x=1", "s3://bucket/path?X-Amz-Signature=***&x=1"),
        ("http://host/api?token=abc", "http://host/api?token=***"),
        ("sqlite:////tmp/mlruns/mlflow.db", "sqlite:////tmp/mlruns/mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("no url here", "no url here"),
        ("see postgresql://a:b@h/db and http://c:d@e", "see postgresql://a:***@h/db and http://c:***@e"),
    ],
)
def test_mask_secrets(raw, masked):
    assert mask_secrets(raw) == masked


def test_mask_obj_is_recursive():
    obj = {"tracking": {"uri": "http://u:p@h"}, "l": ["postgresql://a:b@c/d", 3], "n": None}
    assert mask_obj(obj) == {
        "tracking": {"uri": "http://u:***@h"},
        "l": ["postgresql://a:***@c/d", 3],
        "n": None,
    }


def test_flatten_dotted_keys():
    cfg = {"model": {"depth": 2, "act": "relu"}, "trainer": {"es": {"patience": 3}}, "tags": {}, "x": [1, 2]}
    assert flatten(cfg) == {
        "model.depth": 2,
        "model.act": "relu",
        "trainer.es.patience": 3,
        "tags": {},
        "x": [1, 2],
    }


def test_config_params_are_text_and_masked():
    params = config_params(
        {
            "model": {"batch_norm": False, "dropout": 0.25, "width": 64},
            "trainer": {"threads": None},
            "tracking": {"uri": "postgresql://bob:hunter2@db/mlflow", "tags": {}},
            "data": {"options": {"b": 1, "a": [1, 2]}},
            "long": "x" * 7000,
        }
    )
    assert params["model.batch_norm"] == "false"
    assert params["model.dropout"] == "0.25"
    assert params["model.width"] == "64"
    assert params["trainer.threads"] == "null"
    assert params["tracking.uri"] == "postgresql://bob:***@db/mlflow"
    assert "hunter2" not in "".join(params.values())
    assert params["tracking.tags"] == "{}"
    assert params["data.options.a"] == "[1, 2]"
    assert len(params["long"]) == 6000
