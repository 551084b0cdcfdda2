"""The servable model: an MLflow pyfunc wrapper around ``MLP`` weights (.npz).

Imports mlflow at import time: import this module lazily (only when a model is logged).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

import mlflow.pyfunc
import numpy as np

#: Name of the logged model (artifact folder ``model/`` under the run for ``runs:/`` URIs).
MODEL_NAME = "model"
#: Key of the weights file in the pyfunc model's artifacts.
WEIGHTS_KEY = "weights"


def _as_array(model_input: Any) -> np.ndarray:
    if hasattr(model_input, "to_numpy"):  # pandas DataFrame / Series
        model_input = model_input.to_numpy()
    return np.asarray(model_input)


class MLPPyfuncModel(mlflow.pyfunc.PythonModel):
    """Serves an ``nnexp.nn.MLP`` from its ``.npz``: predict -> class labels (or values).

    The ``np.ndarray`` hint tells MLflow not to infer a schema from type hints: the logged
    signature (from the input example) does the input validation.
    """

    def load_context(self, context) -> None:  # noqa: D102 - MLflow hook
        from nnexp.nn import MLP

        self.model = MLP.load(context.artifacts[WEIGHTS_KEY])

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:  # noqa: D102
        return self.model.predict(_as_array(model_input))


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
    for dist in ("mlflow", "numpy", "scikit-learn", "cloudpickle"):
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            pass
    return reqs


def log_servable_model(
    run_id: str,
    model_path_or_model: Any,
    X_example: np.ndarray,
    *,
    tracking_uri: Optional[str] = None,
    name: str = MODEL_NAME,
    n_example: int = 5,
) -> str:
    """Log an ``MLP`` (or its ``.npz`` path) to run ``run_id`` as an MLflow pyfunc model.

    The model carries a signature and an input example (the first ``n_example`` rows of
    ``X_example``); ``mlflow.pyfunc.load_model(uri).predict(X)`` returns ``MLP.predict(X)``.
    ``model_path_or_model``: an ``MLP``, a local ``.npz`` path or an artifact URI of one
    (``runs:/<run_id>/weights/model.npz``). Requirements are pinned explicitly (no slow
    inference). The model is a LoggedModel of the run's experiment; its URI
    (``models:/<model_id>``) is returned and set as the run's ``model_uri`` tag.
    """
    import mlflow
    import mlflow.artifacts
    from mlflow.models import Model, infer_signature

    from nnexp.nn import MLP

    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    # the LoggedModel goes to the fluent "active" experiment: make that the run's experiment
    mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    example = np.ascontiguousarray(np.asarray(X_example)[:n_example])
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
        signature = infer_signature(example, np.asarray(model.predict(example)))
        info = Model.log(
            artifact_path=None,
            name=name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),  # models from code
            artifacts={WEIGHTS_KEY: str(weights)},
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
        )
    client.set_tag(run_id, "model_uri", info.model_uri)
    return info.model_uri
