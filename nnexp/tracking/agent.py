"""A :class:`~nnexp.tracking.recorder.Recorder` in a second process, so a single run does not
wait for MLflow.

Importing MLflow, creating the store and the run, logging the model and drawing the plots cost
about three seconds of CPU; in the training process they add to a single run's wall time (a
thread gains little: imports hold the GIL), in a second process they overlap loading and
training (measured: ``scripts/bench_startup.py``). :class:`RecorderProxy` starts
``python -m nnexp.tracking.agent`` and sends it one :class:`Call` per Recorder method; the
process replays them on a :class:`RunRecorder`, in order, and answers with :class:`Reply`.
Only the end waits for it.

The run is created with the first call that records something (after the data loaded), so a bad
dataset leaves no run. It ends FINISHED, FAILED (an error) or KILLED (an interrupt, or the
pipe closed: the training process vanished). A tracking error reaches the training process at
its next epoch or at the end as :class:`TrackingUnavailable`. The process runs in its own
session, so a Ctrl-C at the terminal reaches only the training process, which decides the end.
"""

from __future__ import annotations

import importlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from nnexp.tracking.datasets import DatasetView
from nnexp.tracking.recorder import Outcome
from nnexp.tracking.store import TrackingUnavailable

#: Seconds the training process waits for a failed or killed ending to be recorded.
FAIL_WAIT_S = 30.0
#: The tracking process's BLAS threads: one, so it never competes with training's.
AGENT_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Imported first: MLflow's client and its SQL store (the default ``sqlite:///`` home).
PREIMPORTS = ("mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store")
#: Imported while the process has nothing else to do (only moves work earlier): MLflow's model
#: code, the git context a LoggedModel reads, nnexp's pyfunc.
WARM_IMPORTS = ("mlflow.models", "git", "nnexp.tracking.pyfunc")
#: The Recorder methods a :class:`Call` may name.
CALLS = frozenset(
    ("log_config", "epoch_callback", "log_outcome", "log_artifacts", "log_model", "end", "fail_safely")
)


@dataclass(frozen=True)
class Start:
    """Where to record: the store, the experiment, the run's name, tags and parent, and the
    training process's environment now (credentials, MLflow settings, Hydra's ``env_set``: a
    prestarted process was spawned before them)."""

    uri: str
    experiment: str
    artifact_location: str | None
    timeout: float
    run_name: str | None
    tags: dict[str, Any]
    parent_run_id: str | None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class Call:
    """One :class:`Recorder` method call (``method`` in :data:`CALLS`)."""

    method: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """From the tracking process: the run exists, an error, or everything is recorded (``done``)."""

    run_id: str | None = None
    experiment_id: str | None = None
    error: str | None = None
    done: bool = False
    model_uri: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


_Spawned = tuple[subprocess.Popen, Connection, Connection]
#: A tracking process started by :func:`prestart`, not yet adopted by a proxy.
_prestarted: _Spawned | None = None


def _spawn() -> _Spawned:
    """``python -m nnexp.tracking.agent`` with a pipe each way: (process, to it, from it)."""
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnexp.tracking.agent", str(to_r), str(from_w)],
        pass_fds=(to_r, from_w),
        stdin=subprocess.DEVNULL,
        env={**os.environ, **AGENT_THREADS},
        start_new_session=True,  # a Ctrl-C at the terminal is the training process's to handle
    )
    os.close(to_r)
    os.close(from_w)
    return proc, Connection(to_w, readable=False), Connection(from_r, writable=False)


def prestart() -> None:
    """Start the tracking process now (``nnexp-train``, before Hydra composes): it imports
    MLflow meanwhile; the next :class:`RecorderProxy` adopts it."""
    global _prestarted
    if _prestarted is None:
        _prestarted = _spawn()


def discard_prestarted() -> None:
    """Stop a prestarted tracking process no proxy adopted (no run: tracking off, bad config)."""
    global _prestarted
    spawned, _prestarted = _prestarted, None
    if spawned is not None:
        spawned[0].kill()  # it has created nothing before a Start
        spawned[0].wait()
        spawned[1].close()
        spawned[2].close()


