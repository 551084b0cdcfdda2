"""The servable model: ``MLP`` weights (.npz) logged as an MLflow pyfunc model with their code.

Imports mlflow at import time: import this module lazily (only when a model is logged).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nnexp.tracking.pyfunc_entry import CODE_PACKAGE, WEIGHTS_KEY

#: Name of the logged model (artifact folder ``model/`` under the run for ``runs:/`` URIs).
MODEL_NAME = "model"
#: The package whose copy ships as the model's inference code (numpy-only, see pyfunc_entry).
NN_PACKAGE = Path(__file__).resolve().parents[1] / "nn"
#: Distributions the served model needs (pinned to the versions that logged it).
REQUIREMENTS = ("mlflow", "numpy", "pandas", "cloudpickle")


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """No download progress bars or INFO chatter from MLflow while a model is logged."""
    logger = logging.getLogger("mlflow")
    level, bar = logger.level, os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    logger.setLevel(logging.WARNING)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        yield
    finally:
        logger.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for dist in REQUIREMENTS:
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            pass
    return reqs


def _inputs(model: Any, X_example: Any, n_example: int) -> tuple[Any, Any]:
    """``(input schema, input example)``: a table model's original columns and made-up rows
    from what it learned (its ``columns_``); else no schema (any numeric table) and the first
    rows of ``X_example`` as float64."""
    columns = getattr(model, "columns_", None)
    if columns is None:
        return None, np.ascontiguousarray(np.asarray(X_example)[:n_example], dtype=np.float64)
    import pandas as pd

    from nnexp.tracking.datasets import input_schema

    return input_schema(columns), pd.DataFrame(columns.example(n_example))


def inference_code(dst: Path) -> Path:
    """Copy ``nnexp.nn`` to ``dst/<CODE_PACKAGE>`` (sources only): the model's shipped code."""
    target = Path(dst) / CODE_PACKAGE
    shutil.copytree(NN_PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def log_servable_model(
    run_id: str,
    model_path_or_model: Any,
    X_example: np.ndarray,
    *,
    tracking_uri: str | None = None,
    name: str = MODEL_NAME,
    n_example: int = 5,
) -> str:
    """Log an ``MLP`` (or its ``.npz`` path) to run ``run_id`` as an MLflow pyfunc model.

    The model is the weights, :mod:`~nnexp.tracking.pyfunc_entry` and a copy of ``nnexp.nn``
    (so it loads without nnexp), a signature and an input example: for a model of a user's table
    (``model.columns_``) its original columns by name and type, and made-up rows from what it
    learned, so it takes raw rows (nulls, unseen categories; columns in any order, extras
    ignored); else no input schema (any numeric table) and the first ``n_example`` rows of
    ``X_example``, as float64. ``mlflow.pyfunc.load_model(uri).predict(X)`` returns
    ``MLP.predict(X)``. ``model_path_or_model``: an ``MLP``, a local ``.npz`` path or an artifact
    URI of one (``runs:/<run_id>/weights/model.npz``). Requirements are pinned explicitly (no
    slow inference). The model is a LoggedModel of the run's experiment; its URI
    (``models:/<model_id>``) is returned and set as the run's ``model_uri`` tag.
    """
    import mlflow
    import mlflow.artifacts
    from mlflow.models import Model, ModelSignature, infer_signature

    from nnexp.nn import MLP

    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    # the LoggedModel goes to the fluent "active" experiment: make that the run's experiment
    mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    with _quiet_mlflow(), tempfile.TemporaryDirectory(prefix="nnexp-model-") as tmp:
        if isinstance(model_path_or_model, (str, os.PathLike)):
            weights = Path(model_path_or_model)
            if "://" in str(model_path_or_model) or str(model_path_or_model).startswith("runs:/"):
                weights = Path(mlflow.artifacts.download_artifacts(str(model_path_or_model), dst_path=tmp))
            model = MLP.load(weights)
        else:
            model = model_path_or_model
            weights = Path(tmp) / "model.npz"
            model.save(weights)
        inputs, example = _inputs(model, X_example, n_example)
        outputs = infer_signature(example, np.asarray(model.predict(example))).outputs
        info = Model.log(
            artifact_path=None,
            name=name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),  # models from code
            code_paths=[str(inference_code(Path(tmp) / "code"))],
            artifacts={WEIGHTS_KEY: str(weights)},
            signature=ModelSignature(inputs=inputs, outputs=outputs),
            input_example=example,
            pip_requirements=_requirements(),
        )
    client.set_tag(run_id, "model_uri", info.model_uri)
    return info.model_uri
