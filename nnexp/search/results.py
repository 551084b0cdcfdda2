"""End of a sweep: the best trial, ``optimization_results.yaml``, the parent-run summary, plots.

Everything here runs once, in the sweeper process, after the workers are done: the Optuna
plots (matplotlib, no plotly), the best trial's learning curves and confusion matrix, and its
servable model are made for the best trial only, so trials stay cheap.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nnexp.search import runs

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"
BEST_CONFIG_FILE = "best_config.yaml"
PLOTS = (
    "optimization_history",
    "param_importances",
    "parallel_coordinate",
    "intermediate_values",
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
    results_file: Path | None = None
    best_config_file: Path | None = None
    model_uri: str | None = None
    fail_reasons: list[str] = field(default_factory=list)


def state_counts(trials: list[FrozenTrial]) -> dict[str, int]:
    """Trials per state name, e.g. ``{"COMPLETE": 7, "PRUNED": 2, "FAIL": 1}``."""
    return dict(Counter(t.state.name for t in trials))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best COMPLETE trial, or None when no trial completed."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None
    ]
    if not done:
        return None
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return (max if maximize else min)(done, key=lambda t: t.value)


def write_results(
    study: optuna.Study,
    sweep_dir: Path,
    *,
    metric: str,
    storage_url: str,
    best_config_text: str | None,
) -> SweepSummary:
    """Write ``optimization_results.yaml`` (and ``best_config.yaml``) into ``sweep_dir``."""
    from omegaconf import OmegaConf

    trials = study.get_trials(deepcopy=False)
    counts = state_counts(trials)
    best = best_trial(study)
    summary = SweepSummary(
        study_name=study.study_name, n_trials=len(trials), counts=counts
    )
    summary.fail_reasons = [
        f"trial {t.number}: {t.user_attrs.get('fail_reason', 'unknown')}"
        for t in trials
        if t.state == TrialState.FAIL
    ]
    data: dict[str, Any] = {
        "name": "nnexp",
        "study_name": study.study_name,
        "storage": _mask(storage_url),
        "metric": metric,
        "direction": study.direction.name.lower(),
        "n_trials": len(trials),
        "states": counts,
    }
    if best is not None:
        summary.best_number, summary.best_value = best.number, float(best.value)
        summary.best_params = dict(best.params)
        summary.best_run_id = best.user_attrs.get("mlflow_run_id")
        data.update(
            best_params=_plain(best.params),
            best_value=float(best.value),
            best_trial=best.number,
            best_mlflow_run_id=summary.best_run_id,
            best_overrides=list(best.user_attrs.get("overrides", [])),
            best_trial_dir=best.user_attrs.get("trial_dir"),
            best_test_metrics=best.user_attrs.get("test_metrics", {}),
        )
    sweep_dir.mkdir(parents=True, exist_ok=True)
    summary.results_file = sweep_dir / RESULTS_FILE
    summary.results_file.write_text(OmegaConf.to_yaml(OmegaConf.create(data)))
    if best is not None and best_config_text:
        summary.best_config_file = sweep_dir / BEST_CONFIG_FILE
        summary.best_config_file.write_text(best_config_text)
    return summary


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}


def _mask(url: str) -> str:
    from nnexp.tracking.masking import mask_secrets

    return mask_secrets(url)


def study_plots(study: optuna.Study, out_dir: Path) -> list[Path]:
    """Optuna's four plots as PNGs (matplotlib backend); plots that cannot be drawn are skipped."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    makers: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "parallel_coordinate": ovm.plot_parallel_coordinate,
        "intermediate_values": ovm.plot_intermediate_values,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return written  # every plot needs a completed trial
    for name in PLOTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = makers[name](study)
            fig = ax.flat[0].figure if hasattr(ax, "flat") else ax.figure
            fig.set_size_inches(10, 6)
            fig.tight_layout()
            path = out_dir / f"{name}.png"
            fig.savefig(path, dpi=100)
            written.append(path)
        except Exception as exc:  # noqa: BLE001 - e.g. too few trials for importances
            log.info("plot %s skipped: %s", name, exc)
        finally:
            plt.close("all")
    return written


STATE_WORDS = {"COMPLETE": "completed", "PRUNED": "pruned", "FAIL": "failed"}


def _run_link(text: str, run_id: str | None, experiment_id: str | None) -> str:
    from nnexp.tracking.links import run_link

    return run_link(text, run_id, experiment_id)


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
    order = ("COMPLETE", "PRUNED", "FAIL")
    states = sorted(
        summary.counts, key=lambda k: (order.index(k) if k in order else 9, k)
    )
    counted = ", ".join(
        f"{summary.counts[k]} {STATE_WORDS.get(k, k.lower())}" for k in states
    )
    lines = [
        (
            f"**Sweep `{summary.study_name}`**: {summary.n_trials} trials "
            f"({counted or 'none'}), {direction} `{metric}`."
        ),
    ]
    if summary.best_number is not None:
        best = _run_link(
            f"trial {summary.best_number}", summary.best_run_id, experiment_id
        )
        lines += [
            "",
            f"**Best**: {best}, `{metric}` = {summary.best_value:.6g}",
            "",
        ]
        lines += [f"- `{k}` = {_fmt(v)}" for k, v in summary.best_params.items()]
    done = [
        t
        for t in trials or []
        if t.state == TrialState.COMPLETE and t.value is not None
    ]
    if len(done) > 1:
        done.sort(key=lambda t: t.value, reverse=direction == "maximize")
        keys = sorted({k for t in done for k in t.params})
        lines += [
            "",
            f"Top {min(top, len(done))} of {len(done)} completed trials:",
            "",
            "| trial | " + metric + " | " + " | ".join(keys) + " |",
            "|---" * (len(keys) + 2) + "|",
        ]
        for t in done[:top]:
            link = _run_link(
                str(t.number), t.user_attrs.get("mlflow_run_id"), experiment_id
            )
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


