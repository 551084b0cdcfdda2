"""What a sweep tells people: the line per finished trial, the sweep's lines, the parent run's
description.

The line per trial, e.g.

``[trial 7] COMPLETE value=0.9722 best=0.9750 (trial 3) 12.3s``
``[trial 8] PRUNED at epoch 4 value=0.8111 best=0.9750 (trial 3) 2.1s``
``[trial 9] PRUNED at epoch 3 diverged: non-finite loss at epoch 3 value=0.30 best=0.97 ...``
``[trial 10] FAIL RuntimeError: ... best=0.9750 (trial 3) 1.0s``
``[trial 2] COMPLETE value=3012.5 test_r2=0.4630 test_rmse=53.1000 best=2990.1 (trial 1) 1.4s``
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from optuna.trial import FrozenTrial

from nnexp.contract import RUN_ID_ATTR, EndState
from nnexp.tracking.links import open_run_hint, run_link

#: test scores a trial line shows when the trial has them (regression: R², RMSE)
TRIAL_LINE_SCORES = ("test_r2", "test_rmse")

if TYPE_CHECKING:
    from nnexp.search.results import SweepSummary


def format_number(value: float | None) -> str:
    """4 decimals, scientific below 1e-3, ``-`` for None (trial and status lines)."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def trial_line(
    number: int,
    state: str,
    value: float | None,
    best_value: float | None,
    best_number: int | None,
    elapsed_s: float,
    *,
    pruned_at: int | None = None,
    reason: str | None = None,
    n_trials: int | None = None,
    test_metrics: Mapping[str, float] | None = None,
    label: str | None = None,
) -> str:
    """Format the per-trial line (number, state, value, test R² and RMSE of a regression
    trial, best so far, elapsed seconds). ``label`` names a confirmation run instead
    (``[confirm-7 seed=2] ...``, no best so far: it is not a search trial)."""
    name = label or f"trial {number}" + (f"/{n_trials - 1}" if n_trials else "")
    head = f"[{name}] {state}"
    parts = [head]
    if pruned_at is not None:
        parts.append(f"at epoch {pruned_at}")
    if reason and state in (EndState.FAIL, EndState.PRUNED):  # a PRUNED trial's reason: it diverged
        short = reason.strip().splitlines()[0] if reason.strip() else reason
        parts.append(short[:120])
    if value is not None:
        parts.append(f"value={format_number(value)}")
    parts += [
        f"{k}={format_number(float(test_metrics[k]))}"
        for k in TRIAL_LINE_SCORES
        if test_metrics and k in test_metrics
    ]
    if not label:
        best = f"best={format_number(best_value)}" + (
            f" (trial {best_number})" if best_number is not None else ""
        )
        parts.append(best)
    parts.append(f"{elapsed_s:.1f}s")
    return " ".join(parts)


def print_line(line: str, stream: TextIO | None = None) -> None:
    """Print and flush at once (worker processes share the terminal with the sweeper)."""
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()


STATE_WORDS = {EndState.COMPLETE: "completed", EndState.PRUNED: "pruned", EndState.FAIL: "failed"}


def describe(
    summary: SweepSummary,
    metric: str,
    direction: str,
    *,
    experiment_id: str | None = None,
    trials: list[FrozenTrial] | None = None,
    top: int = 5,
) -> str:
    """Markdown note for the parent run (``mlflow.note.content``).

    The sweep in one line (trials by state, objective), the best trial with a link to its run
    and its params, the ``top`` completed trials as a table, and why trials failed.
    """
    order = (EndState.COMPLETE, EndState.PRUNED, EndState.FAIL)
    states = sorted(summary.counts, key=lambda k: (order.index(k) if k in order else 9, k))
    counted = ", ".join(f"{summary.counts[k]} {STATE_WORDS.get(k, k.lower())}" for k in states)
    lines = [
        (
            f"**Sweep `{summary.study_name}`**: {summary.n_trials} trials "
            f"({counted or 'none'}), {direction} `{metric}`."
        ),
    ]
    if summary.best_number is not None:
        best = run_link(f"trial {summary.best_number}", summary.best_run_id, experiment_id)
        lines += [
            "",
            f"**Best**: {best}, `{metric}` = {summary.best_value:.6g}",
            "",
        ]
        lines += [f"- `{k}` = {_fmt(v)}" for k, v in summary.best_params.items()]
    from nnexp.search.results import ranked_trials

    done = ranked_trials(trials or [], direction)
    if len(done) > 1:
        keys = sorted({k for t in done for k in t.params})
        lines += [
            "",
            f"Top {min(top, len(done))} of {len(done)} completed trials:",
            "",
            "| trial | " + metric + " | " + " | ".join(keys) + " |",
            "|---" * (len(keys) + 2) + "|",
        ]
        for t in done[:top]:
            link = run_link(str(t.number), t.user_attrs.get(RUN_ID_ATTR), experiment_id)
            cells = [link, f"{t.value:.4g}"] + [_fmt(t.params.get(k, "")) for k in keys]
            lines.append("| " + " | ".join(cells) + " |")
    if summary.fail_reasons:
        lines += ["", "Failures:", ""] + [f"- {r}" for r in summary.fail_reasons[:20]]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    """Params for people: floats to 3 significant digits."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def start_line(
    study_name: str,
    storage: str,
    *,
    n_existing: int,
    n_reaped: int,
    n_trials: int,
    direction: str,
    metric: str,
    n_jobs: int,
    other_parent: tuple[str, str] | None = None,
) -> str:
    """``[sweep] study 'digits' (<storage>): new; target 30 trials, maximize val_accuracy, ...``.

    ``other_parent``: (run id, storage) of the MLflow parent run of another study of the same
    name, beside which this study's parent run was created."""
    other = ""
    if other_parent is not None:
        other = (
            f"; its own MLflow parent run (the earlier parent run sweep-{study_name} "
            f"{other_parent[0]} belongs to another study of that name, in {other_parent[1]})"
        )
    return (
        f"[sweep] study {study_name!r} ({storage}): "
        + (f"resuming with {n_existing} trials recorded" if n_existing else "new")
        + (f", {n_reaped} stale trial(s) marked FAIL" if n_reaped else "")
        + f"; target {n_trials} trials, {direction} {metric}, {n_jobs} worker(s)"
        + other
    )


