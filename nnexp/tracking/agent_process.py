"""The tracking process of a single run (``python -m nnexp.tracking.agent_process``): it
replays the calls :class:`nnexp.tracking.agent.BackgroundRecorder` forwards over a pipe on a
:class:`~nnexp.tracking.recorder.RunRecorder`, in order.

It imports MLflow's client and store at once (:mod:`nnexp.tracking.headstart`), before the start
message comes (``nnexp-train`` starts it before Hydra composes); then it sets up the store and the
experiment, marks runs of dead processes KILLED, and warms up what the model and the plots need
while the training process trains (in steps, between two calls), then says it is idle. The run itself is created with the first call that records
something. It ignores SIGINT/SIGTERM: the training process decides how the run ends (a closed pipe:
KILLED).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from multiprocessing.connection import Connection
from typing import Any

from nnexp.tracking.headstart import preimport, warm_up_steps
from nnexp.tracking.store import TrackingUnavailable

#: The tracking process's BLAS/OpenMP threads: one, so it never competes with training's.
AGENT_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _setup(start: Mapping[str, Any]) -> Any:
    """Create the store and the experiment (imports mlflow); a :class:`PhaseTimer` timing it."""
    from nnexp.tracking.store import ensure_tracking_store
    from nnexp.tracking.timing import PhaseTimer

    timer = PhaseTimer()
    with timer("setup"):
        experiment_id = ensure_tracking_store(
            start["uri"], start["experiment"], start.get("artifact_location"), timeout=float(start["timeout"])
        )
    return experiment_id, timer


def adopt_env(env: Mapping[str, str] | None, environ: MutableMapping[str, str] = os.environ) -> None:
    """Make ``environ`` the training process's environment ``env`` as it was when the run was
    launched (credentials, MLflow settings, Hydra's ``env_set``: a prestarted agent was spawned
    before them), keeping this process's :data:`AGENT_THREADS`."""
    if env is None:
        return
    for key in set(environ) - set(env) - set(AGENT_THREADS):
        del environ[key]
    environ.update({k: v for k, v in env.items() if k not in AGENT_THREADS})


def _mark_dead_runs(start: Mapping[str, Any], timer: Any) -> None:
    """Runs of this host's dead processes become KILLED (one line each on the shared stderr);
    done here, not in the training process, so it costs a run no wall time."""
    from nnexp.tracking.liveness import mark_dead_runs_quietly

    with timer("dead_runs"):
        mark_dead_runs_quietly(
            start["uri"], timeout=float(start["timeout"]), prog=str(start.get("prog", "nnexp-train"))
        )


def _create_run(start: Mapping[str, Any], experiment_id: str, timer: Any) -> Any:
    from nnexp.tracking.recorder import RunRecorder

    return RunRecorder.start(
        start["uri"],
        experiment_id,
        run_name=start.get("run_name"),
        tags=start.get("tags"),
        parent_run_id=start.get("parent_run_id"),
        timer=timer,
    )


class _Agent:
    """Replays recorder calls. The run is created with the first call that records something
    (the training process sends it once the data loaded and the model was built), so a bad
    dataset or configuration leaves no run behind, as in-process."""

    def __init__(self, outbox: Connection) -> None:
        self.outbox = outbox
        self.start: Mapping[str, Any] | None = None
        self.experiment_id: str | None = None
        self.timer: Any = None
        self.recorder: Any = None
        self.error: str | None = None
        self.model_uri: str | None = None

    def handle(self, method: str, args: tuple, kwargs: dict) -> None:
        """One call; errors are reported once, later calls skipped, the ending still recorded."""
        final = method in ("end", "fail_safely")
        try:
            if method == "start":
                self.start = args[0]
                adopt_env(self.start.get("env"))
                self.experiment_id, self.timer = _setup(self.start)
                _mark_dead_runs(self.start, self.timer)
            elif final:
                if self.recorder is not None:
                    status = args[0] if method == "fail_safely" else "FINISHED"
                    if status == "FINISHED" and self.error is None:
                        self.recorder.end("FINISHED")
                    else:
                        self.recorder.fail_safely(status if status != "FINISHED" else "FAILED")
            elif self.error is None:
                if self.recorder is None:
                    self.recorder = _create_run(self.start, self.experiment_id, self.timer)
                    self.outbox.send(
                        ("ready", {"run_id": self.recorder.run_id, "experiment_id": self.experiment_id})
                    )
                result = getattr(self.recorder, method)(*args, **kwargs)
                if method == "log_model":
                    self.model_uri = result
        except BaseException as exc:  # noqa: BLE001 - reported to the training process
            if self.error is None:
                self.error = _describe(exc)
                self.outbox.send(("error", self.error))
            if final and self.recorder is not None:
                self.recorder.fail_safely("FAILED")

    def done(self) -> None:
        """Tell the training process everything is recorded (model URI, seconds per phase)."""
        seconds = dict(self.timer.seconds) if self.timer is not None else {}
        self.outbox.send(("done", {"model_uri": self.model_uri, "seconds": seconds}))


def serve(inbox: Connection, outbox: Connection) -> None:
    """The agent's loop: set up the store, replay the recorder calls until the run ends.

    Whenever no call is waiting (and the store is set up) it takes one warm-up step instead;
    once they are all done it tells the training process it is ``idle`` (which then gives its
    BLAS all cores and leaves the plots to this process)."""
    agent = _Agent(outbox)
    steps: Iterator[Any] | None = warm_up_steps()
    while True:
        if steps is not None and agent.experiment_id is not None and not inbox.poll(0):
            step = next(steps, None)
            if step is None:
                steps = None
                outbox.send(("idle", None))
            else:
                with agent.timer("warm_up"):  # not waited for unless the run ends first
                    step()
            continue
        try:
            method, args, kwargs = inbox.recv()
        except EOFError:  # the training process vanished
            if agent.recorder is not None:
                agent.recorder.fail_safely("KILLED")
            return
        agent.handle(method, args, kwargs)
        if method in ("end", "fail_safely"):
            agent.done()
            return


def _describe(exc: BaseException) -> str:
    from nnexp.tracking.masking import mask_secrets

    if isinstance(exc, TrackingUnavailable):
        return mask_secrets(str(exc))
    return mask_secrets(f"MLflow tracking failed: {type(exc).__name__}: {exc}")


def main(argv: list[str]) -> int:
    """``python -m nnexp.tracking.agent_process <read fd> <write fd>``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the training process decides how the run ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    preimport()  # MLflow's client and store, before the start message (a prestarted agent)
    try:
        serve(inbox, outbox)
    except (BrokenPipeError, EOFError, OSError):
        return 1
    return 0


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown of everything MLflow imported (most of a
    second, waited for by the training process): every record is stored by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main(sys.argv[1:]))
