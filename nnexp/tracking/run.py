"""One MLflow run's lifecycle: create, log in batches, and always terminate (never left RUNNING)."""

from __future__ import annotations

import math
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from nnexp.tracking.masking import mask_secrets

#: MLflow's per-request batch limits.
_MAX_PARAMS_PER_BATCH = 100
_MAX_TAGS_PER_BATCH = 100

#: Default longest wait (seconds) for a background run start or the queued requests to finish.
SETUP_TIMEOUT_S = 120.0

#: Per-epoch record keys logged as metrics (in this order), each with ``step=epoch``.
EPOCH_METRICS = ("train_loss", "val_loss", "val_accuracy", "lr", "epoch_seconds", "l2_penalty")


class TrackedRun:
    """A thin wrapper over :class:`mlflow.tracking.MlflowClient` bound to one run id.

    Every logging method masks secrets and batches requests; :meth:`end` is idempotent.
    The run can be created synchronously (:meth:`start`) or on the writer thread
    (:meth:`start_in_background`, so a fresh process imports MLflow while it trains); requests
    queued meanwhile wait for it, and :meth:`end` waits for it before terminating the run.
    """

    def __init__(
        self,
        client: Any = None,
        run_id: Optional[str] = None,
        experiment_id: Optional[str] = None,
        *,
        timeout: float = SETUP_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.status: Optional[str] = None
        #: Longest wait for a background start (:meth:`wait_ready`) or the queued requests (:meth:`flush`).
        self.timeout = timeout
        self._writer: Optional[_BackgroundWriter] = None
        self._ready = threading.Event()  # set once the run exists (or its creation failed)
        self._setup_error: Optional[BaseException] = None
        self._abandoned = False
        if run_id is not None:
            self._ready.set()

    @classmethod
    def start(
        cls,
        uri: str,
        experiment_id: str,
        *,
        run_name: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
        parent_run_id: Optional[str] = None,
    ) -> "TrackedRun":
        """Create a RUNNING run (a nested child when ``parent_run_id`` is given)."""
        run = cls()
        run._create(uri, experiment_id, run_name=run_name, tags=tags, parent_run_id=parent_run_id)
        return run

    def start_in_background(
        self,
        uri: str,
        experiment_id: Callable[[], str],
        *,
        run_name: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
        parent_run_id: Optional[str] = None,
    ) -> None:
        """Queue the run's creation on this run's writer thread and return at once.

        ``experiment_id()`` (e.g. creating the store) runs there first. Requests queued later
        run after it, in order; :meth:`wait_ready` waits for the run to exist.
        """

        def create() -> None:
            try:
                self._create(uri, experiment_id(), run_name=run_name, tags=tags, parent_run_id=parent_run_id)
            except BaseException as exc:  # noqa: BLE001 - re-raised by wait_ready / flush
                self._setup_error = exc
                raise
            finally:
                self._ready.set()

        self.submit(create)

    def _create(
        self,
        uri: str,
        experiment_id: str,
        *,
        run_name: Optional[str],
        tags: Optional[Mapping[str, Any]],
        parent_run_id: Optional[str],
    ) -> None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        all_tags = {str(k): mask_secrets(str(v)) for k, v in (tags or {}).items()}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, tags=all_tags, run_name=run_name)
        self.client, self.run_id, self.experiment_id = client, run.info.run_id, experiment_id
        if self._abandoned:  # the caller gave up waiting: never leave it RUNNING
            client.set_terminated(self.run_id, status="FAILED")
            self.status = "FAILED"

    @property
    def ready(self) -> bool:
        """True once the run exists (created synchronously or by the background start)."""
        return self.run_id is not None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)`` on this run's writer thread (started on first use);
        raise an earlier queued call's error right away."""
        if self._writer is None:
            self._writer = _BackgroundWriter()
        self._writer.submit(fn, *args, **kwargs)

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Wait until the run exists; raise its creation error, or :class:`TrackingUnavailable`
        after ``timeout`` (default :attr:`timeout`) seconds (the run is then ended FAILED as
        soon as it appears)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            writer = self._writer
            if writer is not None and writer.error is not None:  # a request queued before it failed
                raise writer.error
            if time.monotonic() > deadline:
                self._abandoned = True
                raise _setup_timeout(timeout)
        if self._setup_error is not None:
            raise self._setup_error
        if self.run_id is None:  # pragma: no cover - _ready is only set by create()
            raise RuntimeError("the MLflow run was not created")

    def discard(self) -> None:
        """Stop the writer thread without waiting (nothing queued needs to finish: no run yet)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            self._abandoned = True
            writer.stop()

    @property
    def run_name(self) -> str:
        """The run's (possibly generated) name."""
        return self.client.get_run(self.run_id).info.run_name

    def log_params(self, params: Mapping[str, str]) -> None:
        """Log params in batches of MLflow's per-request maximum."""
        from mlflow.entities import Param

        items = [Param(k, mask_secrets(str(v))) for k, v in params.items()]
        for i in range(0, len(items), _MAX_PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + _MAX_PARAMS_PER_BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags in batches (values as masked text)."""
        from mlflow.entities import RunTag

        items = [RunTag(str(k), mask_secrets(str(v))) for k, v in tags.items()]
        for i in range(0, len(items), _MAX_TAGS_PER_BATCH):
            self.client.log_batch(self.run_id, tags=items[i : i + _MAX_TAGS_PER_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, *, synchronous: bool = True) -> None:
        """Log several metrics at one step in one ``log_batch`` request.

        ``synchronous=False`` queues the request on this run's writer thread (requests stay one
        per call and in order); :meth:`flush` (called by :meth:`end`) waits for all of them.
        """
        ts = int(time.time() * 1000)
        values = [(str(k), float(v)) for k, v in metrics.items() if v is not None]
        if not values:
            return
        if synchronous:
            self._log_metric_values(values, ts, int(step))
        else:  # entities are built on the writer thread: MLflow may still be importing there
            self.submit(self._log_metric_values, values, ts, int(step))

    def _log_metric_values(self, values: Any, ts: int, step: int) -> None:
        from mlflow.entities import Metric

        self.client.log_batch(self.run_id, metrics=[Metric(k, v, ts, step) for k, v in values])

    def log_epoch(self, record: Mapping[str, float], *, synchronous: bool = False) -> None:
        """Log one epoch's record (``EPOCH_METRICS`` present in it) with ``step=epoch``:
        one batched request, queued asynchronously by default so training does not wait."""
        self.log_metrics(
            {k: record[k] for k in EPOCH_METRICS if k in record},
            step=int(record["epoch"]),
            synchronous=synchronous,
        )

    def flush(self) -> None:
        """Wait (at most :attr:`timeout` s) until every queued request is stored (re-raising
        the first error)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            if not writer.close(self.timeout):
                self._abandoned = True
                raise _setup_timeout(self.timeout)

    def log_artifacts(self, local_dir: str | Path, artifact_path: Optional[str] = None) -> None:
        """Upload every file under ``local_dir`` in one call."""
        self.client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        """Terminate the run with ``FINISHED``, ``FAILED`` or ``KILLED`` (first call wins)."""
        if self.status is None:
            try:
                self.flush()  # also waits for a background start
            finally:
                if self.run_id is not None and self.status is None:
                    self.client.set_terminated(self.run_id, status=status)
                    self.status = status

    def fail_safely(self, status: str) -> None:
        """Terminate after an error without raising (the original error matters more)."""
        try:
            self.end(status)
        except Exception:  # noqa: BLE001 - the backend may be the thing that failed
            pass


