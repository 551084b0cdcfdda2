"""One trial as a worker sees it: its outcome, nnexp's per-epoch callback, its objective value."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from nnexp.contract import DIVERGED_REASON, PRUNE_REASON_ATTR, EndState
from nnexp.tracking.run_names import is_diverged_reason


@dataclass
class TrialOutcome:
    """How one trial ended, as this worker saw it."""

    number: int
    state: EndState
    value: float | None = None
    values: list[float] | None = None  #: every objective of a multi-objective trial
    reason: str | None = None
    pruned_at: int | None = None
    run_id: str | None = None
    started: float = 0.0  #: epoch seconds at ask()
    train_started: float = 0.0
    train_ended: float = 0.0
    ended: float = 0.0  #: epoch seconds after tell() and the line
    #: time inside the per-epoch callback (report, prune, heartbeat)
    callback_s: float = 0.0
    pid: int = field(default_factory=os.getpid)
    #: what was unreachable when the trial failed (``tracking`` | ``storage``), else None
    fault: str | None = None
    #: the run's test scores and its baseline's (``test_r2``, ``baseline_test_r2``, ...)
    test_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def overhead_s(self) -> float:
        """Sweep machinery time for this trial: everything but ``run_training``, plus the
        per-epoch callback's time inside it."""
        return (self.ended - self.started) - (self.train_ended - self.train_started) + self.callback_s


def diverged_reason(epoch: int) -> str:
    """The reason kept on a trial that diverged in ``epoch`` (1-based)."""
    return f"{DIVERGED_REASON}: non-finite loss at epoch {int(epoch)}"


def is_diverged(trial: Any) -> bool:
    """Whether a (frozen) trial was PRUNED because it diverged, not by the pruner."""
    return is_diverged_reason(trial.user_attrs.get(PRUNE_REASON_ATTR))


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
    """nnexp's trainer as a client of the public trial API: its per-epoch ``cb(model, record)``
    calls :func:`nnexp.report` with the epoch's record, and turns the pruner's
    ``optuna.TrialPruned`` into ``StopTraining("pruned")`` so the run ends recorded in full."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def __call__(self, model: Any, record: Mapping[str, float]) -> None:

        from nnexp.nn import StopReason, StopTraining
        from nnexp.search.session import report

        if self.metric not in record:
            raise KeyError(
                f"hydra.sweeper.metric={self.metric!r} is not in the epoch record "
                f"(available: {', '.join(sorted(k for k in record if k != 'epoch'))})"
            )
        try:
            report(int(record["epoch"]), **{k: v for k, v in record.items() if k != "epoch"})
        except optuna.TrialPruned:
            raise StopTraining(StopReason.PRUNED) from None
