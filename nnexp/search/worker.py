"""The trial loop of one sweep worker (a long-lived Hydra job that pulls trials).

The sweeper launches ``n_jobs`` worker jobs through Hydra's launcher (nnexp's on one machine,
submitit on a cluster; the job entry is :mod:`nnexp.search.job`). Each worker loads the study
once, then loops:

1. under the count lock: reap stale trials, count the study's trials (every state, RUNNING
   included) and stop at ``n_trials`` (or past the timeout), else ``study.ask()``;
2. turn the sampled values into Hydra overrides and compose the trial's config;
3. ``run_training`` with a callback that reports the objective metric to the trial every
   epoch, refreshes the heartbeat and raises ``StopTraining("pruned")`` when the pruner says so
   (:class:`~nnexp.search.trial.TrialCallback`);
4. ``study.tell`` COMPLETE / PRUNED / FAIL (:class:`~nnexp.search.tell.Teller`; the reason in
   the ``fail_reason`` user attr and the MLflow tags; a diverged trial is PRUNED at the epoch it
   diverged, its reason in ``prune_reason``) and print one line.

A worker that finishes a trial starts the next at once: there is no batch to wait for. A trial
failed by a lost service makes the worker wait for it (:mod:`nnexp.search.health`).
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
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from nnexp.contract import (
    EPOCHS_BUDGET_ATTR,
    EPOCHS_RUN_ATTR,
    HEARTBEAT_ATTR,
    MODEL_PATH_ATTR,
    NODE_ATTR,
    NODE_ENV,
    OVERRIDES_ATTR,
    PRUNE_REASON_ATTR,
    PRUNED_AT_ATTR,
    ROLE_TAG,
    RUN_ID_ATTR,
    STOP_REASON_ATTR,
    STUDY_TAG,
    TEST_METRICS_ATTR,
    TIMINGS_FILE,
    TRIAL_DIR_ATTR,
    TRIAL_TAG,
    WORKER_PID_TAG,
    EndState,
)
from nnexp.errors import SweepAborted
from nnexp.nn.callbacks import StopReason
from nnexp.search.compose import TrialComposer
from nnexp.search.confirmation import confirmation_of, confirmation_tags, seed_overrides
from nnexp.search.context import SweepContext
from nnexp.search.failures import too_many_failures
from nnexp.search.health import ServiceHealth, short_error
from nnexp.search.lines import print_line, trial_line
from nnexp.search.pruners import make_pruner
from nnexp.search.results import best_trial
from nnexp.search.runs import SweepRuns
from nnexp.search.samplers import make_sampler
from nnexp.search.session import TrialSession, active
from nnexp.search.space import SearchSpace, load_search_hook
from nnexp.search.stale import pid_alive, reap_stale_trials, remaining_trials, worker_identity
from nnexp.search.status import status_due, sweep_status
from nnexp.search.storage import context_storage_url, count_lock, load_study
from nnexp.search.task import NnexpTrainer, SweepTask, TrialTracking, app_objective, objective_values
from nnexp.search.tell import Teller
from nnexp.search.trial import TrialOutcome, diverged_reason, objective_value
from nnexp.train.threads import worker_threads

log = logging.getLogger(__name__)


#: Test hook (tests/scale/test_study_faults.py): ``NNEXP_TEST_LOSE_TRIAL=<n>`` makes the worker
#: that creates search trial ``n`` lose the storage at once, before it records itself as the
#: trial's owner: the state a PostgreSQL restart between ``ask`` and the owner attributes
#: leaves (a RUNNING trial no worker runs). Unset in normal use.
LOSE_TRIAL_ENV = "NNEXP_TEST_LOSE_TRIAL"


def _test_lose_storage(number: int, confirming: bool) -> None:
    """Raise the storage error :data:`LOSE_TRIAL_ENV` asks for (nothing when it is unset)."""
    if confirming or os.environ.get(LOSE_TRIAL_ENV) != str(number):
        return
    from sqlalchemy.exc import OperationalError

    raise OperationalError(
        "(test hook) SELECT 1", None, ConnectionError("server closed the connection unexpectedly")
    )


class Worker:
    """One worker's trial loop; ``compose`` and ``task`` are injected (Hydra, and nnexp's trainer
    or the app's task function: :mod:`nnexp.search.task`); ``train`` stands in for
    ``run_training`` in tests."""

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
        task: SweepTask | None = None,
    ) -> None:
        self.ctx = ctx
        self.task: SweepTask = task if task is not None else NnexpTrainer()
        self.worker_index = worker_index
        self.out_dir = Path(out_dir)
        self.train = train
        self.stream = stream
        self.space = SearchSpace.from_json(ctx.space_json)
        self.composer = TrialComposer(compose, base_overrides, self.space)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.identity = worker_identity(self.host, self.pid)
        self.node = os.environ.get(NODE_ENV)  # a Ray node (hydra/launcher=nnexp_ray)
        if self.node:
            self.identity[NODE_ATTR] = self.node
        self.ppid = os.getppid()
        self.in_sweeper = self.pid == ctx.sweeper_pid
        self.confirming = ctx.confirming  # nnexp.search.confirmation
        self.confirm_tags: dict[str, Any] = {}
        self.metric_warned = False
        self.search_hook = load_search_hook(ctx.search_hook)
        self.runs = (
            SweepRuns(ctx.tracking_uri, ctx.experiment_id, ctx.study_name, ctx.parent_run_id)
            if ctx.tracking_uri
            else None
        )
        self._warm_up()
        self.storage_url = context_storage_url(ctx.storage_url, ctx.launch_cwd)
        self.study = load_study(
            self.storage_url,
            ctx.study_name,
            make_sampler(ctx.sampler, seed_offset=ctx.n_existing * 1024 + worker_index),
            make_pruner(ctx.pruner),
        )
        self.teller = Teller(self.study, self.storage_url, ctx.max_retries)
        self.health = ServiceHealth(
            self.storage_url,
            ctx.tracking_uri,
            study_name=ctx.study_name,
            reconnect_timeout=ctx.reconnect_timeout,
            say=lambda text: print(f"[worker {self.worker_index}] {text}", file=sys.stderr, flush=True),
        )

    def _warm_up(self) -> None:
        """Pay the per-process costs (imports, the tracking store's engine) before any trial,
        so that trial durations and heartbeats measure trials."""
        self.task.warm_up()
        if self.runs is not None:
            self.runs.warm_up()

    def orphaned(self) -> bool:
        """True when this worker runs in a child process whose sweeper died. Never on Ray:
        Ray ends a worker whose driver died (the next sweep reaps its trial, naming the node)."""
        if self.in_sweeper or self.node:
            return False
        if os.getppid() != self.ppid:
            return True
        if self.host == self.ctx.sweeper_host:
            return not pid_alive(self.ctx.sweeper_pid)
        return False

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
                on_reaped=self.runs.mark_reaped if self.runs is not None else None,
                max_retries=self.ctx.max_retries,
            )
            trials = self.study.get_trials(deepcopy=False)
            if remaining_trials(trials, self.ctx.n_trials) <= 0:
                return None
            if too_many_failures(
                trials, self.ctx.max_failures, self.ctx.failed_before
            ):  # the sweeper says why
                return None
            if self.confirming and not any(t.state == TrialState.WAITING for t in trials):
                return None  # confirmations run only what the sweeper enqueued
            trial = self.study.ask(self.space.distributions)  # enqueued (WAITING) trials first
            if self.search_hook is not None:  # conditional params (hydra.sweeper.custom_search_space)
                self.search_hook(self.composer.base_config(), trial)
            _test_lose_storage(trial.number, self.confirming)
            for key, value in self.identity.items():  # the owner, for the liveness rule
                trial.set_user_attr(key, value)
            trial.set_user_attr(HEARTBEAT_ATTR, time.time())
        return trial

    def _best(self) -> tuple[float | None, int | None]:
        """The best value so far and its trial (for the trial line); never raises. None for
        confirmations: their study's best is no trial of the search."""
        if self.confirming:
            return None, None
        try:
            trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        except Exception as exc:  # noqa: BLE001 - the storage may be the thing that failed
            log.debug("best trial unknown: %s", exc)
            return None, None
        best = best_trial(trials, self.ctx.direction)
        return (best.value, best.number) if best is not None else (None, None)

    # -- one trial -----------------------------------------------------------------------

    def run_trial(self, trial: optuna.Trial, started: float) -> TrialOutcome:
        """Compose, train, tell; never raises except :class:`SweepAborted`/KeyboardInterrupt."""
        out = TrialOutcome(number=trial.number, state=EndState.FAIL, started=started)
        session = TrialSession(
            trial,
            self.ctx.metric,
            prune=len(self.ctx.directions) == 1,
            heartbeat_every=max(1.0, min(10.0, self.ctx.stale_after / 4)),
            orphan_check=None if self.in_sweeper else self.orphaned,
        )
        result = None
        self.confirm_tags = confirmation_tags(trial.user_attrs)
        try:
            cfg = self._prepare(trial)
            with active(session):
                result = self._train(cfg, trial, out)
            self._record(trial, result, out)
            self._tell(trial, result, session, out)
        except (SweepAborted, KeyboardInterrupt) as exc:
            out.reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            self.teller.fail(trial, out, quiet=True)
            if self.runs is not None:
                self.runs.tag_outcome(out, trained=result is not None, interrupted=True)
            raise
        except UpdateFinishedTrialError as exc:  # reaped meanwhile (heartbeat too old)
            out.reason = f"trial was finished elsewhere: {exc}"
            log.warning("trial %d: %s", trial.number, out.reason)
        except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the sweep
            full = self._disk_full(exc)
            if full is not None:  # but a full disk stops this worker at once (exit 3)
                out.reason = str(full)
                self.teller.fail(trial, out, quiet=True)
                raise full from None
            out.reason = short_error(exc)
            log.debug("trial %d failed:\n%s", trial.number, traceback.format_exc())
            diagnosis = self.health.diagnose(exc)
            if diagnosis is not None:
                out.fault, out.reason = diagnosis
            self.teller.fail_or_retry(trial, out)
        # a lost server's run is fixed by the sweeper's reconcile
        if self.runs is not None and out.fault != "tracking":
            self.runs.tag_outcome(out, trained=result is not None)
        out.callback_s = session.seconds
        self._check_metric(session, result)
        self._print(out)
        return out

    def _prepare(self, trial: optuna.Trial) -> Any:
        """The trial's config, written to ``<out_dir>/trial_<n>/config.yaml``, with the
        trial-only settings: weights into the trial dir, quiet epochs, cheap artifacts."""
        from omegaconf import OmegaConf

        trial_dir = self._trial_dir(trial.number)
        of = confirmation_of(trial.user_attrs)
        trial.set_user_attr(OVERRIDES_ATTR, self.space.overrides(trial.params))
        trial.set_user_attr(TRIAL_DIR_ATTR, str(trial_dir))
        cfg, _ = self.composer(trial.params)
        if of is not None:  # a confirmation: its new seed, the search's data and test rows
            pins = seed_overrides(cfg, of[1], self.ctx.seed_key)
            for key, value in pins.items():
                OmegaConf.update(cfg, key, value, merge=False)
            overrides = self.space.overrides(trial.params) + [f"{k}={v}" for k, v in pins.items()]
            trial.set_user_attr(OVERRIDES_ATTR, overrides)
        budget = OmegaConf.select(cfg, self.ctx.budget_key) if self.ctx.budget_key else None
        if budget is not None:  # the pruning ledger's budget (nnexp.search.ledger)
            trial.set_user_attr(EPOCHS_BUDGET_ATTR, int(budget))
        trial_dir.mkdir(parents=True, exist_ok=True)
        (trial_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        self.task.trial_config(cfg, trial_dir)
        return cfg

    def _trial_dir(self, number: int) -> Path:
        """``<out_dir>/trial_<n>`` (``confirm_<n>`` for a confirmation trial)."""
        return self.out_dir / f"{'confirm' if self.confirming else 'trial'}_{number}"

    def _train(self, cfg: Any, trial: optuna.Trial, out: TrialOutcome) -> Any:
        """The task on the trial's config, as the trial's child run (tagged, named after its
        params)."""
        from omegaconf import OmegaConf

        from nnexp.tracking.run_names import NAME_PARAMS, confirmation_label, trial_run_name
        from nnexp.tracking.sweep_runs import trial_role

        tags = {
            ROLE_TAG: trial_role(self.ctx.study_name),
            STUDY_TAG: self.ctx.study_name,
            TRIAL_TAG: trial.number,
            WORKER_PID_TAG: self.pid,
            **self.confirm_tags,
        }
        name = trial_run_name(
            trial.number,
            {k: OmegaConf.select(cfg, k, default=None) for k, _ in NAME_PARAMS},
            label=confirmation_label(tags),
        )
        tracking = TrialTracking(
            uri=self.ctx.tracking_uri or "",
            experiment_id=self.ctx.experiment_id or "",
            parent_run_id=self.ctx.parent_run_id,
            run_name=name,
            tags=tags,
            params=dict(trial.params),
        )
        out.train_started = time.time()
        try:
            return self.task.run(cfg, self.ctx.metric, tracking if tracking.uri else None, self.train)
        finally:
            out.train_ended = time.time()

    def _record(self, trial: optuna.Trial, result: Any, out: TrialOutcome) -> None:
        """What training produced, as trial user attributes (and ``history.json``)."""
        trial_dir = self._trial_dir(trial.number)
        out.run_id = getattr(result, "run_id", None)
        (trial_dir / "history.json").write_text(json.dumps(result.history))
        if out.run_id:
            trial.set_user_attr(RUN_ID_ATTR, out.run_id)
        trial.set_user_attr(EPOCHS_RUN_ATTR, int(result.epochs_run))
        trial.set_user_attr(STOP_REASON_ATTR, str(result.stop_reason))
        if result.model_path is not None:
            trial.set_user_attr(MODEL_PATH_ATTR, str(result.model_path))
        baseline = getattr(result, "baseline", None)
        scores = {**(result.test_metrics or {}), **(baseline.metrics if baseline else {})}
        if scores:  # the baseline beside the network's, for the sweep's summaries
            out.test_metrics = {k: float(v) for k, v in scores.items()}
            trial.set_user_attr(TEST_METRICS_ATTR, out.test_metrics)

    def _tell(self, trial: optuna.Trial, result: Any, session: TrialSession, out: TrialOutcome) -> None:
        """PRUNED (by the pruner, or diverged), FAIL (no finite metric) or COMPLETE.

        A diverged trial is PRUNED at the epoch it diverged, not FAIL: samplers such as TPE
        ignore FAIL trials and would keep proposing the diverging region, while a PRUNED trial
        counts as a bad one (its value: the last finite value reported, if any)."""
        if result.stop_reason == StopReason.PRUNED:
            out.state, out.pruned_at = EndState.PRUNED, session.pruned_at
            trial.set_user_attr(PRUNED_AT_ATTR, session.pruned_at)
            out.value = self.study.tell(trial, state=TrialState.PRUNED).value
        elif result.stop_reason == StopReason.DIVERGED:
            epoch = int(result.epochs_run) + 1  # MLP.fit does not record the diverged epoch
            out.state, out.pruned_at = EndState.PRUNED, epoch
            out.reason = diverged_reason(epoch)
            trial.set_user_attr(PRUNED_AT_ATTR, epoch)
            trial.set_user_attr(PRUNE_REASON_ATTR, out.reason)
            out.value = self.study.tell(trial, state=TrialState.PRUNED).value
        elif len(self.ctx.directions) > 1:
            self._tell_values(trial, result, out)
        else:
            value = (
                objective_value(result, self.ctx.metric, self.ctx.direction)
                if self.task.kind == "nnexp"
                else app_objective(result, self.ctx.metric, self.ctx.direction)
            )
            if math.isfinite(value):
                out.state, out.value = EndState.COMPLETE, value
                self.study.tell(trial, value)
            else:
                out.reason = f"no finite {self.ctx.metric} in {result.epochs_run} epochs"
                self.teller.fail(trial, out)

    def _tell_values(self, trial: optuna.Trial, result: Any, out: TrialOutcome) -> None:
        """A multi-objective trial: COMPLETE with the tuple the task function returned."""
        values = objective_values(getattr(result, "value", None), len(self.ctx.directions))
        if values is None or not all(math.isfinite(v) for v in values):
            out.reason = f"the task function returned {getattr(result, 'value', None)!r}, not finite values"
            self.teller.fail(trial, out)
            return
        out.state, out.value, out.values = EndState.COMPLETE, values[0], values
        self.study.tell(trial, values)

    def _check_metric(self, session: TrialSession, result: Any) -> None:
        """Say once per worker when an app never reported the metric the pruner watches."""
        if self.task.kind == "nnexp" or result is None or not session.prune or self.metric_warned:
            return
        if session.metric_seen or not session.history:
            return
        self.metric_warned = True
        print_line(
            f"[worker {self.worker_index}] warning: no trial pruned: nnexp.report never got "
            f"hydra.sweeper.metric={self.ctx.metric!r} (reported: {', '.join(sorted(session.history))})",
            sys.stderr,
        )

    def _print(self, out: TrialOutcome) -> None:
        from nnexp.tracking.run_names import confirmation_label

        best_value, best_number = self._best()
        out.ended = time.time()
        line = trial_line(
            out.number,
            out.state,
            out.value,
            best_value,
            best_number,
            out.ended - out.started,
            pruned_at=out.pruned_at,
            reason=out.reason,
            test_metrics=out.test_metrics if out.state == EndState.COMPLETE else None,
            label=confirmation_label(self.confirm_tags),
        )
        print_line(line, self.stream)
        self._status(out.number)

    def _status(self, number: int) -> None:
        """The status line when trial ``number`` was the ``hydra.sweeper.status_every``-th
        (2nd, ...) to finish (:mod:`nnexp.search.status`; not for confirmations); never raises."""
        if self.confirming:
            return
        try:
            trials = self.study.get_trials(deepcopy=False)
            if status_due(trials, number, self.ctx.status_every):
                print_line(sweep_status(self.ctx, trials, time.time()), self.stream)
        except Exception as exc:  # noqa: BLE001 - the storage may be the thing that failed
            log.debug("no status line: %s", exc)

    # -- the loop ------------------------------------------------------------------------

    def _disk_full(self, exc: BaseException) -> Any:
        """:func:`nnexp.filesystem.disk_full` for a trial's error, looking at the tracking
        store's file, the storage's and this worker's dir when the error names none."""
        from nnexp.filesystem import disk_full
        from nnexp.search.storage import local_file
        from nnexp.tracking.store import sqlite_path

        db = sqlite_path(self.ctx.tracking_uri) if self.ctx.tracking_uri else None
        return disk_full(exc, [db, local_file(self.storage_url), self.out_dir])

    def _reconnect(self) -> None:
        self.health.reconnect()
        self.teller.settle()

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
                    full = self._disk_full(exc)
                    if full is not None:
                        raise full from None
                    if self.health.diagnose(exc) is None:
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
                    record = {**asdict(outcome), "overhead_s": outcome.overhead_s}
                    fh.write(json.dumps(record) + "\n")
        return outcomes
