"""The trial loop of one sweep worker (a long-lived Hydra job that pulls trials).

The sweeper launches ``n_jobs`` worker jobs through Hydra's launcher (joblib on one machine,
submitit on a cluster). Each worker loads the study once, then loops:

1. under the count lock: reap stale trials, count the study's trials (every state, RUNNING
   included) and stop at ``n_trials`` (or past the timeout), else ``study.ask()``;
2. turn the sampled values into Hydra overrides and compose the trial's config;
3. ``run_training`` with a callback that reports the objective metric to the trial every
   epoch, refreshes the heartbeat and raises ``StopTraining("pruned")`` when the pruner says so;
4. ``study.tell`` COMPLETE / PRUNED / FAIL (reason in the ``fail_reason`` user attr and the
   MLflow tags) and print one line.

A worker that finishes a trial starts the next at once: there is no batch to wait for.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from nnexp.search import runs
from nnexp.search.compose import TrialComposer
from nnexp.search.context import SweepContext
from nnexp.search.progress import print_line, trial_line
from nnexp.search.pruners import make_pruner
from nnexp.search.reaping import (
    FAIL_REASON_ATTR,
    HEARTBEAT_ATTR,
    HOST_ATTR,
    PID_ATTR,
    Reaped,
    reap_stale_trials,
)
from nnexp.search.retries import remaining_trials
from nnexp.search.samplers import make_sampler
from nnexp.search.space import SearchSpace
from nnexp.search.storage import (
    StorageUnavailable,
    context_storage_url,
    count_lock,
    describe_storage,
    is_storage_error,
    load_study,
    probe_storage,
)

log = logging.getLogger(__name__)

#: The sweeper's ``_target_`` (a worker job recognises itself by it).
SWEEPER_TARGET = "hydra_plugins.nnexp_sweeper.nnexp_sweeper.NnexpSweeper"
#: Per-worker timing log (one JSON line per trial) in the worker's job directory.
TIMINGS_FILE = "trials.jsonl"


class SweepAborted(BaseException):
    """The sweeper process is gone (or the user interrupted): stop this worker now."""


class ServiceUnreachable(RuntimeError):
    """The tracking server or the Optuna storage stayed unreachable past
    ``hydra.sweeper.reconnect_timeout``: this worker stops (the sweep exits non-zero)."""


#: Default of ``hydra.sweeper.reconnect_timeout`` (seconds a worker waits for a lost service).
RECONNECT_TIMEOUT = 60.0


@dataclass
class TrialOutcome:
    """How one trial ended, as this worker saw it."""

    number: int
    state: str
    value: float | None = None
    reason: str | None = None
    pruned_at: int | None = None
    run_id: str | None = None
    started: float = 0.0  #: epoch seconds at ask()
    train_started: float = 0.0
    train_ended: float = 0.0
    ended: float = 0.0  #: epoch seconds after tell() and the line
    callback_s: float = (
        0.0  #: time inside the per-epoch callback (report, prune, heartbeat)
    )
    pid: int = field(default_factory=os.getpid)
    #: what was unreachable when the trial failed (``tracking`` | ``storage``), else None
    fault: str | None = None

    @property
    def overhead_s(self) -> float:
        """Sweep machinery time for this trial: everything but ``run_training``, plus the
        per-epoch callback's time inside it."""
        return (
            (self.ended - self.started)
            - (self.train_ended - self.train_started)
            + self.callback_s
        )


def worker_threads(n_jobs: int, cores: int | None = None) -> int:
    """BLAS threads per worker: ``cores // n_jobs``, at least 1."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
    return max(1, int(cores) // max(1, int(n_jobs)))


def objective_value(result: Any, metric: str, direction: str) -> float:
    """The trial's objective: the best ``metric`` over the epochs run (NaN when none is finite)."""
    if getattr(result, "metric", None) == metric and result.best_value is not None:
        value = float(result.best_value)
        return value if math.isfinite(value) else math.nan
    values = [float(v) for v in (result.history or {}).get(metric, []) if v is not None]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan
    return max(finite) if direction == "maximize" else min(finite)