def record_parent(
    tracking_uri: str,
    parent_run_id: str,
    study: optuna.Study,
    summary: SweepSummary,
    *,
    metric: str,
    sweep_dir: Path,
    status: str = "FINISHED",
) -> None:
    """Best value/params/run id, state counts, plots and the results files on the parent run."""
    cl = runs.client(tracking_uri)
    direction = study.direction.name.lower()
    experiment_id = cl.get_run(parent_run_id).info.experiment_id
    tags: dict[str, Any] = {
        "mlflow.note.content": describe(
            summary,
            metric,
            direction,
            experiment_id=experiment_id,
            trials=study.get_trials(deepcopy=False),
        ),
        "sweep.n_trials": summary.n_trials,
        "sweep.metric": metric,
        "sweep.direction": direction,
    }
    tags.update({f"sweep.trials.{k.lower()}": v for k, v in summary.counts.items()})
    metrics = {"n_trials": float(summary.n_trials)}
    metrics.update({f"n_{k.lower()}": float(v) for k, v in summary.counts.items()})
    if summary.best_number is not None:
        tags.update({f"best.{k}": v for k, v in summary.best_params.items()})
        tags["best.trial"] = summary.best_number
        if summary.best_run_id:
            tags["best.run_id"] = summary.best_run_id
        metrics["best_value"] = float(summary.best_value)  # type: ignore[arg-type]
        metrics[f"best_{metric}"] = float(summary.best_value)  # type: ignore[arg-type]
    runs.set_tags(cl, parent_run_id, tags)
    import time

    from mlflow.entities import Metric

    ts = int(time.time() * 1000)
    cl.log_batch(
        parent_run_id,
        metrics=[
            Metric(k, v, ts, summary.n_trials)
            for k, v in metrics.items()
            if math.isfinite(v)
        ],
    )
    with tempfile.TemporaryDirectory(prefix="nnexp-sweep-") as tmp:
        root = Path(tmp)
        study_plots(study, root / "plots")
        for name in (RESULTS_FILE, BEST_CONFIG_FILE):
            if (sweep_dir / name).exists():
                shutil.copy(sweep_dir / name, root / name)
        trials_json = [
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": _plain(t.params),
                "user_attrs": t.user_attrs,
                "datetime_start": t.datetime_start.isoformat()
                if t.datetime_start
                else None,
                "datetime_complete": t.datetime_complete.isoformat()
                if t.datetime_complete
                else None,
            }
            for t in study.get_trials(deepcopy=False)
        ]
        (root / "trials.json").write_text(
            json.dumps(trials_json, indent=1, default=str)
        )
        cl.log_artifacts(parent_run_id, str(root))
    cl.set_terminated(parent_run_id, status=status)


def finish_best_trial(
    tracking_uri: str, best: FrozenTrial, best_cfg: Any, launch_cwd: Path
) -> str | None:
    """Once, for the best trial: learning curves + confusion matrix on its run, servable model.

    Returns the model URI (None when the weights are missing).
    """
    import numpy as np

    from nnexp.config.to_model import dataset_kwargs
    from nnexp.data import load_dataset
    from nnexp.nn import MLP
    from nnexp.tracking import log_servable_model
    from nnexp.tracking.plots import confusion_matrix_png, learning_curves

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run_id = best.user_attrs.get("mlflow_run_id")
    model_path = best.user_attrs.get("model_path")
    trial_dir = best.user_attrs.get("trial_dir")
    if not run_id or not model_path or not Path(model_path).exists():
        log.warning(
            "best trial %d has no weights or run; no servable model logged", best.number
        )
        return None
    kw = dataset_kwargs(best_cfg)
    if kw.get("data_dir") is not None and not Path(kw["data_dir"]).is_absolute():
        kw["data_dir"] = str(launch_cwd / kw["data_dir"])
    ds = load_dataset(**kw)
    model = MLP.load(model_path)
    cl = runs.client(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="nnexp-best-") as tmp:
        root = Path(tmp)
        history_file = Path(trial_dir or "") / "history.json"
        if trial_dir and history_file.exists():
            history = json.loads(history_file.read_text())
            learning_curves(
                history,
                root / "learning_curves.png",
                best_epoch=getattr(model, "best_epoch_", None),
            )
        if ds.task == "classification" and len(ds.y_test):
            confusion_matrix_png(
                ds.y_test,
                np.asarray(model.predict(ds.X_test)),
                root / "confusion_matrix.png",
                class_names=getattr(ds, "class_names", None),
            )
        if any(root.iterdir()):
            cl.log_artifacts(run_id, str(root), "plots")
    uri = log_servable_model(run_id, model_path, ds.X_train, tracking_uri=tracking_uri)
    runs.set_tags(cl, run_id, {"nnexp.best_trial": "true", "nnexp.model_uri": uri})
    return uri
