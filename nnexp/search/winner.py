"""The winner's test score: the selected trial's test-split metrics, reported once.

The best trial is chosen on the validation metric alone (:func:`nnexp.search.results.best_trial`
reads trial values, which are the objective on the validation split); the test split only
scores the winner afterwards. Every trial's run computes its test metrics with the weights it
keeps (``TrainResult.test_metrics``, the ``test_metrics`` user attr), so the winner's score is
read back, not computed again; the sweep reports no other trial's.
"""

from __future__ import annotations

from typing import Any

from optuna.trial import FrozenTrial

from nnexp.contract import TEST_METRICS_ATTR

#: The headline test metrics per task, in the order they are printed.
HEADLINE = {
    "classification": ("test_accuracy", "test_loss"),
    "regression": ("test_r2", "test_rmse"),
}


def winner_test_metrics(best: FrozenTrial | None) -> dict[str, float]:
    """The headline test metrics of the selected trial (classification: accuracy and loss;
    regression: R² and RMSE); empty when it has none (no test split, old study)."""
    if best is None:
        return {}
    recorded: dict[str, Any] = best.user_attrs.get(TEST_METRICS_ATTR) or {}
    task = "classification" if "test_accuracy" in recorded else "regression"
    return {k: float(recorded[k]) for k in HEADLINE[task] if k in recorded}


def parent_metrics(test: dict[str, float]) -> dict[str, float]:
    """The parent run's metrics: ``best_test_accuracy``, ``best_test_loss``, ..."""
    return {f"best_{k}": v for k, v in test.items()}


def score_line(number: int | None, test: dict[str, float], versus: str = "") -> str | None:
    """``[sweep] test score of trial 7 (selected on validation only): test_accuracy=0.9694 ...``,
    then ``; vs baseline: <versus>`` (the trial's scores beside its linear baseline's) if given."""
    if number is None or not test:
        return None
    scores = " ".join(f"{k}={v:.4f}" for k, v in test.items())
    line = f"[sweep] test score of trial {number} (selected on validation only): {scores}"
    return f"{line}; vs baseline: {versus}" if versus else line
