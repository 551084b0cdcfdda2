"""Audit a sweep's pruning: re-train pruned trials to their full budget, count false prunes.

A pruned trial was stopped because its learning curve was behind the others'; the audit asks
whether that was right. It re-trains a seeded sample of the trials the pruner stopped (diverged
trials are left out: they would diverge again) from their recorded config and seed, without
pruning, to their full ``trainer.epochs`` (early stopping applies, as it would have), and
counts those whose objective beats the study's best: the false-prune rate.

Recorded in MLflow as one ``audit-<study>`` run under the sweep's parent run (``nnexp.role=audit``;
metrics ``audited``, ``false_prunes``, ``false_prune_rate``; a table in its description), with the
re-trained trials as its child runs (``nnexp.audit_of=<the pruned trial's run>``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial

from nnexp.contract import (
    AUDIT_OF_TAG,
    NOTE_TAG,
    PRUNED_AT_ATTR,
    ROLE_AUDIT,
    ROLE_TAG,
    RUN_ID_ATTR,
    STUDY_PARENT_RUN,
    STUDY_TAG,
    TRIAL_TAG,
)
from nnexp.nn.callbacks import StopReason
from nnexp.repro.errors import Refusal


@dataclass
class AuditedTrial:
    """One pruned trial re-trained to its full budget."""

    number: int
    pruned_at: int | None
    pruned_value: float | None  #: the value it had when pruned (its last reported one)
    full_value: float  #: its objective after the full budget
    beats_best: bool
    run_id: str


@dataclass
class Audit:
    """What ``nnexp audit`` found."""

    study: str
    metric: str
    direction: str
    best_number: int
    best_value: float
    n_pruned: int  #: trials the pruner stopped (the population sampled from)
    trials: list[AuditedTrial] = field(default_factory=list)
    run_id: str | None = None

    @property
    def false_prunes(self) -> int:
        """Audited trials that would have beaten the best."""
        return sum(t.beats_best for t in self.trials)

    @property
    def rate(self) -> float:
        """False prunes / audited trials (0 when none was audited)."""
        return self.false_prunes / len(self.trials) if self.trials else 0.0

    def metrics(self) -> dict:
        """The audit run's metrics."""
        return {
            "audited": float(len(self.trials)),
            "false_prunes": float(self.false_prunes),
            "false_prune_rate": self.rate,
        }

    def summary(self) -> str:
        """``false prunes: 1 of 3 audited pruned trials (33.3%) would have beaten trial 4 ...``."""
        return (
            f"false prunes: {self.false_prunes} of {len(self.trials)} audited pruned trials "
            f"({100 * self.rate:.1f}%) would have beaten the best, trial {self.best_number} "
            f"({self.metric}={self.best_value:.6g})"
        )

    def note(self) -> str:
        """The audit run's description: the verdict and a table of the audited trials."""
        lines = [
            f"**Pruning audit of sweep `{self.study}`**: {self.summary()}; sampled "
            f"{len(self.trials)} of {self.n_pruned} pruned trials.",
            "",
            f"| trial | pruned at | value when pruned | full-budget {self.metric} | beats best |",
            "|---|---|---|---|---|",
        ]
        for t in self.trials:
            when = "-" if t.pruned_value is None else f"{t.pruned_value:.4g}"
            lines.append(
                f"| {t.number} | {t.pruned_at} | {when} | {t.full_value:.4g} | "
                f"{'yes' if t.beats_best else 'no'} |"
            )
        return "\n".join(lines)


def pruned_sample(trials: list[FrozenTrial], k: int, seed: int) -> list[FrozenTrial]:
    """``k`` of the trials the pruner stopped (with a run to re-train from), drawn with
    ``seed``, in trial order."""
    from nnexp.search.ledger import pruned_by_pruner

    pool = [t for t in trials if pruned_by_pruner(t) and t.user_attrs.get(RUN_ID_ATTR)]
    if len(pool) <= k:
        return pool
    picked = np.random.default_rng(seed).choice(len(pool), size=k, replace=False)
    return [pool[i] for i in sorted(int(i) for i in picked)]


def beats(value: float, best: float, direction: str) -> bool:
    """Whether ``value`` is strictly better than ``best`` (NaN never is)."""
    if not math.isfinite(value):
        return False
    return value > best if direction == "maximize" else value < best


def _sample(study: Any, k: int, seed: int) -> tuple[list[Any], Any, list[Any], str]:
    """``(trials, best, sample, parent run id)``: the study's trials, its best trial, ``k``
    pruned trials to audit; refuses a study with nothing to compare, audit or record under."""
    from nnexp.search import state_counts, study_best

    if k < 1:
        raise Refusal(f"--sample must be >= 1, got {k}")
    trials = study.get_trials(deepcopy=False)
    best, name = study_best(study), study.study_name
    if best is None:
        raise Refusal(f"study {name!r} has no COMPLETE trial to compare against")
    sample = pruned_sample(trials, k, seed)
    if not sample:
        counts = ", ".join(f"{s} {n}" for s, n in sorted(state_counts(trials).items()))
        raise Refusal(f"study {name!r} has no trial stopped by the pruner to audit ({counts})")
    parent = study.user_attrs.get(STUDY_PARENT_RUN)
    if not parent:
        raise Refusal(f"study {name!r} has no MLflow parent run (it ran without tracking)")
    return trials, best, sample, parent


