"""Tracking in a separate process, so a single run does not wait for MLflow.

Importing mlflow (about two seconds with its SQL store), creating the store and the run, drawing
the plots and logging the model cost seconds of CPU; in the training process they would all add
to the run's wall time (a thread gains nothing: imports hold the GIL). :class:`BackgroundRecorder`
starts the tracking process (:mod:`nnexp.tracking.agent_process`) and forwards every recorder
call to it over a pipe; it imports mlflow, creates the store and the run, marks runs of dead
processes KILLED and warms up its plotting and model-logging imports while the parent composes
its config, loads data and trains, then replays the calls in order. Only the end waits.
``nnexp-train`` starts it before Hydra composes (:func:`prestart`); the run adopts it.

Semantics kept from the in-process recorder: the run ends FINISHED, FAILED (an error) or KILLED
(an interrupt, or the training process vanished: the agent sees the pipe close); a tracking error
reaches the training process at its next epoch or at the end as :class:`TrackingUnavailable`. The
agent runs in its own session (a Ctrl-C at the terminal does not reach it) and ignores
SIGINT/SIGTERM, so it can record how the run ended. An unreachable ``http(s)`` server is still
refused before any data is loaded (the caller probes it first, see ``nnexp.train.trainer``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from nnexp.tracking.agent_process import AGENT_THREADS
from nnexp.tracking.store import TrackingUnavailable

#: Seconds the training process waits for the agent to record a failed/killed ending.
FAIL_WAIT_S = 30.0


@dataclass
class DatasetView:
    """What the recorder reads from a ``Dataset``, without its feature matrices (a pickle of
    MNIST would be 200 MB): zero-row feature arrays keep dtype and shape for the schema."""

    name: str
    task: str
    n_classes: int
    identity: dict[str, Any]
    split: dict[str, Any]
    sizes: dict[str, int]
    class_names: tuple | None
    n_features: int
    y_test: np.ndarray
    empty: dict[str, np.ndarray] = field(default_factory=dict)
    columns: Any = None  #: a table's ``ColumnTransform`` (its input columns for the schema)

    @classmethod
    def of(cls, ds: Any) -> DatasetView:
        """The view of a loaded, split dataset."""
        empty = {}
        for split in ("train", "val", "test"):
            empty[f"X_{split}"] = getattr(ds, f"X_{split}")[:0].copy()
            empty[f"y_{split}"] = getattr(ds, f"y_{split}")[:0].copy()
        return cls(
            ds.name,
            ds.task,
            int(ds.n_classes or 0),
            dict(ds.identity),
            dict(getattr(ds, "split", {})),
            dict(ds.sizes),
            getattr(ds, "class_names", None),
            int(ds.n_features),
            ds.y_test,
            empty,
            getattr(ds, "columns", None),
        )

    def __getattr__(self, name: str) -> Any:  # X_train, y_val, ... (zero rows)
        empty = self.__dict__.get("empty", {})
        if name in empty:
            return empty[name]
        raise AttributeError(name)


_Spawned = tuple[subprocess.Popen, Connection, Connection]
#: A tracking process started by :func:`prestart`, not yet adopted by a run.
_prestarted: _Spawned | None = None


def _spawn() -> _Spawned:
    """``python -m nnexp.tracking.agent_process`` with a pipe each way: (process, to it, from it)."""
    to_agent_r, to_agent_w = os.pipe()
    from_agent_r, from_agent_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexp.tracking.agent_process", str(to_agent_r), str(from_agent_w)],
        pass_fds=(to_agent_r, from_agent_w),
        stdin=subprocess.DEVNULL,
        env={**os.environ, **AGENT_THREADS},
        start_new_session=True,  # a Ctrl-C before it ignores SIGINT must not reach it (traceback)
    )
    os.close(to_agent_r)
    os.close(from_agent_w)
    return proc, Connection(to_agent_w, readable=False), Connection(from_agent_r, writable=False)


def _discard(spawned: _Spawned) -> None:
    proc, send, recv = spawned
    if proc.poll() is None:
        proc.kill()  # it ignores SIGTERM; it has created nothing (no start message yet)
    proc.wait()
    send.close()
    recv.close()


def prestart() -> None:
    """Start the tracking process now, before the config is composed: it imports MLflow
    while Hydra composes and data loads; the next :meth:`BackgroundRecorder.launch` adopts it."""
    global _prestarted
    if _prestarted is None:
        _prestarted = _spawn()


def discard_prestarted() -> None:
    """Stop a prestarted tracking process that no run adopted (tracking disabled, bad config)."""
    global _prestarted
    spawned, _prestarted = _prestarted, None
    if spawned is not None:
        _discard(spawned)


class BackgroundRecorder:
    """The training process's side: ``RunRecorder``'s methods, forwarded to the agent."""

    def __init__(self, proc: subprocess.Popen, send: Connection, recv: Connection) -> None:
        self.proc = proc
        self._recv = recv
        self._send = send
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="nnexp-agent-send", daemon=True)
        self._sender.start()
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.model_uri: str | None = None
        self.seconds: dict[str, float] = {}
        self._error: str | None = None
        self._done = False
        self._idle = False
        self._closed = False
        self._announced = False
        self._drawn: Path | None = None  # plots drawn here, removed once the agent is done

    @classmethod
    def launch(cls, start: Mapping[str, Any]) -> BackgroundRecorder:
        """Start the agent (or adopt the one :func:`prestart` started); ``start``: ``uri``,
        ``experiment``, ``artifact_location``, ``timeout``, ``run_name``, ``tags``,
        ``parent_run_id`` (it creates the store and the run with them). The agent takes this
        process's environment as it is now (a prestarted one was spawned before Hydra ran)."""
        global _prestarted
        spawned, _prestarted = _prestarted, None
        if spawned is not None and spawned[0].poll() is not None:  # died meanwhile: start afresh
            _discard(spawned)
            spawned = None
        rec = cls(*(spawned or _spawn()))
        rec._post("start", {**start, "env": dict(os.environ)})
        return rec

    # --- transport ---------------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            msg = self._outbox.get()
            if msg is None:
                return
            try:
                self._send.send(msg)
            except (OSError, EOFError):  # the agent is gone; _wait reports it
                return

    def _post(self, method: str, *args: Any, **kwargs: Any) -> None:
        self._outbox.put((method, args, kwargs))

    def _handle(self, msg: Any) -> None:
        kind, payload = msg
        if kind == "ready":
            self.run_id, self.experiment_id = payload["run_id"], payload["experiment_id"]
        elif kind == "error" and self._error is None:
            self._error = payload
        elif kind == "idle":
            self._idle = True
        elif kind == "done":
            self._done = True
            self.model_uri = payload.get("model_uri")
            self.seconds.update(payload.get("seconds", {}))

    def poll(self) -> None:
        """Take in what the agent said so far (never blocks); raise its error, if any."""
        while not self._done and self._recv.poll(0):
            try:
                self._handle(self._recv.recv())
            except EOFError:
                break
        if self._error is not None:
            raise TrackingUnavailable(self._error)

    def _wait(self, limit: float | None) -> None:
        """Block until the agent has finished (or ``limit`` seconds passed / it died)."""
        deadline = None if limit is None else time.monotonic() + limit
        while not self._done:
            if deadline is not None and time.monotonic() > deadline:
                return
            try:
                if self._recv.poll(0.2):
                    self._handle(self._recv.recv())
                elif self.proc.poll() is not None and not self._recv.poll(0):
                    break
            except EOFError:
                break
        if not self._done and self._error is None:
            self._error = f"the tracking process ended unexpectedly (exit code {self.proc.poll()})"

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._drawn is not None:
            shutil.rmtree(self._drawn, ignore_errors=True)
        self._outbox.put(None)
        self._sender.join(timeout=5)
        for conn in (self._send, self._recv):
            conn.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @contextlib.contextmanager
    def ending_on_error(self) -> Iterator[None]:
        """Inside, an exception ends the agent too (FAILED; KILLED for an interrupt), re-raised."""
        try:
            yield
        except KeyboardInterrupt:
            self.fail_safely("KILLED")
            raise
        except BaseException:
            self.fail_safely("FAILED")
            raise

    def busy(self) -> bool:
        """Whether the agent is still setting up or warming up (it says ``idle`` when done)."""
        self.poll()
        return not (self._idle or self._done)

    # --- RunRecorder's interface ------------------------------------------------------------
    def announce(self) -> str | None:
        """The run id the first time it is known (for a progress line), else ``None``."""
        self.poll()
        if self.run_id is not None and not self._announced:
            self._announced = True
            return self.run_id
        return None

    def log_config(self, config: Mapping[str, Any], dataset: Any) -> None:
        """Params, tags and dataset inputs (environment tags taken here: BLAS threads in effect)."""
        from nnexp.tracking.provenance import run_provenance_tags

        self._post(
            "log_config", dict(config), DatasetView.of(dataset), provenance=run_provenance_tags(dataset)
        )

    def epoch_callback(self, model: Any, record: Mapping[str, float]) -> None:
        """``MLP.fit`` callback: forward the epoch's record; raise a tracking error that arrived."""
        self.poll()
        self._post("epoch_callback", None, dict(record))

    def log_outcome(self, **kwargs: Any) -> None:
        """Final metrics and stop-reason tags."""
        self._post("log_outcome", **kwargs)

    def log_artifacts(
        self,
        *,
        dataset: Any,
        history: Mapping[str, Any],
        best_epoch: int | None,
        y_pred_test: np.ndarray | None,
        plots: bool = True,
        **kwargs: Any,
    ) -> None:
        """Config, weights, dataset identity and plots. The plots are drawn by whichever process
        is free: the agent once it is idle, else this one (it would only wait for the agent)."""
        drawn = None
        if plots and self.busy():
            from nnexp.tracking.plots import run_plots

            start = time.perf_counter()
            self._drawn = Path(tempfile.mkdtemp(prefix="nnexp-plots-"))
            drawn = run_plots(
                self._drawn,
                history,
                best_epoch=best_epoch,
                y_test=dataset.y_test,
                y_pred_test=y_pred_test,
                class_names=getattr(dataset, "class_names", None),
            )
            self.seconds["plots_here"] = time.perf_counter() - start
        self._post(
            "log_artifacts",
            dataset=DatasetView.of(dataset),
            history=history,
            best_epoch=best_epoch,
            y_pred_test=y_pred_test,
            plots=plots,
            drawn_plots=drawn,
            **kwargs,
        )

    def log_model(self, weights: Path, X_example: np.ndarray, tracking_uri: str) -> None:
        """Log the servable model from the saved weights (its URI: :attr:`model_uri` after end)."""
        self._post("log_model", str(weights), np.array(X_example[:5]), tracking_uri)

    def end(self, status: str = "FINISHED") -> None:
        """Terminate the run and wait for the agent to finish everything; raise its error."""
        start = time.perf_counter()
        self._post("end", status)
        try:
            self._wait(None)
        finally:
            self._close()
            self.seconds["wait"] = time.perf_counter() - start
        if self._error is not None:
            raise TrackingUnavailable(self._error)

    def fail_safely(self, status: str) -> None:
        """Terminate as FAILED/KILLED without raising (waits at most :data:`FAIL_WAIT_S`)."""
        if self._closed:
            return
        try:
            self._post("fail_safely", status)
            self._wait(FAIL_WAIT_S)
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
        finally:
            self._close()
