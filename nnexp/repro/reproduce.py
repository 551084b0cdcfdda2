"""Re-train a recorded run from scratch, link the new run to it, compare, optionally register.

The original's resolved config and seed are re-run through the same trainer as ``nnexp-train``
(``nnexp.train.trainer.run_training``), so the reproduction records everything a run records.
The new run carries ``nnexp.reproduction_of=<original run id>`` and a description linking the
original; the original gets ``nnexp.reproduced_by=<new run id>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from nnexp.contract import (
    NOTE_TAG,
    PARENT_RUN_TAG,
    REPRODUCED_BY_TAG,
    REPRODUCTION_TAG,
    ROLE_REPRODUCTION,
    ROLE_TAG,
    RUN_ID_ATTR,
    STUDY_PARENT_RUN,
    STUDY_TAG,
    SWEEP_METRIC_TAG,
    TRIAL_TAG,
)
from nnexp.repro.compare import (
    Comparison,
    Difference,
    data_differences,
    environment_differences,
)
from nnexp.repro.config import as_dictconfig, rerunnable
from nnexp.repro.errors import Refusal
from nnexp.repro.source import RecordedRun
from nnexp.tracking.queries import run_tags, set_run_tags


@dataclass
class Target:
    """What to reproduce: the original run and the value it is judged by."""

    run: RecordedRun
    metric: str  #: per-epoch metric whose best over the epochs is compared (``val_accuracy``)
    direction: str  #: ``maximize`` | ``minimize``
    value: float  #: the original's value (the trial's objective, else ``best_<metric>``)
    study: str | None = None
    trial: int | None = None

    @property
    def label(self) -> str:
        """``trial 3 of study 'digits' (run abc...)`` or ``run abc...``."""
        run = f"run {self.run.run_id}"
        return f"trial {self.trial} of study {self.study!r} ({run})" if self.study is not None else run


@dataclass
class Reproduction:
    """What ``reproduce`` did."""

    target: Target
    run_id: str
    experiment_id: str
    comparison: Comparison
    model_path: Path | None = None
    model_uri: str | None = None
    model_version: Any = None


def target_for_run(run: RecordedRun) -> Target:
    """Judge a plain run by its own ``best_<monitor>`` metric."""
    from nnexp.nn.early_stopping import resolve_mode

    metric = run.monitor
    mode = resolve_mode(
        metric, str(run.config.get("trainer", {}).get("early_stopping", {}).get("mode", "auto"))
    )
    key = f"best_{metric}"
    if key not in run.metrics:
        raise Refusal(f"MLflow run {run.run_id} has no {key} metric: it did not finish training")
    return Target(run, metric, "maximize" if mode == "max" else "minimize", float(run.metrics[key]))


def sweep_metric(run: RecordedRun, parent_run_id: str | None) -> str:
    """The metric the sweep optimised (its parent run's ``sweep.metric`` tag), else the monitor."""
    parent = parent_run_id or run.tags.get(PARENT_RUN_TAG)
    if parent:
        try:
            metric = run_tags(run.tracking_uri, parent).get(SWEEP_METRIC_TAG)
            if metric:
                return str(metric)
        except Exception:  # noqa: BLE001 - parent deleted: fall back
            pass
    return run.monitor


def prepare_config(run: RecordedRun, tracking_uri: str, out_dir: Path, progress: bool) -> DictConfig:
    """The original config, re-runnable, tracked in ``tracking_uri``, weights into ``out_dir``."""
    config = rerunnable(run.config, run.blas_threads())
    config["trainer"]["save_dir"] = str(out_dir)
    config["trainer"]["progress"] = bool(progress)
    tracking = config.setdefault("tracking", {})
    tracking.update(enabled=True, uri=tracking_uri, log_model=False, run_name=None)
    return as_dictconfig(config)


def load_data(cfg: DictConfig) -> Any:
    """The dataset ``cfg`` names, loaded as the trainer loads it (relative paths from the cwd)."""
    from nnexp.train.datasets import load_config_dataset

    return load_config_dataset(cfg, Path.cwd())


def check_data(run: RecordedRun, dataset: Any, force: bool) -> list[Difference]:
    """Differences between the data now and the original's; refuse on any unless ``force``."""
    diffs = data_differences(run.data_files(), run.data_sha256(), dataset.identity)
    if diffs and not force:
        lines = "\n  ".join(str(d) for d in diffs)
        raise Refusal(
            f"the data changed since run {run.run_id} was trained:\n  {lines}\n"
            "refusing to reproduce on other data; restore the original file(s), or pass --force "
            "to re-train anyway (the comparison then reports the difference)"
        )
    return diffs


def _note(target: Target, comparison: Comparison) -> str:
    orig = target.run
    from nnexp.tracking.links import run_link

    link = run_link(str(orig.run_name), orig.run_id, orig.experiment_id)
    what = f"trial {target.trial} of study `{target.study}`" if target.study is not None else "run"
    return "\n".join(
        [
            f"**Reproduction of {what}**: {link} (`{orig.run_id}`), re-trained from scratch with its "
            f"recorded config and seed {orig.seed}.",
            "",
            f"Verdict: **{comparison.verdict}**.",
            "",
            "```",
            comparison.report(),
            "```",
        ]
    )


def reproduce(
    target: Target,
    *,
    tracking_uri: str,
    out_dir: Path,
    tolerance: float = 0.0,
    force: bool = False,
    register: str | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Reproduction:
    """Re-train ``target.run``, record and link the new run, compare, and (``register``, only when
    the comparison passes) register the reproduced model as a new version of that name."""
    from nnexp.train.trainer import best_of, run_training

    orig = target.run
    cfg = prepare_config(orig, tracking_uri, out_dir, progress)
    try:
        dataset = load_data(cfg)
    except (OSError, ValueError) as exc:
        raise Refusal(f"cannot load the data of run {orig.run_id} ({cfg.data.name}): {exc}") from None
    data_diffs = check_data(orig, dataset, force)
    tags = {REPRODUCTION_TAG: orig.run_id, ROLE_TAG: ROLE_REPRODUCTION}
    if target.study is not None:
        tags.update({STUDY_TAG: target.study, TRIAL_TAG: str(target.trial)})
    echo(f"re-training {target.label} from scratch (seed {orig.seed})")
    result = run_training(cfg, run_name=f"reproduce-{orig.run_name}", extra_tags=tags, log_model=False)
    assert result.run_id is not None
    mode = "max" if target.direction == "maximize" else "min"
    value = best_of(result.history.get(target.metric, []), mode)
    new_tags = run_tags(tracking_uri, result.run_id)
    comparison = Comparison(
        metric=target.metric,
        original_value=float(target.value),
        reproduced_value=float(value) if math.isfinite(value) else float("nan"),
        original_weights=orig.weights_checksum(),
        reproduced_weights=result.model.weights_checksum() if result.model is not None else None,
        tolerance=float(tolerance),
        environment=environment_differences(orig.tags, new_tags),
        data=data_diffs,
    )
    set_run_tags(tracking_uri, result.run_id, {**comparison.as_tags(), NOTE_TAG: _note(target, comparison)})
    set_run_tags(orig.tracking_uri, orig.run_id, {REPRODUCED_BY_TAG: result.run_id})
    out = Reproduction(target, result.run_id, result.experiment_id or "", comparison, result.model_path)
    if register and comparison.ok:
        from nnexp.tracking.pyfunc import log_servable_model
        from nnexp.tracking.registry import register_model

        out.model_uri = log_servable_model(
            result.run_id, result.model, dataset.X_train, tracking_uri=tracking_uri
        )
        out.model_version = register_model(
            tracking_uri,
            out.model_uri,
            register,
            tags={
                REPRODUCTION_TAG: orig.run_id,
                "nnexp.run_id": result.run_id,
                "nnexp.verdict": comparison.verdict,
                "nnexp.weights_sha256": comparison.reproduced_weights,
                f"nnexp.{target.metric}": repr(comparison.reproduced_value),
                **({STUDY_TAG: target.study, TRIAL_TAG: str(target.trial)} if target.study else {}),
            },
            description=(
                f"Reproduction (run {result.run_id}) of {target.label}: {comparison.verdict}, "
                f"{target.metric}={comparison.reproduced_value!r}."
            ),
        )
    return out


def target_for_trial(study: Any, trial: Any, tracking_uri: str) -> Target:
    """Judge a sweep trial by its Optuna value and the metric its sweep optimised."""
    from nnexp.repro.source import fetch_run

    run_id = trial.user_attrs.get(RUN_ID_ATTR)
    if not run_id:
        raise Refusal(
            f"trial {trial.number} of study {study.study_name!r} has no MLflow run (the sweep ran "
            "with tracking.enabled=false): there is no recorded config to reproduce from"
        )
    run = fetch_run(tracking_uri, run_id)
    metric = sweep_metric(run, study.user_attrs.get(STUDY_PARENT_RUN))
    direction = study.direction.name.lower()
    return Target(run, metric, direction, float(trial.value), study.study_name, trial.number)
