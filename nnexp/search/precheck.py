"""What every trial would trip on, checked once in the sweeper before any trial exists.

A missing or broken data file, a metric the task never reports, an early-stopping monitor the
data cannot give: each would fail every trial the same way (and, before this check, leave FAIL
trials behind). The sweeper loads the base config's dataset once (cheap for digits and CSV
files, a second or two for MNIST) and compares ``hydra.sweeper.metric`` with the per-epoch
record keys the task reports (:func:`nnexp.nn.callbacks.record_keys`). Problems raise
:class:`~nnexp.errors.SweepSettingError` (exit 2) with the message a single run gives.
"""

from __future__ import annotations

import os
from typing import Any

from nnexp.errors import SweepSettingError


def load_base_data(base_cfg: Any, launch_cwd: str | os.PathLike[str]) -> Any:
    """The dataset the base config names, loaded as a trial loads it; bad data -> exit 2."""
    from nnexp.errors import DataError
    from nnexp.train.datasets import load_config_dataset

    try:
        return load_config_dataset(base_cfg, launch_cwd)
    except DataError as exc:  # missing file, bad CSV, unknown column, bad split
        raise SweepSettingError(
            f"{exc}\n"
            "  every trial loads this data: fix it (or the data.* overrides) and run the "
            "same command again"
        ) from None


def reported_metrics(base_cfg: Any, ds: Any) -> tuple[str, frozenset[str]]:
    """(task, the per-epoch record keys a trial of ``base_cfg`` on ``ds`` reports)."""
    from nnexp.nn.callbacks import record_keys

    task = ds.task if str(base_cfg.model.task) == "auto" else str(base_cfg.model.task)
    x_val = getattr(ds, "X_val", None)
    has_val = (x_val is not None and len(x_val) > 0) or bool(base_cfg.trainer.early_stopping.enabled)
    return task, record_keys(task, has_val)


def check_metric(metric: str, task: str, available: frozenset[str], data: str) -> None:
    """Refuse a ``hydra.sweeper.metric`` that no epoch of this task reports."""
    if metric in available:
        return
    hint = " (val_accuracy needs a classification task)" if "accuracy" in metric else ""
    raise SweepSettingError(
        f"hydra.sweeper.metric={metric!r} is not reported by a {task} run on data={data}"
        f"{hint}; choose one of {', '.join(sorted(available))}"
    )


def precheck(base_cfg: Any, metric: str, ds: Any) -> None:
    """Check the metric and the early-stopping monitor against the base config's dataset ``ds``
    (:func:`load_base_data`, loaded once by the sweeper)."""
    from nnexp.config.validate import ConfigError
    from nnexp.errors import config_problems
    from nnexp.train.trainer import check_task  # the rule single runs apply

    task, available = reported_metrics(base_cfg, ds)
    check_metric(metric, task, available, str(base_cfg.data.name))
    try:
        check_task(base_cfg, task)
    except ConfigError as exc:
        raise SweepSettingError(config_problems(exc)) from None
