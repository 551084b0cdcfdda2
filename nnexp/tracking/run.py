"""One MLflow run's lifecycle: create, log in batches, and always terminate (never left RUNNING)."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnexp.tracking.masking import mask_secrets

#: MLflow's per-request batch limits.
_MAX_PARAMS_PER_BATCH = 100
_MAX_TAGS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000

#: Per-epoch record keys logged as metrics (in this order), each with ``step=epoch``.
EPOCH_METRICS = ("train_loss", "val_loss", "val_accuracy", "lr", "epoch_seconds", "l2_penalty")


def _lost_insert_race(exc: BaseException) -> bool:
    """Whether ``exc`` says a row another process inserted at the same moment already exists."""
    text = str(exc).lower()
    return "unique constraint" in text or "duplicate key" in text


class TrackedRun:
    """A thin wrapper over :class:`mlflow.tracking.MlflowClient` bound to one run id.

    Every logging method masks secrets and batches requests; :meth:`end` is idempotent.
    """

    def __init__(self, client: Any, run_id: str, experiment_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.status: str | None = None
        self._writer: _MetricWriter | None = None

    @classmethod
    def start(
        cls,
        uri: str,
        experiment_id: str,
        *,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> TrackedRun:
        """Create a RUNNING run (a nested child when ``parent_run_id`` is given)."""
        from mlflow.tracking import MlflowClient

        from nnexp.tracking.liveness import process_tags

        client = MlflowClient(tracking_uri=uri)
        # who owns it (a killed owner's run is marked KILLED): this process, unless the caller
        # names another in ``tags``
        all_tags = {**process_tags(), **{str(k): mask_secrets(str(v)) for k, v in (tags or {}).items()}}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, tags=all_tags, run_name=run_name)
        return cls(client, run.info.run_id, experiment_id)

    def log_batch(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | None] | None = None,
        step: int = 0,
    ) -> None:
        """Params, tags (values as masked text) and metrics at ``step`` together, in as few
        requests as MLflow's per-request limits allow: one for a run's config or its outcome
        (each request is an SQLite commit of a few milliseconds, paid by every trial)."""
        from mlflow.entities import Metric, Param, RunTag

        ps = [Param(str(k), mask_secrets(str(v))) for k, v in (params or {}).items()]
        ts = [RunTag(str(k), mask_secrets(str(v))) for k, v in (tags or {}).items()]
        now = int(time.time() * 1000)
        ms = [Metric(str(k), float(v), now, int(step)) for k, v in (metrics or {}).items() if v is not None]
        while ps or ts or ms:
            p, ps = ps[:_MAX_PARAMS_PER_BATCH], ps[_MAX_PARAMS_PER_BATCH:]
            t, ts = ts[:_MAX_TAGS_PER_BATCH], ts[_MAX_TAGS_PER_BATCH:]
            room = _MAX_METRICS_PER_BATCH - len(p) - len(t)  # MLflow: 1000 entries a request
            m, ms = ms[:room], ms[room:]
            self.client.log_batch(self.run_id, params=p, tags=t, metrics=m)

    def log_params(self, params: Mapping[str, str]) -> None:
        """Log params in batches of MLflow's per-request maximum."""
        self.log_batch(params=params)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags in batches (values as masked text)."""
        self.log_batch(tags=tags)

    def log_inputs(self, datasets: Sequence[Any], *, attempts: int = 4) -> None:
        """Log ``mlflow.entities.DatasetInput`` s (the runs table's Dataset column).

        Runs that start together (a sweep's workers) log the same dataset at once; MLflow's SQL
        store checks whether a dataset exists and then inserts it, so all but one insert can hit
        the unique constraint. That is retried (the row then exists); other errors are not.
        """
        if not datasets:
            return
        for attempt in range(1, attempts + 1):
            try:
                self.client.log_inputs(self.run_id, datasets=list(datasets))
                return
            except Exception as exc:
                if attempt == attempts or not _lost_insert_race(exc):
                    raise
                time.sleep(0.1 * attempt)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, *, synchronous: bool = True) -> None:
        """Log several metrics at one step in one ``log_batch`` request.

        ``synchronous=False`` queues them on this run's writer thread, which stores them in
        order and merges what queued up meanwhile into one request (an SQLite commit costs
        milliseconds: a backlog of 100 epochs is one request, not 100); :meth:`flush` (called by
        :meth:`end`) waits for all of them.
        """
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, int(step)) for k, v in metrics.items() if v is not None]
        if not items:
            return
        if synchronous:
            self.client.log_batch(self.run_id, metrics=items)
        else:
            if self._writer is None:
                self._writer = _MetricWriter(self.client, self.run_id)
            self._writer.submit(items)

    def log_epoch(self, record: Mapping[str, float], *, synchronous: bool = False) -> None:
        """Log one epoch's record (``EPOCH_METRICS`` present in it) with ``step=epoch``:
        one batched request, queued asynchronously by default so training does not wait."""
        self.log_metrics(
            {k: record[k] for k in EPOCH_METRICS if k in record},
            step=int(record["epoch"]),
            synchronous=synchronous,
        )

    def flush(self) -> None:
        """Wait until every queued request is stored (re-raising the first error)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Upload every file under ``local_dir`` in one call."""
        self.client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        """Terminate the run with ``FINISHED``, ``FAILED`` or ``KILLED`` (first call wins)."""
        if self.status is None:
            try:
                self.flush()
            finally:
                self.client.set_terminated(self.run_id, status=status)
                self.status = status

    def fail_safely(self, status: str) -> None:
        """Terminate after an error without raising (the original error matters more)."""
        try:
            self.end(status)
        except Exception:  # noqa: BLE001 - the backend may be the thing that failed
            pass


class _MetricWriter:
    """One daemon thread storing queued metrics in order, so training never waits on the store.

    What queued up while a request was in flight goes out as one request (at most
    :data:`_MAX_METRICS_PER_BATCH` metrics), so a slow store costs a run few commits, not one
    per epoch. MLflow's own async logging is not used: its queue polls with a 1 s timeout,
    which would add up to a second to every run's end.
    """

    def __init__(self, client: Any, run_id: str) -> None:
        self._client = client
        self._run_id = run_id
        self._queue: queue.Queue[list[Any] | None] = queue.Queue()
        self._pending: list[Any] | None = None  # taken from the queue, for the next request
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="nnexp-tracking", daemon=True)
        self._thread.start()

    def _take(self) -> tuple[list[Any], bool]:
        """The next request's metrics (blocking for the first), and whether to stop after it."""
        if self._pending is not None:
            first, self._pending = self._pending, None
        else:
            first = self._queue.get()
        if first is None:
            return [], True
        batch = list(first)
        while True:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if more is None:
                return batch, True
            if len(batch) + len(more) > _MAX_METRICS_PER_BATCH:
                self._pending = more
                return batch, False
            batch.extend(more)

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take()
            if batch and self._error is None:
                try:
                    self._client.log_batch(self._run_id, metrics=batch)
                except BaseException as exc:  # noqa: BLE001 - re-raised by close()
                    self._error = exc

    def submit(self, metrics: list[Any]) -> None:
        """Queue ``metrics``; raise an earlier request's error right away."""
        if self._error is not None:
            raise self._error
        self._queue.put(metrics)

    def close(self) -> None:
        """Store everything queued, stop the thread, raise the first error (if any)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