class TrialCallback:
    """Per-epoch ``cb(model, record)``: report, heartbeat, prune, and stop if orphaned."""

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        *,
        heartbeat_every: float = 10.0,
        orphan_check: Callable[[], bool] | None = None,
    ) -> None:
        self.trial = trial
        self.metric = metric
        self.heartbeat_every = heartbeat_every
        self.orphan_check = orphan_check
        self.last_beat = time.time()
        self.pruned_at: int | None = None
        self.last_epoch = 0
        self.seconds = 0.0

    def __call__(self, model: Any, record: Mapping[str, float]) -> None:
        start = time.perf_counter()
        try:
            self._epoch(record)
        finally:
            self.seconds += time.perf_counter() - start

    def _epoch(self, record: Mapping[str, float]) -> None:
        from nnexp.nn import StopTraining

        epoch = int(record["epoch"])
        self.last_epoch = epoch
        if self.orphan_check is not None and self.orphan_check():
            raise SweepAborted("the sweep process is gone")
        value = record.get(self.metric)
        if value is None:
            raise KeyError(
                f"hydra.sweeper.metric={self.metric!r} is not in the epoch record "
                f"(available: {', '.join(sorted(k for k in record if k != 'epoch'))})"
            )
        now = time.time()
        if now - self.last_beat >= self.heartbeat_every:
            self.trial.set_user_attr(HEARTBEAT_ATTR, now)
            self.last_beat = now
        if math.isfinite(float(value)):
            self.trial.report(float(value), epoch)
            if self.trial.should_prune():
                self.pruned_at = epoch
                raise StopTraining("pruned")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


