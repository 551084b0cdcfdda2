"""The sweep's last phase, in the sweeper process once the workers are done.

The best trial's config -> ``best_config.yaml``, the results file, the best trial's learning
curves, confusion matrix and servable model (made for the best trial only, so trials stay
cheap), trial runs reconciled with Optuna, and the parent run's summary, plots and status.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from optuna.trial import FrozenTrial

from nnexp.contract import (
    BEST_CONFIG_FILE,
    MODEL_PATH_ATTR,
    NOTE_TAG,
    OVERRIDES_ATTR,
    RESULTS_FILE,
    RUN_ID_ATTR,
    STUDY_BEST_MODEL,
    SWEEP_DIRECTION_TAG,
    SWEEP_METRIC_TAG,
    SWEEP_N_TRIALS_TAG,
    TRIAL_DIR_ATTR,
)
from nnexp.search.context import SweepContext
from nnexp.search.lines import describe
from nnexp.search.plots import study_plots
from nnexp.search.results import (
    SweepSummary,
    _plain,
    study_best,
    study_directions,
    trust_lines,
    write_results,
)
from nnexp.search.runs import SweepRuns

log = logging.getLogger(__name__)


def best_config(best: FrozenTrial, recompose: Any) -> tuple[Any, str | None]:
    """(config, YAML) of the best trial: the ``config.yaml`` its worker wrote, else composed
    again from its overrides with ``recompose(overrides)``; (None, None) when neither works."""
    trial_dir = best.user_attrs.get(TRIAL_DIR_ATTR)
    trial_cfg = Path(trial_dir or "") / "config.yaml"
    if trial_dir and trial_cfg.exists():
        text = trial_cfg.read_text()
        return OmegaConf.create(text), text
    try:
        cfg = recompose(list(best.user_attrs.get(OVERRIDES_ATTR, [])))
        return cfg, OmegaConf.to_yaml(cfg, resolve=True)
    except Exception as exc:  # noqa: BLE001 - the results file matters more
        log.warning("cannot rebuild the best config: %s", exc)
        return None, None


def finish(
    study: Any, ctx: SweepContext, recompose: Any, status: str, confirmation: Any = None
) -> SweepSummary:
    """Results files, parent run summary, best trial's plots and servable model.

    With a ``confirmation`` (:class:`nnexp.search.confirmation.Confirmation`) that chose a
    trial, that trial is the sweep's best (its config, its servable model)."""
    sweep_dir, launch_cwd = Path(ctx.sweep_dir), Path(ctx.launch_cwd)
    best = study_best(study)
    chosen = getattr(getattr(confirmation, "chosen", None), "trial", None)
    if chosen is not None:
        best = next(t for t in study.get_trials(deepcopy=False) if t.number == chosen)
    best_cfg, best_text = best_config(best, recompose) if best is not None else (None, None)
    summary = write_results(
        study,
        sweep_dir,
        metric=ctx.metric,
        storage_url=ctx.storage_url,
        best_config_text=best_text,
        best=best,
        confirmation=confirmation,
        ledger=ctx.budget_key is not None,
    )
    if not (ctx.tracking_uri and ctx.parent_run_id):
        return summary
    runs = SweepRuns(ctx.tracking_uri, ctx.experiment_id, ctx.study_name, ctx.parent_run_id)
    gone = best_run_gone(runs, summary)
    done = study.user_attrs.get(STUDY_BEST_MODEL) or {}
    if gone:
        pass  # no run to log the model on (a lost store): best_lines says so
    elif best is not None and done.get("trial") == best.number:
        summary.model_uri = done.get("uri")  # a resumed sweep without a new best
    elif best is not None and best_cfg is not None and ctx.task_kind == "nnexp":
        try:
            summary.model_uri = finish_best_trial(ctx.tracking_uri, best, best_cfg, launch_cwd)
            study.set_user_attr(STUDY_BEST_MODEL, {"trial": best.number, "uri": summary.model_uri})
        except Exception as exc:  # noqa: BLE001
            log.warning("best trial's model/plots not logged: %s", exc)
    if best is None and not summary.pareto and status == "FINISHED":
        status = "FAILED"
    try:
        runs.reconcile(study)
    except Exception as exc:  # noqa: BLE001 - the summary matters more
        log.warning("could not reconcile trial runs with Optuna: %s", exc)
    record_parent(
        runs, ctx.parent_run_id, study, summary, metric=ctx.metric, sweep_dir=sweep_dir, status=status
    )
    return summary


def best_run_gone(runs: SweepRuns, summary: SweepSummary) -> bool:
    """True (and ``summary.best_run_id`` moved to ``best_run_gone``) when the best trial's run
    is not in the tracking store any more (a deleted or replaced store): no run id that does
    not exist is printed or tagged."""
    run_id = summary.best_run_id
    try:
        if not run_id or runs.run_exists(run_id):
            return False
    except Exception as exc:  # noqa: BLE001 - unknown: keep the id, the summary matters more
        log.warning("cannot check the best trial's run %s: %s", run_id, exc)
        return False
    summary.best_run_id, summary.best_run_gone = None, run_id
    return True


