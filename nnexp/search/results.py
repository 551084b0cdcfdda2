"""A sweep's results: trials by state, the best trial, ``optimization_results.yaml``.

:func:`best_trial` is the one rule for "the best trial" (the sweep, ``nnexp studies``,
``nnexp best``, ``nnexp reproduce`` and each trial line use it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import (
    BEST_CONFIG_FILE,
    FAIL_REASON_ATTR,
    OVERRIDES_ATTR,
    RESULTS_FILE,
    RUN_ID_ATTR,
    TEST_METRICS_ATTR,
    TRIAL_DIR_ATTR,
)


@dataclass
class SweepSummary:
    """What the sweep produced (also what ``sweep()`` returns)."""

    study_name: str
    n_trials: int
    counts: dict[str, int]
    best_number: int | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_run_id: str | None = None
    #: the best trial's run id when that run is gone from the tracking store (never printed as
    #: a run: ``best_run_id`` is then None)
    best_run_gone: str | None = None
    results_file: Path | None = None
    best_config_file: Path | None = None
    model_uri: str | None = None
    #: the best trial's test scores and its baseline's (``test_r2``, ``baseline_test_r2``, ...)
    best_test_metrics: dict[str, float] = field(default_factory=dict)
    fail_reasons: list[str] = field(default_factory=list)
    #: the best trial's headline test metrics (:mod:`nnexp.search.winner`)
    best_test: dict[str, float] = field(default_factory=dict)
    #: epochs run against the budget (:mod:`nnexp.search.ledger`)
    ledger: Any = None
    #: the top trials re-trained with new seeds (:class:`nnexp.search.confirmation.Confirmation`)
    confirmation: Any = None
    #: the objective's metric name
    metric: str = ""
    #: a multi-objective study's Pareto front (its best trials), best first by the first
    #: objective; empty for a single objective
    pareto: list[FrozenTrial] = field(default_factory=list)


def study_directions(study: optuna.Study) -> list[str]:
    """``["minimize"]``, or one direction per objective of a multi-objective study."""
    return [d.name.lower() for d in study.directions]


def pareto_front(study: optuna.Study) -> list[FrozenTrial]:
    """A multi-objective study's best trials (none can be improved in one objective without
    losing in another), ordered by the first objective; empty for a single objective."""
    dirs = study_directions(study)
    if len(dirs) < 2:
        return []
    front = study.best_trials
    return sorted(front, key=lambda t: t.values[0], reverse=dirs[0] == "maximize")


def state_counts(trials: list[FrozenTrial]) -> dict[str, int]:
    """Trials per state name, e.g. ``{"COMPLETE": 7, "PRUNED": 2, "FAIL": 1}``."""
    return dict(Counter(t.state.name for t in trials))


def ranked_trials(trials: Iterable[FrozenTrial], direction: Any) -> list[FrozenTrial]:
    """The COMPLETE trials of ``trials``, best first; ties keep their order (lower number first).

    ``direction``: ``maximize`` | ``minimize``, or an Optuna ``StudyDirection``.
    """
    done = [
        t for t in trials if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == 1
    ]
    maximize = str(getattr(direction, "name", direction)).lower() == "maximize"
    return sorted(done, key=lambda t: t.value, reverse=maximize)


def best_trial(trials: Iterable[FrozenTrial], direction: Any) -> FrozenTrial | None:
    """The best COMPLETE trial of ``trials`` (None when none completed)."""
    ranked = ranked_trials(trials, direction)
    return ranked[0] if ranked else None


def study_best(study: optuna.Study) -> FrozenTrial | None:
    """:func:`best_trial` of a whole study (None for a multi-objective one: see
    :func:`pareto_front`)."""
    if len(study.directions) > 1:
        return None
    return best_trial(study.get_trials(deepcopy=False), study.direction)


def write_results(
    study: optuna.Study,
    sweep_dir: Path,
    *,
    metric: str,
    storage_url: str,
    best_config_text: str | None,
    best: FrozenTrial | None = None,
    confirmation: Any = None,
    ledger: bool = True,
) -> SweepSummary:
    """Write ``optimization_results.yaml`` (and ``best_config.yaml``) into ``sweep_dir``.

    ``best``: the trial to report (default: :func:`best_trial`; the confirmed choice when the
    top trials were confirmed, whose ``confirmation`` section is written too); ``ledger``: the
    pruning ledger's section (trials that record an epoch budget)."""
    from omegaconf import OmegaConf

    from nnexp.search.lines import vs_baseline

    trials = study.get_trials(deepcopy=False)
    counts = state_counts(trials)
    directions = study_directions(study)
    best = best if best is not None else study_best(study)
    summary = SweepSummary(study_name=study.study_name, n_trials=len(trials), counts=counts, metric=metric)
    summary.confirmation = confirmation
    summary.fail_reasons = [
        f"trial {t.number}: {t.user_attrs.get(FAIL_REASON_ATTR, 'unknown')}"
        for t in trials
        if t.state == TrialState.FAIL
    ]
    data: dict[str, Any] = {
        "name": "nnexp",
        "study_name": study.study_name,
        "storage": _mask(storage_url),
        "metric": metric,
        "direction": "/".join(directions),
        "n_trials": len(trials),
        "states": counts,
    }
    if best is not None:
        summary.best_number, summary.best_value = best.number, float(best.value)
        summary.best_params = dict(best.params)
        summary.best_run_id = best.user_attrs.get(RUN_ID_ATTR)
        summary.best_test_metrics = dict(best.user_attrs.get(TEST_METRICS_ATTR, {}))
        data.update(
            best_params=_plain(best.params),
            best_value=float(best.value),
            best_trial=best.number,
            best_mlflow_run_id=summary.best_run_id,
            best_overrides=list(best.user_attrs.get(OVERRIDES_ATTR, [])),
            best_trial_dir=best.user_attrs.get(TRIAL_DIR_ATTR),
            best_test_metrics=summary.best_test_metrics,
        )
        versus = vs_baseline(summary.best_test_metrics)
        if versus:
            data["best_vs_baseline"] = versus
    summary.pareto = pareto_front(study)
    if summary.pareto:
        data["directions"] = directions
        data["pareto_front"] = [pareto_entry(t) for t in summary.pareto]
    data.update(trust_results(summary, trials, best, ledger))
    if confirmation is not None:
        data["confirmation"] = confirmation.results()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    summary.results_file = sweep_dir / RESULTS_FILE
    summary.results_file.write_text(OmegaConf.to_yaml(OmegaConf.create(data)))
    if best is not None and best_config_text:
        summary.best_config_file = sweep_dir / BEST_CONFIG_FILE
        summary.best_config_file.write_text(best_config_text)
    return summary


