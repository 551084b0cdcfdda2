"""``nnexp.report`` / ``nnexp.report_test``: inside a trial they feed the pruner and the trial's
run; outside a sweep they log to the app's active MLflow run, or do nothing."""

from __future__ import annotations

import math

import optuna
import pytest

import nnexp
from nnexp.search.session import TrialSession, active, current


def test_outside_a_sweep_without_an_active_run_report_does_nothing(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert current() is None and mlflow.active_run() is None
    nnexp.report(1, val_loss=0.5)
    nnexp.report_test(test_accuracy=0.9)
    assert mlflow.active_run() is None  # no run started on the app's behalf
    assert list(tmp_path.iterdir()) == []  # and no store created


def test_outside_a_sweep_report_logs_to_the_apps_active_run(sqlite_uri):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(sqlite_uri)
    try:
        experiment = mlflow.create_experiment("app")  # not whatever an earlier test made active
        with mlflow.start_run(experiment_id=experiment) as run:
            nnexp.report(1, val_loss=0.5, val_accuracy=0.8)
            nnexp.report(2, val_loss=0.4, val_accuracy=math.inf)  # not finite: left out
            nnexp.report_test(test_accuracy=0.75)
    finally:
        mlflow.set_tracking_uri(None)
    client = MlflowClient(sqlite_uri)
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_loss")] == [
        (1, 0.5),
        (2, 0.4),
    ]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")] == [1]
    assert client.get_run(run.info.run_id).data.metrics["test_accuracy"] == 0.75


class FakeTrial:
    """What a session calls on an Optuna trial; prunes from ``prune_at`` on."""

    def __init__(self, prune_at: int | None = None) -> None:
        self.reported: list[tuple[float, int]] = []
        self.prune_at = prune_at
        self.attrs: dict[str, float] = {}

    def report(self, value: float, step: int) -> None:
        self.reported.append((value, step))

    def should_prune(self) -> bool:
        return self.prune_at is not None and self.reported[-1][1] >= self.prune_at

    def set_user_attr(self, key: str, value: float) -> None:
        self.attrs[key] = value


def test_in_a_trial_the_metric_reaches_the_pruner_and_pruning_raises():
    trial = FakeTrial(prune_at=2)
    logged: list[tuple[dict, int | None]] = []
    session = TrialSession(trial, "val_loss", log_step=lambda m, s: logged.append((dict(m), s)))
    with active(session), pytest.raises(optuna.TrialPruned):
        nnexp.report(1, val_loss=0.9, val_accuracy=0.5)
        nnexp.report(2, val_loss=0.8, val_accuracy=0.6)
        nnexp.report(3, val_loss=0.7)  # not reached
    assert current() is None
    assert trial.reported == [(0.9, 1), (0.8, 2)]
    assert session.pruned_at == 2 and session.steps == [1, 2]
    assert session.history == {"val_loss": [0.9, 0.8], "val_accuracy": [0.5, 0.6]}
    assert [s for _, s in logged] == [1, 2]


def test_multi_objective_trials_log_but_never_report_to_the_pruner():
    trial = FakeTrial(prune_at=1)
    session = TrialSession(trial, "value", prune=False, log_step=lambda m, s: None)
    with active(session):
        nnexp.report(1, value=1.0)
        nnexp.report_test(test_accuracy=0.9)
    assert trial.reported == [] and session.history == {"value": [1.0]}
    assert session.test_metrics == {"test_accuracy": 0.9}