def record_parent(
    runs: SweepRuns,
    parent_run_id: str,
    study: Any,
    summary: SweepSummary,
    *,
    metric: str,
    sweep_dir: Path,
    status: str = "FINISHED",
) -> None:
    """Best value/params/run id, state counts, plots and the results files on the parent run."""
    from nnexp.tracking import sweep_runs

    direction = "/".join(study_directions(study))
    trials = study.get_trials(deepcopy=False)
    experiment_id = sweep_runs.run_experiment(runs.client, parent_run_id)
    note = describe(summary, metric, direction, experiment_id=experiment_id, trials=trials)
    note += trust_note(summary)
    tags: dict[str, Any] = {
        NOTE_TAG: note,
        SWEEP_N_TRIALS_TAG: summary.n_trials,
        SWEEP_METRIC_TAG: metric,
        SWEEP_DIRECTION_TAG: direction,
    }
    tags.update({f"sweep.trials.{k.lower()}": v for k, v in summary.counts.items()})
    metrics = {"n_trials": float(summary.n_trials)}
    metrics.update({f"n_{k.lower()}": float(v) for k, v in summary.counts.items()})
    if summary.best_number is not None:
        tags.update({f"best.{k.lstrip('+')}": v for k, v in summary.best_params.items()})  # "+w": key w
        tags["best.trial"] = summary.best_number
        if summary.best_run_id:
            tags["best.run_id"] = summary.best_run_id
        metrics["best_value"] = float(summary.best_value)  # type: ignore[arg-type]
        metrics[f"best_{metric}"] = float(summary.best_value)  # type: ignore[arg-type]
    if summary.pareto:
        tags["pareto.trials"] = ",".join(str(t.number) for t in summary.pareto)
        metrics["pareto_size"] = float(len(summary.pareto))
    metrics.update(trust_metrics(summary))
    if summary.confirmation is not None:
        metrics.update(summary.confirmation.metrics(metric))
    with tempfile.TemporaryDirectory(prefix="nnexp-sweep-") as tmp:
        root = Path(tmp)
        study_plots(study, root / "plots")
        for name in (RESULTS_FILE, BEST_CONFIG_FILE):
            if (sweep_dir / name).exists():
                (root / name).write_bytes((sweep_dir / name).read_bytes())
        (root / "trials.json").write_text(json.dumps(trials_json(trials), indent=1, default=str))
        sweep_runs.log_summary(
            runs.client,
            parent_run_id,
            tags=tags,
            metrics=metrics,
            step=summary.n_trials,
            artifacts=str(root),
        )
    runs.end_parent(parent_run_id, status)


def trust_metrics(summary: SweepSummary) -> dict[str, float]:
    """The parent run's metrics for the winner's test score (``best_test_accuracy``, ...) and
    the pruning ledger (``epochs_run``, ``epochs_budget``, ``compute_saved_pct``)."""
    from nnexp.search.winner import parent_metrics

    metrics = parent_metrics(summary.best_test)
    if summary.ledger is not None:
        metrics.update(summary.ledger.metrics())
    return metrics


def trust_note(summary: SweepSummary) -> str:
    """The parent run's description, continued: the winner's test score and the ledger."""
    text = [line.removeprefix("[sweep] ") for line in trust_lines(summary)]
    note = "".join(f"\n\n{line[0].upper()}{line[1:]}." for line in text)
    c = summary.confirmation
    if c is not None:  # the K confirmed trials: mean ± std over their new seeds, per seed
        note += f"\n\nConfirmation ({c.seeds} new seed(s) each, study `{c.study}`):\n\n" + c.table(
            summary.metric
        )
    return note


def trials_json(trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """Every trial as plain data (``trials.json`` on the parent run)."""

    def when(t: Any) -> str | None:
        return t.isoformat() if t else None

    return [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.values[0] if t.values and len(t.values) == 1 else None,
            "values": t.values,  # one per objective (multi-objective studies)
            "params": _plain(t.params),
            "user_attrs": t.user_attrs,
            "datetime_start": when(t.datetime_start),
            "datetime_complete": when(t.datetime_complete),
        }
        for t in trials
    ]


def finish_best_trial(tracking_uri: str, best: FrozenTrial, best_cfg: Any, launch_cwd: Path) -> str | None:
    """Once, for the best trial: learning curves + confusion matrix on its run, servable model.

    Returns the model URI (None when the weights are missing).
    """
    import numpy as np

    from nnexp.nn import MLP
    from nnexp.tracking.plots import confusion_matrix_png, learning_curves
    from nnexp.tracking.sweep_runs import log_best_trial
    from nnexp.train.datasets import load_config_dataset

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run_id = best.user_attrs.get(RUN_ID_ATTR)
    model_path = best.user_attrs.get(MODEL_PATH_ATTR)
    trial_dir = best.user_attrs.get(TRIAL_DIR_ATTR)
    if not run_id or not model_path or not Path(model_path).exists():
        log.warning("best trial %d has no weights or run; no servable model logged", best.number)
        return None
    ds = load_config_dataset(best_cfg, launch_cwd)
    model = MLP.load(model_path)
    with tempfile.TemporaryDirectory(prefix="nnexp-best-") as tmp:
        root = Path(tmp)
        history_file = Path(trial_dir or "") / "history.json"
        if trial_dir and history_file.exists():
            history = json.loads(history_file.read_text())
            best_epoch = getattr(model, "best_epoch_", None)
            learning_curves(history, root / "learning_curves.png", best_epoch=best_epoch)
        if ds.task == "classification" and len(ds.y_test):
            confusion_matrix_png(
                ds.y_test,
                np.asarray(model.predict(ds.X_test)),
                root / "confusion_matrix.png",
                class_names=getattr(ds, "class_names", None),
            )
        plots = str(root) if any(root.iterdir()) else None
        return log_best_trial(tracking_uri, run_id, plots, model_path, ds.X_train)
