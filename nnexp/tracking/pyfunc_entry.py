"""MLflow "models from code" entry point: the served object of nnexp's pyfunc models.

``log_servable_model`` logs this file (not a pickle) as the model's code; ``mlflow.pyfunc.load_model``
runs it, so loading needs nnexp importable and never unpickles arbitrary objects.
"""

import mlflow.models

from nnexp.tracking.pyfunc import MLPPyfuncModel

mlflow.models.set_model(MLPPyfuncModel())
