"""A run's data splits as MLflow dataset inputs (the runs table's "Dataset" column).

Each split is one dataset: name ``<dataset>-<split>`` (``digits-train``, ``digits-val``,
``digits-test``), digest = the first :data:`DIGEST_LENGTH` hex digits of the dataset checksum nnexp
computes (``dataset.sha256`` tag; MLflow caps digests at 36 characters), context ``training`` /
``validation`` / ``test``. MLflow stores one dataset per (name, digest) and experiment, shared by
every run that uses it, so its schema and profile hold only what does not depend on the split
(features, dtype, full checksum, source); row counts are in the run's ``dataset.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Split -> MLflow's dataset context (``mlflow.data.context`` input tag).
CONTEXTS: dict[str, str] = {"train": "training", "val": "validation", "test": "test"}
#: Hex digits of the dataset checksum used as the MLflow digest (the data line prints 12 too).
DIGEST_LENGTH = 12
#: Source type of nnexp's datasets (where they come from is in the source JSON).
SOURCE_TYPE = "code"


def split_name(dataset_name: str, split: str) -> str:
    """``digits`` + ``train`` -> ``digits-train``."""
    return f"{dataset_name}-{split}"


def digest(dataset: Any) -> str:
    """The MLflow digest of ``dataset``: a prefix of its identity checksum."""
    return str(dataset.identity.get("sha256", ""))[:DIGEST_LENGTH]


def input_schema(columns: Any) -> Any:
    """MLflow's column schema of a table's original input columns (a ``ColumnTransform``'s):
    numbers as ``double`` (so a gap can be null), categories as ``string`` or ``boolean``. Every
    column is required (a missing one is named); a value may be null."""
    from mlflow.types import ColSpec, Schema

    return Schema([ColSpec(kind, name) for name, kind in columns.columns])


def _schema(dataset: Any, split: str) -> str:
    """MLflow's dataset schema JSON of one split: a table's original columns, else the tensor
    schema (features and targets)."""
    from mlflow.data.schema import TensorDatasetSchema
    from mlflow.types import Schema, TensorSpec

    if getattr(dataset, "columns", None) is not None:
        return json.dumps({"mlflow_colspec": input_schema(dataset.columns).to_dict()})

    X, y = getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}")
    features = Schema([TensorSpec(X.dtype, (-1, *X.shape[1:]))])
    targets = Schema([TensorSpec(y.dtype, (-1, *y.shape[1:]))])
    return json.dumps(TensorDatasetSchema(features=features, targets=targets).to_dict())


def dataset_inputs(dataset: Any) -> list[Any]:
    """The three ``mlflow.entities.DatasetInput`` of a loaded, split nnexp ``Dataset``."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from nnexp.tracking.masking import mask_secrets

    source = json.dumps(
        {"tags": {"nnexp.dataset.source": mask_secrets(str(dataset.identity.get("source", "")))}}
    )
    profile = json.dumps(
        {
            "sha256": dataset.identity.get("sha256", ""),
            "task": dataset.task,
            "n_features": int(dataset.n_features),
            "n_classes": int(dataset.n_classes or 0),
        }
    )
    inputs = []
    for split, context in CONTEXTS.items():
        entity = Dataset(
            name=split_name(dataset.name, split),
            digest=digest(dataset),
            source_type=SOURCE_TYPE,
            source=source,
            schema=_schema(dataset, split),
            profile=profile,
        )
        inputs.append(DatasetInput(entity, tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)]))
    return inputs


@dataclass
class DatasetView:
    """What the recorder reads from a ``Dataset``, without its feature matrices (a pickle of
    MNIST would be 200 MB): zero-row feature arrays keep dtype and shape for the schema."""

    name: str
    task: str
    n_classes: int
    identity: dict[str, Any]
    split: dict[str, Any]
    sizes: dict[str, int]
    class_names: tuple | None
    n_features: int
    columns: Any  #: a table's ``ColumnTransform`` (its input columns, for the model's schema)
    empty: dict[str, np.ndarray]

    @classmethod
    def of(cls, ds: Any) -> DatasetView:
        """The view of a loaded, split dataset."""
        empty = {
            f"{a}_{s}": getattr(ds, f"{a}_{s}")[:0].copy() for a in "Xy" for s in ("train", "val", "test")
        }
        return cls(
            ds.name,
            ds.task,
            int(ds.n_classes or 0),
            dict(ds.identity),
            dict(getattr(ds, "split", {})),
            dict(ds.sizes),
            getattr(ds, "class_names", None),
            int(ds.n_features),
            getattr(ds, "columns", None),
            empty,
        )

    def __getattr__(self, name: str) -> Any:  # X_train, y_val, ... (zero rows)
        empty = self.__dict__.get("empty", {})
        if name in empty:
            return empty[name]
        raise AttributeError(name)
