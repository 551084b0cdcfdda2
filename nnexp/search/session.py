"""The trial a task function runs in, and the calls an app makes from inside it.

``nnexp.report(step, **metrics)`` is the whole API an app needs (see ``examples/``): in a trial
of an nnexp sweep it logs the metrics to the trial's MLflow run at ``step``, reports the sweep's
metric (``hydra.sweeper.metric``) to Optuna, keeps the trial's heartbeat, and raises
``optuna.TrialPruned`` when the pruner stops the trial. Outside a sweep it logs to the active
MLflow run if the app started one, and otherwise does nothing, so the same app runs single.
``nnexp.report_test(**metrics)`` records scores the sweep never selects on (the winner's test
score). nnexp's own trainer reports its epochs through the same call
(:class:`nnexp.search.trial.TrialCallback`).

One :class:`TrialSession` is active per worker process while its task function runs
(:func:`active`); workers run one trial at a time.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from nnexp.contract import HEARTBEAT_ATTR
from nnexp.errors import SweepAborted
from nnexp.search.hold import HOLD_ENV, hold_trial

#: logs ``(metrics, step)`` to the trial's run (``step`` None: a summary, e.g. test scores)
LogStep = Callable[[Mapping[str, float], "int | None"], None]


class TrialSession:
    """One running trial as its task function reports to it (``trial`` None: a rerun of a
    recorded trial outside its study, as ``nnexp audit`` does: recorded, never pruned)."""

    def __init__(
        self,
        trial: Any,
        metric: str | None,
        *,
        prune: bool = True,
        heartbeat_every: float = 10.0,
        orphan_check: Callable[[], bool] | None = None,
        log_step: LogStep | None = None,
    ) -> None:
        self.trial = trial
        self.metric = metric
        self.prune = prune  #: False for multi-objective studies (Optuna cannot prune them)
        self.heartbeat_every = heartbeat_every
        self.orphan_check = orphan_check
        self.log_step = log_step  #: None when the task records its run itself (nnexp's trainer)
        self.last_beat = time.time()
        self.history: dict[str, list[float]] = {}
        self.steps: list[int] = []
        self.test_metrics: dict[str, float] = {}
        self.pruned_at: int | None = None
        self.seconds = 0.0  #: time spent in report calls (the sweep's per-step overhead)

    def report(self, step: int, metrics: Mapping[str, float]) -> None:
        """Record ``metrics`` at ``step``; raise ``optuna.TrialPruned`` when the pruner says so."""
        start = time.perf_counter()
        try:
            self._report(int(step), {str(k): float(v) for k, v in metrics.items()})
        finally:
            self.seconds += time.perf_counter() - start
        if self.trial is not None and HOLD_ENV in os.environ:  # a test holds it (nnexp.search.hold)
            hold_trial(self.trial.number, int(step), self._beat, self.heartbeat_every)

    def _beat(self) -> None:
        """Refresh the trial's heartbeat now."""
        self.last_beat = time.time()
        self.trial.set_user_attr(HEARTBEAT_ATTR, self.last_beat)

    def _report(self, step: int, metrics: dict[str, float]) -> None:
        import optuna

        if self.orphan_check is not None and self.orphan_check():
            raise SweepAborted("the sweep process is gone")
        if not self.steps or self.steps[-1] != step:
            self.steps.append(step)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)
        if self.log_step is not None:
            self.log_step(metrics, step)
        if self.trial is None:  # a rerun outside any study (nnexp audit): record, never prune
            return
        if time.time() - self.last_beat >= self.heartbeat_every:
            self._beat()
        value = metrics.get(self.metric) if self.metric else None
        if not self.prune or value is None or not math.isfinite(value):
            return
        self.trial.report(value, step)
        if self.trial.should_prune():
            self.pruned_at = step
            raise optuna.TrialPruned(f"pruned at step {step}: {self.metric}={value:.6g}")

    def report_test(self, metrics: Mapping[str, float]) -> None:
        """Scores the sweep never selects on, kept for the winner's test score."""
        values = {str(k): float(v) for k, v in metrics.items()}
        self.test_metrics.update(values)
        if self.log_step is not None:
            self.log_step(values, None)

    @property
    def metric_seen(self) -> bool:
        """Whether the task reported the sweep's metric at least once."""
        return bool(self.metric) and self.metric in self.history


_current: TrialSession | None = None


@contextlib.contextmanager
def active(session: TrialSession) -> Iterator[TrialSession]:
    """Make ``session`` the one :func:`report` talks to while the task function runs."""
    global _current
    previous, _current = _current, session
    try:
        yield session
    finally:
        _current = previous


def current() -> TrialSession | None:
    """The trial session of this process, None outside a sweep's trial."""
    return _current


def report(step: int, /, **metrics: float) -> None:
    """Report per-step metrics (an epoch's ``val_loss=..., val_accuracy=...``).

    In a trial of an nnexp sweep: logged to the trial's MLflow run at ``step``; the sweep's
    metric goes to Optuna, whose pruner may stop the trial by raising ``optuna.TrialPruned``
    (let it propagate: the sweeper records the trial PRUNED). Outside a sweep: logged to the
    active MLflow run if there is one, else nothing happens.
    """
    if _current is not None:
        _current.report(step, metrics)
    elif "mlflow" in sys.modules:  # no mlflow imported: no active run to log to
        from nnexp.tracking.active import log_to_active_run

        log_to_active_run(metrics, step)


def report_test(**metrics: float) -> None:
    """Report held-out scores (``test_accuracy=...``) the sweep never selects on; the sweep
    shows the winner's. Outside a sweep: logged to the active MLflow run, if any."""
    if _current is not None:
        _current.report_test(metrics)
    elif "mlflow" in sys.modules:
        from nnexp.tracking.active import log_to_active_run

        log_to_active_run(metrics, None)