def workers_line(requested: int, used: int, remaining: int, cores: int) -> str | None:
    """Why the sweep runs fewer workers than ``hydra.sweeper.n_jobs`` asked, or more than the
    cores (None when neither): printed once at the start, so a cap is never silent."""
    why = []
    if used < requested:
        why.append(f"capped at {used}: only {remaining} trial(s) left to run")
    if used > cores:
        why.append(f"{used} workers share {cores} CPU core(s), so each trial runs slower")
    if not why:
        return None
    return f"[sweep] hydra.sweeper.n_jobs={requested} " + "; ".join(why)


def done_line(summary: SweepSummary, elapsed_s: float) -> str:
    """``[sweep] done in 12.3s: 6 trials finished (COMPLETE 4, PRUNED 2), 1 failed``: the
    finished trials are those that count towards ``n_trials``; any other state is named."""
    done = {k: v for k, v in summary.counts.items() if k in (EndState.COMPLETE, EndState.PRUNED)}
    counts = ", ".join(f"{k} {v}" for k, v in sorted(done.items())) or "none"
    line = f"[sweep] done in {elapsed_s:.1f}s: {sum(done.values())} trials finished ({counts})"
    if summary.counts.get(EndState.FAIL):
        line += f", {summary.counts['FAIL']} failed"
    rest = {
        k: v
        for k, v in summary.counts.items()
        if k not in (EndState.COMPLETE, EndState.PRUNED, EndState.FAIL)
    }
    return line + "".join(f", {v} {k}" for k, v in sorted(rest.items()))


def best_lines(
    summary: SweepSummary,
    metric: str,
    parent_run_id: str | None,
    tracking_uri: str | None = None,
    experiment_id: str | None = None,
) -> list[str]:
    """The lines printed when a sweep with a completed trial is done (with the parent run's
    address when the sweep is tracked); a multi-objective sweep's Pareto front instead of a best."""
    lines = [
        f"[sweep] best: trial {summary.best_number} {metric}={summary.best_value:.4f} "
        f"params {summary.best_params}"
        if not summary.pareto
        else f"[sweep] Pareto front: {len(summary.pareto)} trial(s)\n"
        + "\n".join(
            f"  trial {t.number} values {[round(float(v), 6) for v in t.values]} params {dict(t.params)}"
            for t in summary.pareto
        ),
        f"[sweep] results: {summary.results_file}"
        + (f", {summary.best_config_file}" if summary.best_config_file else ""),
    ]
    if summary.best_run_id:
        lines.append(f"[sweep] MLflow parent run {parent_run_id}, best child run {summary.best_run_id}")
    elif summary.best_run_gone:
        lines.append(
            f"[sweep] MLflow parent run {parent_run_id}; the best trial's run is gone from the "
            f"tracking store (deleted or replaced): rerun its params "
            f"(best_config.yaml) to get a run and a model"
        )
    if tracking_uri and experiment_id and parent_run_id:
        lines.append(f"[sweep] open it: {open_run_hint(tracking_uri, experiment_id, parent_run_id)}")
    return lines


def vs_baseline(test_metrics: Mapping[str, float]) -> str:
    """The best trial's test scores beside its baseline's
    (``test_r2 0.4630 vs baseline 0.4530 (ridge)  test_rmse ...``); ``""`` without both."""
    from nnexp.train.baseline import MODELS, format_vs_baseline

    task = "regression" if "test_r2" in test_metrics else "classification"
    return format_vs_baseline(test_metrics, MODELS[task])


#: loggers of Hydra's launchers (and nnexp's) whose INFO lines (``... is launching 1 jobs``,
#: ``#0 : <every override>``, credentials included) nnexp's start line replaces
LAUNCHER_LOGGERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher",
    "hydra_plugins.hydra_submitit_launcher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher",
    "hydra_plugins.nnexp_sweeper.nnexp_launcher",
)


def quiet_launchers() -> None:
    """Hydra's launchers log warnings and errors only: the sweep prints its own start line
    (overrides are never echoed: they may hold credentials)."""
    import logging

    for name in LAUNCHER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
