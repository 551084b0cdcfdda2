"""MLflow "models from code" file of nnexp's pyfunc models: serve an ``MLP`` from its ``.npz``.

``log_servable_model`` logs this file (not a pickle) as the model's code, and beside it, under the
model's ``code/``, the network's own inference code: a copy of ``nnexp.nn`` as the package
:data:`CODE_PACKAGE` (``nnexp.nn`` needs numpy only). MLflow puts ``code/`` on ``sys.path`` before
it runs this file, so a logged model loads and predicts with mlflow and numpy alone, where nnexp is
not installed. This file therefore must not import ``nnexp``.

``predict`` takes anything tabular (numpy arrays of any float or int dtype, pandas DataFrames,
lists of rows, JSON sent to ``mlflow models serve``), casts it to the network's dtype and returns
``MLP.predict`` (class labels, or values for regression). A model of a user's table (its
``columns_``) takes raw rows instead, a DataFrame with its columns by name (any order, extra
columns ignored, nulls and unseen categories allowed), encoded by the model's own numpy code.
"""

from typing import Any

import mlflow.models
import mlflow.pyfunc
import numpy as np

#: Key of the weights file (``.npz``) in the model's artifacts.
WEIGHTS_KEY = "weights"
#: Name under which ``nnexp.nn`` ships in the model's ``code/`` folder.
CODE_PACKAGE = "nnexp_mlp"


def as_matrix(model_input: Any, dtype: Any) -> np.ndarray:
    """Rows of features as a C-contiguous 2-D array of ``dtype`` (one row for a flat vector)."""
    if hasattr(model_input, "to_numpy"):  # pandas DataFrame / Series
        model_input = model_input.to_numpy()
    X = np.ascontiguousarray(model_input, dtype=dtype)
    return X.reshape(1, -1) if X.ndim == 1 else X


class MLPModel(mlflow.pyfunc.PythonModel):
    """The network loaded with its own ``MLP.load``; ``predict`` = ``MLP.predict`` after a cast."""

    def load_context(self, context: Any) -> None:  # noqa: D102 - MLflow hook
        import importlib

        mlp = importlib.import_module(CODE_PACKAGE).MLP
        self.model = mlp.load(context.artifacts[WEIGHTS_KEY])
        self.dtype = np.dtype(getattr(self.model, "dtype", "float32"))

    def predict(self, context: Any, model_input: np.ndarray, params: Any = None) -> np.ndarray:  # noqa: D102
        if getattr(self.model, "columns_", None) is not None and hasattr(model_input, "columns"):
            return self.model.predict(model_input)
        return self.model.predict(as_matrix(model_input, self.dtype))


mlflow.models.set_model(MLPModel())