def pareto_entry(t: FrozenTrial) -> dict[str, Any]:
    """One trial of the Pareto front as the results file shows it."""
    return {
        "trial": t.number,
        "values": [float(v) for v in t.values],
        "params": _plain(t.params),
        "overrides": list(t.user_attrs.get(OVERRIDES_ATTR, [])),
        RUN_ID_ATTR: t.user_attrs.get(RUN_ID_ATTR),
    }


def trust_results(
    summary: SweepSummary, trials: list[FrozenTrial], best: FrozenTrial | None, ledger: bool = True
) -> dict[str, Any]:
    """The winner's test score and the pruning ledger: set on ``summary``, returned for the
    results file (``best_test_score``, ``pruning``)."""
    from nnexp.search.ledger import pruning_ledger
    from nnexp.search.winner import winner_test_metrics

    summary.best_test = winner_test_metrics(best)
    data: dict[str, Any] = {}
    if ledger:  # not for an app sweep without hydra.sweeper.budget_key: no budget to count
        summary.ledger = pruning_ledger(trials)
        data["pruning"] = summary.ledger.as_dict()
    if summary.best_test:
        data["best_test_score"] = dict(summary.best_test)
    return data


def trust_lines(summary: SweepSummary) -> list[str]:
    """The winner's test score and the pruning ledger, as printed after the best trial."""
    from nnexp.search.ledger import ledger_line
    from nnexp.search.lines import vs_baseline
    from nnexp.search.winner import score_line

    lines = [score_line(summary.best_number, summary.best_test, vs_baseline(summary.best_test_metrics))]
    if summary.confirmation is not None:
        lines += summary.confirmation.lines(summary.metric)
    if summary.ledger is not None:
        lines.append(ledger_line(summary.ledger))
    return [line for line in lines if line]


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}


def _mask(url: str) -> str:
    from nnexp.tracking.masking import mask_secrets

    return mask_secrets(url)