def _retrain(
    t: Any, run: Any, result: Audit, tracking_uri: str, out_dir: Path, progress: bool
) -> tuple[AuditedTrial, int]:
    """Train pruned trial ``t`` (recorded as ``run``) to its full budget under the audit run;
    the audited trial and the epochs it ran."""
    from nnexp.repro.reproduce import prepare_config
    from nnexp.train.trainer import best_of, run_training

    cfg = prepare_config(run, tracking_uri, out_dir / f"trial_{t.number}", progress)
    trained = run_training(
        cfg,
        parent_run_id=result.run_id,
        run_name=f"audit-trial-{t.number}",
        extra_tags={
            ROLE_TAG: ROLE_AUDIT,
            STUDY_TAG: result.study,
            TRIAL_TAG: t.number,
            AUDIT_OF_TAG: run.run_id,
        },
        log_model=False,
    )
    mode = "max" if result.direction == "maximize" else "min"
    value = float(best_of(trained.history.get(result.metric, []), mode))
    item = AuditedTrial(
        t.number,
        t.user_attrs.get(PRUNED_AT_ATTR),
        t.value,
        value,
        beats(value, result.best_value, result.direction),
        str(trained.run_id),
    )
    return item, trained.epochs_run


def app_metric(tracking_uri: str, parent: str) -> str:
    """The metric an app's sweep pruned on (its parent run's ``sweep.metric`` tag)."""
    from nnexp.contract import SWEEP_METRIC_TAG
    from nnexp.search.task import APP_METRIC
    from nnexp.tracking.queries import run_tags

    return str(run_tags(tracking_uri, parent).get(SWEEP_METRIC_TAG) or APP_METRIC)


def _rerun_app(study: Any, t: Any, result: Audit, tracking_uri: str) -> tuple[AuditedTrial, int]:
    """Pruned trial ``t`` of a Hydra app's study, rerun without pruning as a child of the audit
    run: its task function on its recorded config (:mod:`nnexp.repro.app`)."""
    from nnexp.contract import STUDY_APP
    from nnexp.repro.app import load_task_function, trial_config
    from nnexp.search.session import TrialSession, active
    from nnexp.search.task import AppResult, app_objective
    from nnexp.tracking.active import trial_run
    from nnexp.tracking.queries import read_run

    fn = load_task_function(dict(study.user_attrs[STUDY_APP]))
    session = TrialSession(None, result.metric, prune=False)
    tags = {ROLE_TAG: ROLE_AUDIT, STUDY_TAG: result.study, TRIAL_TAG: t.number}
    if t.user_attrs.get(RUN_ID_ATTR):
        tags[AUDIT_OF_TAG] = t.user_attrs[RUN_ID_ATTR]
    record = read_run(tracking_uri, str(result.run_id))
    assert record is not None, "the audit run was created above"
    with trial_run(
        tracking_uri,
        record.experiment_id,
        parent_run_id=result.run_id,
        run_name=f"audit-trial-{t.number}",
        tags=tags,
        params=dict(t.params),
    ) as run:
        session.log_step = run.log_step
        with active(session):
            value = fn(trial_config(t))
    done = AppResult(
        value=value, stop_reason=StopReason.COMPLETED, history=session.history, epochs_run=len(session.steps)
    )
    full = app_objective(done, result.metric, result.direction)
    item = AuditedTrial(
        t.number,
        t.user_attrs.get(PRUNED_AT_ATTR),
        t.value,
        full,
        beats(full, result.best_value, result.direction),
        run.run_id,
    )
    return item, done.epochs_run


def audit(
    study: Any,
    k: int,
    *,
    tracking_uri: str,
    out_dir: Path,
    seed: int = 0,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> Audit:
    """Re-train ``k`` pruned trials of ``study`` to their full budget; record the audit run."""
    from nnexp.repro.app import is_app_study
    from nnexp.repro.reproduce import sweep_metric
    from nnexp.repro.source import fetch_run
    from nnexp.search.ledger import pruned_by_pruner
    from nnexp.tracking.queries import finish_run, start_run_under

    trials, best, sample, parent = _sample(study, k, seed)
    name = study.study_name
    direction = study.direction.name.lower()
    app = is_app_study(study)
    first = None if app else fetch_run(tracking_uri, sample[0].user_attrs[RUN_ID_ATTR])
    metric = app_metric(tracking_uri, parent) if app else sweep_metric(first, parent)
    result = Audit(
        name, metric, direction, best.number, float(best.value), sum(pruned_by_pruner(t) for t in trials)
    )
    result.run_id = start_run_under(
        tracking_uri, parent, f"audit-{name}", {ROLE_TAG: ROLE_AUDIT, STUDY_TAG: name}
    )
    echo(
        f"auditing {len(sample)} of {result.n_pruned} pruned trials of study {name!r} "
        f"(best: trial {best.number}, {metric}={best.value:.6g})"
    )
    status = "FINISHED"
    try:
        for t in sample:
            if app:
                item, epochs_run = _rerun_app(study, t, result, tracking_uri)
            else:
                run = first if t is sample[0] else fetch_run(tracking_uri, t.user_attrs[RUN_ID_ATTR])
                item, epochs_run = _retrain(t, run, result, tracking_uri, out_dir, progress)
            result.trials.append(item)
            echo(
                f"trial {t.number} pruned at epoch {item.pruned_at}: full budget {metric}="
                f"{item.full_value:.6g} ({epochs_run} epochs) -> "
                + ("beats the best: a false prune" if item.beats_best else "below the best")
            )
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        raise
    finally:
        finish_run(
            tracking_uri,
            result.run_id,
            metrics=result.metrics(),
            tags={NOTE_TAG: result.note()},
            status=status,
        )
    return result