class Worker:
    """One worker's trial loop; ``compose`` and ``train`` are injected (Hydra and run_training)."""

    def __init__(
        self,
        ctx: SweepContext,
        *,
        worker_index: int,
        out_dir: Path,
        base_overrides: Sequence[str],
        compose: Callable[[list[str]], Any],
        train: Callable[..., Any] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.ctx = ctx
        self.worker_index = worker_index
        self.out_dir = Path(out_dir)
        self.base_overrides = list(base_overrides)
        self.compose = compose
        self.train = train
        self.stream = stream
        self.space = SearchSpace.from_json(ctx.space_json)
        self.composer = TrialComposer(compose, base_overrides, self.space)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.ppid = os.getppid()
        self.in_sweeper = self.pid == ctx.sweeper_pid
        self._mlflow: Any = None
        self._unfinished: list[tuple[optuna.Trial, TrialOutcome]] = []
        self._warm_up()
        offset = ctx.n_existing * 1024 + worker_index
        self.storage_url = context_storage_url(ctx.storage_url, ctx.launch_cwd)
        self.study = load_study(
            self.storage_url,
            ctx.study_name,
            make_sampler(ctx.sampler, seed_offset=offset),
            make_pruner(ctx.pruner),
        )

    # -- helpers -------------------------------------------------------------------------

    def _warm_up(self) -> None:
        """Pay the per-process costs (imports, the tracking store's engine) before any trial,
        so that trial durations and heartbeats measure trials."""
        import nnexp.data
        import nnexp.train.trainer  # noqa: F401

        if self.ctx.tracking_uri and self.ctx.experiment_id:
            try:
                self.mlflow.get_experiment(self.ctx.experiment_id)
            except Exception as exc:  # noqa: BLE001 - the first trial will report it properly
                log.debug("tracking warm-up failed: %s", exc)

    @property
    def mlflow(self) -> Any:
        """MlflowClient for the sweep's store (None without tracking)."""
        if self._mlflow is None and self.ctx.tracking_uri:
            self._mlflow = runs.client(self.ctx.tracking_uri)
        return self._mlflow

    def orphaned(self) -> bool:
        """True when this worker runs in a child process whose sweeper died."""
        if self.in_sweeper:
            return False
        if os.getppid() != self.ppid:
            return True
        if self.host == self.ctx.sweeper_host:
            from nnexp.search.reaping import pid_alive

            return not pid_alive(self.ctx.sweeper_pid)
        return False

    def _mark_reaped(self, item: Reaped) -> None:
        cl = self.mlflow
        if cl is None or not self.ctx.experiment_id:
            return
        run_id = item.mlflow_run_id or runs.find_trial_run(
            cl, self.ctx.experiment_id, self.ctx.study_name, item.number
        )
        if run_id:
            status = cl.get_run(run_id).info.status
            runs.record_trial_outcome(
                cl,
                run_id,
                "FAIL",
                fail_reason=item.reason,
                terminate="FAILED" if status == "RUNNING" else None,
            )

    def _ask(self) -> optuna.Trial | None:
        """Next trial, or None when the study is full, past the deadline or orphaned."""
        if self.ctx.deadline is not None and time.time() >= self.ctx.deadline:
            return None
        if self.orphaned():
            return None
        with count_lock(self.storage_url, self.ctx.study_name):
            reap_stale_trials(
                self.study,
                self.ctx.stale_after,
                on_reaped=self._mark_reaped,
                max_retries=self.ctx.max_retries,
            )
            if remaining_trials(self.study.get_trials(deepcopy=False), self.ctx.n_trials) <= 0:
                return None
            trial = self.study.ask(self.space.distributions)  # enqueued (WAITING) trials first
            now = time.time()
            trial.set_user_attr(HOST_ATTR, self.host)
            trial.set_user_attr(PID_ATTR, self.pid)
            trial.set_user_attr(HEARTBEAT_ATTR, now)
        return trial

    def _best(self) -> tuple[float | None, int | None]:
        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return None, None
        pick = max if self.ctx.direction == "maximize" else min
        best = pick(done, key=lambda t: t.value)
        return best.value, best.number

    # -- lost services -------------------------------------------------------------------

    @property
    def reconnect_timeout(self) -> float:
        """``hydra.sweeper.reconnect_timeout``: how long a lost service is waited for."""
        return float(self.ctx.extra.get("reconnect_timeout", RECONNECT_TIMEOUT))

    def _http_tracking(self) -> str | None:
        from nnexp.tracking.store import is_http

        uri = self.ctx.tracking_uri
        return uri if uri and is_http(uri) else None

    def _probe_services(self, timeout: float = 5.0) -> None:
        """Raise StorageUnavailable / TrackingUnavailable for the first service that does not
        answer (local files are not probed)."""
        from nnexp.tracking.store import probe_server

        probe_storage(self.storage_url, timeout)
        uri = self._http_tracking()
        if uri is not None:
            probe_server(uri, timeout)

    def _diagnose(self, exc: BaseException) -> tuple[str, str] | None:
        """(``tracking`` | ``storage``, fail reason) when ``exc`` came from a service that is
        unreachable now; None for an ordinary trial failure."""
        from nnexp.tracking.masking import mask_secrets
        from nnexp.tracking.store import TrackingUnavailable, probe_server

        try:
            probe_storage(self.storage_url, 5.0)
        except StorageUnavailable:
            return "storage", (
                f"{describe_storage(self.storage_url)} became unreachable during the trial "
                f"({mask_secrets(_short(exc))})"
            )[:500]
        uri = self._http_tracking()
        if uri is not None:
            try:
                probe_server(uri, 5.0)
            except TrackingUnavailable as down:
                why = str(down).split(" (", 1)[-1].split(";", 1)[0]
                return "tracking", (
                    f"MLflow tracking server {mask_secrets(uri)} unreachable during the trial "
                    f"({why}): {mask_secrets(_short(exc))}"
                )[:500]
        if is_storage_error(exc):
            return "storage", (
                f"{describe_storage(self.storage_url)} failed during the trial "
                f"({mask_secrets(_short(exc))})"
            )[:500]
        return None

    def _say(self, text: str) -> None:
        print(f"[worker {self.worker_index}] {text}", file=sys.stderr, flush=True)

    def _reconnect(self) -> None:
        """Wait (exponential backoff, at most ``reconnect_timeout`` s) until the storage and the
        tracking server answer; raise :class:`ServiceUnreachable` with what to do if not."""
        limit = self.reconnect_timeout
        first = [True]

        def told(exc: BaseException, wait: float) -> None:
            if first[0]:
                self._say(
                    f"{exc}\n  waiting for it to come back: retrying with backoff for up to "
                    f"{limit:g}s (hydra.sweeper.reconnect_timeout)"
                )
                first[0] = False
            log.info("still unreachable; next probe in %.1fs", wait)

        from nnexp.tracking.store import wait_reachable

        started = time.monotonic()
        try:
            wait_reachable(self._probe_services, limit, cap=8.0, on_retry=told)
        except Exception as exc:  # noqa: BLE001 - StorageUnavailable / TrackingUnavailable
            raise ServiceUnreachable(
                f"{exc}\n  It did not come back within {limit:g}s "
                "(hydra.sweeper.reconnect_timeout), so this worker stopped. Bring it back "
                "(or fix tracking.uri / hydra.sweeper.storage), then run the same command "
                f"again to resume study {self.ctx.study_name!r}: finished trials are kept."
            ) from None
        if not first[0]:
            self._say(f"reachable again after {time.monotonic() - started:.1f}s; continuing")
        self._settle_unfinished()

    def _settle_unfinished(self) -> None:
        """Tell FAIL the trials whose end could not be stored while the storage was down."""
        pending, self._unfinished = self._unfinished, []
        for trial, out in pending:
            try:
                trial.set_user_attr(FAIL_REASON_ATTR, out.reason or "unknown")
                self.study.tell(trial, state=TrialState.FAIL)
            except (UpdateFinishedTrialError, ValueError):
                pass  # reaped meanwhile
            except Exception as exc:  # noqa: BLE001 - the reaper will get it
                log.warning("trial %d still could not be marked FAIL: %s", trial.number, exc)

    def _fail_and_retry(self, trial: optuna.Trial, out: TrialOutcome) -> bool:
        """A trial failed by a lost service: with ``max_retries`` it is a fault, not a result,
        so (as the reaper does for dead workers) it is marked ``retried`` and its params are
        enqueued again, all under the count lock. Returns False when FAIL could not be stored."""
        from nnexp.search.retries import RETRIED_ATTR, enqueue_retry, should_retry

        if out.fault is None or self.ctx.max_retries <= 0:
            return self._fail(trial, out, quiet=out.fault == "storage")
        try:
            frozen = self.study._storage.get_trial(trial._trial_id)
            if not should_retry(frozen, self.ctx.max_retries):
                return self._fail(trial, out)
            with count_lock(self.storage_url, self.ctx.study_name):
                trial.set_user_attr(RETRIED_ATTR, True)
                if not self._fail(trial, out):
                    return False
                enqueue_retry(self.study, frozen, self.ctx.max_retries)
            return True
        except Exception as exc:  # noqa: BLE001 - counted as an ordinary FAIL then
            log.warning("trial %d: not retried: %s", trial.number, exc)
            return self._fail(trial, out, quiet=True)

    # -- one trial -----------------------------------------------------------------------

    def run_trial(self, trial: optuna.Trial, started: float) -> TrialOutcome:
        """Compose, train, tell; never raises except :class:`SweepAborted`/KeyboardInterrupt."""
        from omegaconf import OmegaConf

        number = trial.number
        out = TrialOutcome(number=number, state="FAIL", started=started)
        trial_dir = self.out_dir / f"trial_{number}"
        overrides = self.space.overrides(trial.params)
        callback = TrialCallback(
            trial,
            self.ctx.metric,
            heartbeat_every=max(1.0, min(10.0, self.ctx.stale_after / 4)),
            orphan_check=None if self.in_sweeper else self.orphaned,
        )
        result = None
        try:
            trial.set_user_attr("overrides", overrides)
            trial.set_user_attr("trial_dir", str(trial_dir))
            cfg, _ = self.composer(trial.params)
            trial_dir.mkdir(parents=True, exist_ok=True)
            (trial_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
            # trial-only settings: weights into the trial dir, quiet epochs, cheap artifacts
            OmegaConf.update(cfg, "trainer.save_dir", str(trial_dir), merge=False)
            OmegaConf.update(cfg, "trainer.progress", False, merge=False)
            OmegaConf.update(cfg, "tracking.log_plots", False, merge=False)
            tags = {
                runs.ROLE_TAG: "trial",
                runs.STUDY_TAG: self.ctx.study_name,
                runs.TRIAL_TAG: number,
                "nnexp.worker_pid": self.pid,
            }
            train = self.train
            if train is None:
                from nnexp.train.trainer import run_training as train
            out.train_started = time.time()
            try:
                result = train(
                    cfg,
                    callbacks=[callback],
                    parent_run_id=self.ctx.parent_run_id,
                    run_name=runs.trial_run_name(
                        number, {k: OmegaConf.select(cfg, k) for k, _ in runs.NAME_PARAMS}
                    ),
                    extra_tags=tags,
                    log_model=False,
                )
            finally:
                out.train_ended = time.time()
            out.run_id = getattr(result, "run_id", None)
            (trial_dir / "history.json").write_text(json.dumps(result.history))
            if out.run_id:
                trial.set_user_attr("mlflow_run_id", out.run_id)
            trial.set_user_attr("epochs_run", int(result.epochs_run))
            trial.set_user_attr("stop_reason", str(result.stop_reason))
            if result.model_path is not None:
                trial.set_user_attr("model_path", str(result.model_path))
            if result.test_metrics:
                trial.set_user_attr(
                    "test_metrics",
                    {k: float(v) for k, v in result.test_metrics.items()},
                )
            if result.stop_reason == "pruned":
                out.state, out.pruned_at = "PRUNED", callback.pruned_at
                trial.set_user_attr("pruned_at_epoch", callback.pruned_at)
                out.value = self.study.tell(trial, state=TrialState.PRUNED).value
            elif result.stop_reason == "diverged":
                out.reason = (
                    f"diverged: non-finite loss at epoch {int(result.epochs_run) + 1}"
                )
                self._fail(trial, out)
            else:
                value = objective_value(result, self.ctx.metric, self.ctx.direction)
                if math.isfinite(value):
                    out.state, out.value = "COMPLETE", value
                    self.study.tell(trial, value)
                else:
                    out.reason = (
                        f"no finite {self.ctx.metric} in {result.epochs_run} epochs"
                    )
                    self._fail(trial, out)
        except (SweepAborted, KeyboardInterrupt) as exc:
            out.reason = (
                "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            )
            self._fail(trial, out, quiet=True)
            self._tag_run(out, result, callback, terminate=True)
            raise
        except UpdateFinishedTrialError as exc:  # reaped meanwhile (heartbeat too old)
            out.reason = f"trial was finished elsewhere: {exc}"
            log.warning("trial %d: %s", number, out.reason)
        except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the sweep
            out.reason = _short(exc)
            log.debug("trial %d failed:\n%s", number, traceback.format_exc())
            diagnosis = self._diagnose(exc)
            if diagnosis is not None:
                out.fault, out.reason = diagnosis
            if not self._fail_and_retry(trial, out):
                self._unfinished.append((trial, out))
        if out.fault != "tracking":  # a lost server's run is fixed by the sweeper's reconcile
            self._tag_run(out, result, callback)
        out.callback_s = callback.seconds
        try:
            best_value, best_number = self._best()
        except Exception as exc:  # noqa: BLE001 - the storage may be the thing that failed
            log.debug("best trial unknown: %s", exc)
            best_value, best_number = None, None
        out.ended = time.time()
        print_line(
            trial_line(
                number,
                out.state,
                out.value,
                best_value,
                best_number,
                out.ended - out.started,
                pruned_at=out.pruned_at,
                reason=out.reason,
            ),
            self.stream,
        )
        return out

    def _fail(
        self, trial: optuna.Trial, out: TrialOutcome, quiet: bool = False
    ) -> bool:
        """Tell FAIL with the reason; False when the storage could not be written."""
        out.state = "FAIL"
        try:
            trial.set_user_attr(FAIL_REASON_ATTR, out.reason or "unknown")
            self.study.tell(trial, state=TrialState.FAIL)
        except (UpdateFinishedTrialError, ValueError) as exc:
            if not quiet:
                log.warning("trial %d could not be marked FAIL: %s", trial.number, exc)
        except Exception as exc:  # noqa: BLE001 - storage down: told again after reconnecting
            if not quiet:
                log.warning("trial %d could not be marked FAIL: %s", trial.number, exc)
            return False
        return True

    def _tag_run(
        self,
        out: TrialOutcome,
        result: Any,
        callback: TrialCallback,
        terminate: bool = False,
    ) -> None:
        cl = self.mlflow
        if cl is None:
            return
        try:
            run_id = out.run_id or (
                runs.find_trial_run(
                    cl, self.ctx.experiment_id, self.ctx.study_name, out.number
                )
                if self.ctx.experiment_id
                else None
            )
            if not run_id:
                return
            status = None
            if out.state == "FAIL" and result is not None:
                status = "FAILED"  # run_training ended it FINISHED; the trial failed
            elif terminate and cl.get_run(run_id).info.status == "RUNNING":
                status = "KILLED"
            runs.record_trial_outcome(
                cl,
                run_id,
                out.state,
                pruned_at=out.pruned_at,
                fail_reason=out.reason,
                terminate=status,
            )
        except Exception as exc:  # noqa: BLE001 - tracking trouble must not stop the sweep
            log.warning("trial %d: could not tag its MLflow run: %s", out.number, exc)

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> list[TrialOutcome]:
        """Pull and run trials until the study is full, the timeout passes or the sweep dies."""
        from threadpoolctl import threadpool_limits

        outcomes: list[TrialOutcome] = []
        self.out_dir.mkdir(parents=True, exist_ok=True)
        timings = self.out_dir / TIMINGS_FILE
        with threadpool_limits(limits=worker_threads(self.ctx.n_jobs), user_api="blas"):
            while True:
                started = time.time()
                try:
                    trial = self._ask()
                except Exception as exc:  # a lost storage: wait, then ask again
                    if self._diagnose(exc) is None:
                        raise
                    self._reconnect()
                    continue
                if trial is None:
                    break
                outcome = self.run_trial(trial, started)
                outcomes.append(outcome)
                if outcome.fault is not None:
                    self._reconnect()
                with open(timings, "a") as fh:
                    fh.write(
                        json.dumps(
                            {**asdict(outcome), "overhead_s": outcome.overhead_s}
                        )
                        + "\n"
                    )
        return outcomes


# --------------------------------------------------------------------------------------------
# Hydra entry (called from nnexp.cli.train's task function)


def is_sweep_worker() -> bool:
    """True inside a job that the nnexp sweeper launched."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode
    except ImportError:  # pragma: no cover
        return False
    if not HydraConfig.initialized():
        return False
    hc = HydraConfig.get()
    return (
        hc.mode == RunMode.MULTIRUN
        and str(hc.sweeper.get("_target_", "")) == SWEEPER_TARGET
        and bool(hc.sweeper.get("worker_context"))
    )


def run_worker_job(cfg: Any = None) -> dict[str, Any]:
    """The task function of a worker job: run trials; return a summary of what it ran."""
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    ctx = SweepContext.load(hc.sweeper.worker_context)
    from nnexp.search.watchdog import exit_with_sweeper

    exit_with_sweeper(ctx.sweeper_pid)  # a worker whose sweeper was killed exits: no orphans
    config_name = hc.job.config_name
    base = [str(o) for o in hc.overrides.task]

    def compose_trial(overrides: list[str]) -> Any:
        return compose(config_name=config_name, overrides=overrides)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    worker = Worker(
        ctx,
        worker_index=int(hc.job.num),
        out_dir=Path(hc.runtime.output_dir),
        base_overrides=base,
        compose=compose_trial,
    )
    try:
        outcomes = worker.run()
    except SweepAborted as exc:
        print(f"[worker {hc.job.num}] stopped: {exc}", file=sys.stderr, flush=True)
        return {"aborted": True}
    except ServiceUnreachable as exc:
        print(f"[worker {hc.job.num}] stopped: {exc}", file=sys.stderr, flush=True)
        return {"unreachable": str(exc)}
    return {
        "trials": [o.number for o in outcomes],
        "states": [o.state for o in outcomes],
    }