class _BackgroundWriter:
    """One daemon thread running queued tracking calls in order, so training never waits on
    the store (SQLite commits cost milliseconds each). MLflow's own async logging is not used:
    its queue polls with a 1 s timeout, which would add up to a second to every run's end."""

    def __init__(self) -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._loop, name="nnexp-tracking", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, kwargs = item
            if self.error is None:
                try:
                    fn(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - re-raised by close()
                    self.error = exc

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; raise an earlier call's error right away."""
        if self.error is not None:
            raise self.error
        self._queue.put((fn, args, kwargs))

    def close(self, timeout: Optional[float] = None) -> bool:
        """Run everything queued, stop the thread, raise the first error (if any); False if
        the thread is still busy after ``timeout`` seconds."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        if self.error is not None:
            raise self.error
        return True

    def stop(self) -> None:
        """Let the thread end after its current call, skipping what is still queued."""
        self.error = self.error or _Discarded()
        self._queue.put(None)


class _Discarded(Exception):
    """Marks a writer whose queued calls are no longer wanted."""


def _setup_timeout(timeout: float) -> BaseException:
    from nnexp.tracking.store import TrackingUnavailable

    return TrackingUnavailable(
        f"the MLflow tracking store did not answer within {timeout:g}s (creating the run or "
        "storing its records); check the store, or run without tracking: tracking.enabled=false"
    )


def preload_mlflow(uri: str) -> None:
    """Import the MLflow modules a run on ``uri`` needs (about 2 s in a fresh process), so a
    writer thread can do it while the data loads; errors surface later, where they are used."""
    try:
        from mlflow.tracking import MlflowClient  # noqa: F401

        if not uri.startswith(("http://", "https://", "file:", "databricks")) and "://" in uri:
            import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (SQLite, PostgreSQL, ...)
    except Exception:  # noqa: BLE001 - the run's creation reports it properly
        pass


def finite_or_none(value: Any) -> Optional[float]:
    """``float(value)`` when it is a finite number, else ``None``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def run_url(uri: str, experiment_id: str, run_id: str) -> Optional[str]:
    """The MLflow UI address of a run on an ``http(s)`` tracking server, else ``None``."""
    if not uri.startswith(("http://", "https://")):
        return None
    return f"{mask_secrets(uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def ui_command(uri: str) -> str:
    """The shell command that opens a local store in the MLflow UI."""
    return f"mlflow ui --backend-store-uri {mask_secrets(uri)}"
