"""Scores of predictions against targets, shared by the network's and the baseline's metrics.

Pure functions over arrays (scikit-learn's definitions), so a network and its baseline are scored
the same way and their metric names line up (``test_r2`` beside ``baseline_test_r2``).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``accuracy`` of predicted class codes."""
    return {"accuracy": float(accuracy_score(np.asarray(y_true), np.asarray(y_pred)))}


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``r2``, ``rmse``, ``mae`` and ``mse`` (the training loss), in the target's units.

    R² is NaN when the targets are constant (undefined), rather than scikit-learn's 0/1 convention;
    every score is NaN when a prediction is not finite (a diverged network).
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(len(y_true), -1)
    if not np.all(np.isfinite(yp)):
        return dict.fromkeys(("r2", "rmse", "mae", "mse"), float("nan"))
    mse = float(mean_squared_error(yt, yp))
    r2 = float(r2_score(yt, yp)) if float(np.var(yt)) > 0 else float("nan")
    return {"r2": r2, "rmse": float(np.sqrt(mse)), "mae": float(mean_absolute_error(yt, yp)), "mse": mse}


def scores(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The task's scores (see :func:`classification_scores`, :func:`regression_scores`)."""
    if task == "classification":
        return classification_scores(y_true, y_pred)
    return regression_scores(y_true, y_pred)
