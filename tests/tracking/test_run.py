"""``TrackedRun``'s metric writer: per-epoch metrics are stored in order, and a backlog that
queued up while the store was slow goes out as one request, not one per epoch."""

from __future__ import annotations

import threading

from nnexp.tracking.run import _MAX_METRICS_PER_BATCH, TrackedRun
from nnexp.tracking.store import ensure_tracking_store


class GatedClient:
    """A real MLflow client whose first ``log_batch`` waits for ``gate`` (a slow store)."""

    def __init__(self, client) -> None:
        self.client = client
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def log_batch(self, run_id, metrics=(), **kwargs):
        if not self.batches:
            self.entered.set()
            assert self.gate.wait(60), "the test never opened the gate"
        self.batches.append(len(metrics))
        return self.client.log_batch(run_id, metrics=metrics, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_backlog_of_epochs_is_stored_in_few_requests_and_in_order(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "writer", artifact_location=str(tmp_path / "art"))
    run = TrackedRun.start(uri, experiment_id)
    gated = GatedClient(run.client)
    run.client = gated
    run.log_epoch({"epoch": 1, "train_loss": 1.0, "val_loss": 1.0})
    assert gated.entered.wait(60)  # the first request is in flight (and stuck)
    epochs = 300  # 2 metrics each: 600 queued, past one request's limit with the next ones
    for epoch in range(2, epochs + 1):
        run.log_epoch({"epoch": epoch, "train_loss": 1.0 / epoch, "val_loss": 2.0 / epoch})
    gated.gate.set()
    run.end()

    assert gated.batches[0] == 2 and len(gated.batches) <= 3, gated.batches
    assert all(n <= _MAX_METRICS_PER_BATCH for n in gated.batches)
    history = MlflowClient(uri).get_metric_history(run.run_id, "val_loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, epochs + 1))
    assert {m.step: m.value for m in history}[epochs] == 2.0 / epochs
    assert MlflowClient(uri).get_run(run.run_id).info.status == "FINISHED"


def test_an_error_of_the_store_reaches_the_run_at_its_end(tmp_path):
    import pytest

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_tracking_store(uri, "writer", artifact_location=str(tmp_path / "art"))
    run = TrackedRun.start(uri, experiment_id)

    class Broken(GatedClient):
        def log_batch(self, run_id, metrics=(), **kwargs):
            raise RuntimeError("store gone")

    run.client = Broken(run.client)
    run.log_epoch({"epoch": 1, "val_loss": 1.0})
    with pytest.raises(RuntimeError, match="store gone"):
        run.flush()
