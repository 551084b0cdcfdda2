"""The sweep's objective: which per-epoch metric it optimises, in which direction.

``hydra.sweeper.metric`` and ``hydra.sweeper.direction`` may be left ``null`` (or ``auto``): then
they follow the task of the base config's data -- classification: ``val_accuracy``, maximize;
regression: ``val_loss``, minimize. A metric given without a direction gets the direction its
name implies (``*accuracy*``/``*score``: maximize, else minimize: the early-stopping rule).
Resolved once, in the sweeper's prepare phase, before the study is created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: the value (besides null) that means "follow the task"
AUTO = "auto"
#: task -> (metric, direction) when ``hydra.sweeper.metric`` is not set
TASK_OBJECTIVES = {
    "classification": ("val_accuracy", "maximize"),
    "regression": ("val_loss", "minimize"),
}
#: the config key that follows a resolved metric (as ``conf/hparams_search/digits.yaml`` pins)
MONITOR_KEY = "trainer.early_stopping.monitor"


def is_auto(value: Any) -> bool:
    """True for an unset (``null``/``auto``) metric or direction."""
    return value is None or str(value).strip().lower() in (AUTO, "", "none", "null")


def follows_task(settings: dict[str, Any]) -> bool:
    """True when the settings leave the metric or the direction to the task."""
    return is_auto(settings.get("metric")) or is_auto(settings.get("direction"))


def config_task(cfg: Any, load_dataset: Callable[[], Any]) -> str:
    """The task a run of ``cfg`` trains for: ``model.task`` when set, else the dataset's
    (``data.task``, or inferred from the target by the loader: ``load_dataset()``)."""
    task = str(cfg.model.get("task", AUTO) or AUTO)
    if task != AUTO:
        return task
    return str(load_dataset().task)


def resolve_objective(metric: Any, direction: Any, task: str) -> tuple[str, str]:
    """(metric, direction) with the unset ones filled in from ``task`` (see the module doc)."""
    from nnexp.nn.early_stopping import resolve_mode

    if task not in TASK_OBJECTIVES:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(TASK_OBJECTIVES)}")
    task_metric, task_direction = TASK_OBJECTIVES[task]
    if is_auto(metric):
        metric = task_metric
        if is_auto(direction):
            direction = task_direction
    if is_auto(direction):
        direction = "maximize" if resolve_mode(str(metric), "auto") == "max" else "minimize"
    return str(metric), str(direction).lower()


def monitor_override(metric: str, arguments: Sequence[str], monitors: Sequence[str]) -> list[str]:
    """``[trainer.early_stopping.monitor=<metric>]`` so early stopping watches the metric the
    sweep resolved from the task -- unless the command line sets the monitor itself or
    ``metric`` cannot be monitored (``monitors``: the allowed choices)."""
    if metric not in monitors:
        return []
    if any(a.lstrip("+~").split("=", 1)[0] == MONITOR_KEY for a in arguments):
        return []
    return [f"{MONITOR_KEY}={metric}"]


def settle_objective(
    s: dict[str, Any], base_cfg: Any, arguments: Sequence[str], load_dataset: Callable[[], Any]
) -> list[str]:
    """Fill in ``s["metric"]``/``s["direction"]`` left to the task (in place); return the
    overrides every job gets so early stopping watches the resolved metric (empty when the
    metric was set)."""
    if not follows_task(s):
        return []
    from nnexp.nn.hyperparameters import MONITOR_CHOICES

    metric_from_task = is_auto(s.get("metric"))
    task = config_task(base_cfg, load_dataset)
    s["metric"], s["direction"] = resolve_objective(s.get("metric"), s.get("direction"), task)
    if not metric_from_task or MONITOR_KEY in (s.get("params") or {}):
        return []  # a metric or a monitor the user chose stays theirs
    return monitor_override(s["metric"], arguments, MONITOR_CHOICES)