class RecorderProxy:
    """The training process's side: a :class:`Recorder` whose calls run in the tracking process.
    Calls are sent by a thread, so training never waits for a pipe the other side has not read."""

    def __init__(self, start: Start) -> None:
        global _prestarted
        spawned, _prestarted = _prestarted, None
        if spawned is None or spawned[0].poll() is not None:  # none, or it died meanwhile
            spawned = _spawn()
        self._proc, send, self._recv = spawned
        self._outbox: queue.SimpleQueue[Start | Call | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, args=(send,))
        self._sender.start()
        self._outbox.put(start)
        self._run_id: str | None = None
        self._experiment_id: str | None = None
        self._error: str | None = None
        self._done: Reply | None = None
        self._seconds: dict[str, float] = {}

    def _send_all(self, send: Connection) -> None:
        with send:
            while (message := self._outbox.get()) is not None:
                try:
                    send.send(message)
                except OSError:  # the process is gone: its end of the pipe says why
                    return

    def _poll(self, wait: float = 0.0) -> bool:
        """Take in one reply if one comes within ``wait`` seconds; False if none came."""
        try:
            if self._recv.closed or not self._recv.poll(wait):
                return False
            reply: Reply = self._recv.recv()
        except (EOFError, OSError):
            self._error = self._error or f"the tracking process ended unexpectedly (exit {self._proc.poll()})"
            self._recv.close()
            return False
        self._run_id = reply.run_id or self._run_id
        self._experiment_id = reply.experiment_id or self._experiment_id
        self._error = self._error or reply.error
        self._done = reply if reply.done else None
        return True

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        while self._poll():
            pass
        if self._error is not None:
            raise TrackingUnavailable(self._error)
        self._outbox.put(Call(method, args, kwargs))

    def _finish(self, method: str, status: str, limit: float) -> None:
        """Send the ending; wait (at most ``limit`` seconds) until everything is recorded."""
        if "wait" in self._seconds:
            return
        start = time.perf_counter()
        self._outbox.put(Call(method, (status,)))
        self._outbox.put(None)
        while self._done is None and not self._recv.closed and time.perf_counter() - start < limit:
            self._poll(0.2)
        self._seconds["wait"] = time.perf_counter() - start
        self._recv.close()
        self._sender.join(timeout=5)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    @property
    def run_id(self) -> str | None:
        """The run id once the tracking process has created the run."""
        while self._run_id is None and self._poll():
            pass
        return self._run_id

    @property
    def experiment_id(self) -> str | None:
        return self._experiment_id

    @property
    def model_uri(self) -> str | None:
        return self._done.model_uri if self._done is not None else None

    @property
    def seconds(self) -> dict[str, float]:
        """The tracking process's phases, and ``wait``: what the training process waited at the end."""
        return {**(self._done.seconds if self._done is not None else {}), **self._seconds}

    def log_config(
        self, config: Mapping[str, Any], dataset: Any, provenance: Mapping[str, str] | None = None
    ) -> None:
        from nnexp.tracking.provenance import run_provenance_tags  # here: BLAS threads in effect

        provenance = dict(provenance or run_provenance_tags(dataset))
        self._call("log_config", dict(config), DatasetView.of(dataset), provenance)

    def epoch_callback(self, model: Any, record: Mapping[str, float]) -> None:
        self._call("epoch_callback", None, dict(record))

    def log_outcome(self, outcome: Outcome) -> None:
        self._call("log_outcome", outcome)

    def log_artifacts(
        self, *, config: Mapping[str, Any], weights: Path | None, dataset: Any, plots: Path | None = None
    ) -> None:
        view = DatasetView.of(dataset)
        self._call("log_artifacts", config=dict(config), weights=weights, dataset=view, plots=plots)

    def log_model(self, weights: Path, X_example: np.ndarray, tracking_uri: str) -> None:
        self._call("log_model", weights, np.array(X_example[:5]), tracking_uri)

    def end(self, status: str = "FINISHED") -> None:
        """End the run and wait until everything is recorded; raise a tracking error."""
        self._finish("end", status, float("inf"))
        if self._error is not None or self._done is None:
            raise TrackingUnavailable(self._error or "the tracking process did not finish")

    def fail_safely(self, status: str) -> None:
        """End FAILED/KILLED without raising (waits at most :data:`FAIL_WAIT_S`)."""
        self._finish("fail_safely", status, FAIL_WAIT_S)


def _open(start: Start, timer: Any) -> str:
    """Create the store and the experiment; mark runs of this host's dead processes KILLED (here,
    so it costs the run no wall time)."""
    from nnexp.tracking.liveness import mark_dead_runs_quietly
    from nnexp.tracking.store import ensure_tracking_store

    with timer("setup"):
        experiment_id = ensure_tracking_store(
            start.uri, start.experiment, start.artifact_location, timeout=start.timeout
        )
    with timer("dead_runs"):
        mark_dead_runs_quietly(start.uri, timeout=start.timeout, prog="nnexp-train")
    return experiment_id


def _warm_up(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - only a head start: the real call reports a failure
        pass


def serve(inbox: Connection, outbox: Connection) -> None:
    """Replay the calls of one run until it ends; between calls, import :data:`WARM_IMPORTS`."""
    from nnexp.tracking.recorder import RunRecorder
    from nnexp.tracking.timing import PhaseTimer

    start: Start = inbox.recv()
    os.environ.clear()
    os.environ.update({**start.env, **AGENT_THREADS})
    timer, recorder, error = PhaseTimer(), None, None
    try:
        experiment_id = _open(start, timer)
    except BaseException as exc:  # noqa: BLE001 - reported to the training process
        error = _describe(exc)
        outbox.send(Reply(error=error))
    warm = iter(WARM_IMPORTS if error is None else ())
    while True:
        if not inbox.poll(0) and (name := next(warm, None)) is not None:
            with timer("warm_up"):
                _warm_up(name)
            continue
        try:
            call: Call = inbox.recv()
        except EOFError:  # the training process vanished
            if recorder is not None:
                recorder.fail_safely("KILLED")
            return
        final = call.method in ("end", "fail_safely")
        try:
            if call.method not in CALLS:
                raise ValueError(f"not a Recorder call: {call.method!r}")
            if final and recorder is not None:
                if call.method == "end" and error is None:
                    recorder.end(*call.args)
                else:
                    recorder.fail_safely("FAILED" if call.args[0] == "FINISHED" else call.args[0])
            elif not final and error is None:
                if recorder is None:
                    recorder = RunRecorder.start(
                        start.uri,
                        experiment_id,
                        run_name=start.run_name,
                        tags=start.tags,
                        parent_run_id=start.parent_run_id,
                        timer=timer,
                    )
                    outbox.send(Reply(run_id=recorder.run_id, experiment_id=experiment_id))
                getattr(recorder, call.method)(*call.args, **call.kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the training process
            if error is None:
                error = _describe(exc)
                outbox.send(Reply(error=error))
            if final and recorder is not None:
                recorder.fail_safely("FAILED")
        if final:
            model_uri = recorder.model_uri if recorder is not None else None
            outbox.send(Reply(done=True, model_uri=model_uri, seconds=dict(timer.seconds)))
            return


def _describe(exc: BaseException) -> str:
    from nnexp.tracking.masking import mask_secrets

    text = (
        str(exc)
        if isinstance(exc, TrackingUnavailable)
        else f"MLflow tracking failed: {type(exc).__name__}: {exc}"
    )
    return mask_secrets(text)


def main(argv: list[str]) -> int:
    """``python -m nnexp.tracking.agent <read fd> <write fd>``."""
    for name in PREIMPORTS:  # before the Start comes (a prestarted process)
        _warm_up(name)
    try:
        serve(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))
    except (EOFError, OSError):
        return 1
    return 0


if __name__ == "__main__":
    from nnexp.tracking.agent import main as _main  # the messages pickle under the module's name

    code = _main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip the teardown of MLflow's modules (0.5 s the training process waits for)
