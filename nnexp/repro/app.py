"""Reproduce a trial of a Hydra app's sweep (not nnexp's trainer): rerun its task function.

A study of an app records where the task function lives and how the sweep was launched
(``STUDY_APP``: module, file, function, launch dir, command line); each trial's worker wrote
the trial's resolved config to ``<trial dir>/config.yaml``. ``nnexp reproduce --study S``
imports the task function from there, calls it with that config as a new MLflow run tagged
``nnexp.reproduction_of=<trial's run>`` (``nnexp.report`` logs to it: MLflow's active run),
and compares what it returns with the trial's recorded objective within ``--tolerance``.
The app should seed itself from its config for the numbers to be the same.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnexp.contract import (
    REPRODUCED_BY_TAG,
    REPRODUCTION_TAG,
    ROLE_REPRODUCTION,
    ROLE_TAG,
    RUN_ID_ATTR,
    STUDY_APP,
    STUDY_TAG,
    TRIAL_DIR_ATTR,
    TRIAL_TAG,
)
from nnexp.repro.compare import IDENTICAL, MISMATCH, WITHIN_TOLERANCE
from nnexp.repro.errors import Refusal


@dataclass
class AppReproduction:
    """The original trial's objective(s) beside the rerun's, and the verdict."""

    original: list[float]
    reproduced: list[float]
    tolerance: float
    run_id: str | None = None
    experiment_id: str | None = None

    @property
    def verdict(self) -> str:
        """``identical`` | ``within tolerance`` | ``mismatch`` (every objective within it)."""
        if self.original == self.reproduced:
            return IDENTICAL
        deltas = [abs(r - o) for o, r in zip(self.original, self.reproduced, strict=True)]
        if all(math.isfinite(d) and d <= self.tolerance for d in deltas):
            return WITHIN_TOLERANCE
        return MISMATCH

    @property
    def ok(self) -> bool:
        return self.verdict != MISMATCH

    def report(self) -> str:
        """``verdict: ...`` and the values side by side."""
        lines = [f"verdict: {self.verdict}"]
        for i, (o, r) in enumerate(zip(self.original, self.reproduced, strict=True)):
            name = "objective" if len(self.original) == 1 else f"objective {i}"
            delta = "" if o == r else f" (delta {r - o:+.6g}, tolerance {self.tolerance:g})"
            lines.append(f"  {name}: original {o!r}, reproduced {r!r}{delta}")
        if self.verdict == MISMATCH:
            lines.append(f"  |delta| exceeds --tolerance {self.tolerance:g}")
        return "\n".join(lines)


def is_app_study(study: Any) -> bool:
    """Whether ``study`` swept a Hydra app other than nnexp's trainer."""
    return bool(study.user_attrs.get(STUDY_APP))


def load_task_function(entry: dict[str, Any]) -> Callable[[Any], Any]:
    """The app's task function, undecorated (``@hydra.main`` unwrapped): imported by module
    name, or from its file when it was a script run as ``__main__``."""
    module_name, path = str(entry.get("module", "")), Path(str(entry.get("file", "")))
    sys.path.insert(0, str(path.parent))
    try:
        if module_name and module_name != "__main__":
            module = importlib.import_module(module_name)
        else:
            if not path.is_file():
                raise Refusal(f"the app's file {path} is gone: restore it to reproduce its trials")
            spec = importlib.util.spec_from_file_location(f"nnexp_app_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    except ImportError as exc:
        raise Refusal(f"cannot import the app {module_name or path}: {exc}") from None
    finally:
        sys.path.remove(str(path.parent))
    target: Any = module
    for part in str(entry.get("function", "")).split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise Refusal(f"the app {path} has no task function {entry.get('function')!r} any more")
    return inspect.unwrap(target)


def trial_config(trial: Any) -> Any:
    """The resolved config the trial ran with (``<trial dir>/config.yaml``)."""
    from omegaconf import OmegaConf

    path = Path(str(trial.user_attrs.get(TRIAL_DIR_ATTR, ""))) / "config.yaml"
    if not trial.user_attrs.get(TRIAL_DIR_ATTR) or not path.is_file():
        raise Refusal(f"trial {trial.number}'s config {path} is gone: its sweep directory was removed")
    return OmegaConf.load(path)


@contextlib.contextmanager
def _in_dir(path: str) -> Iterator[None]:
    """Run where the sweep was launched: the app's relative paths mean the same."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def reproduce_app_trial(
    study: Any, trial: Any, *, tracking_uri: str | None, tolerance: float, echo: Callable[[str], None] = print
) -> AppReproduction:
    """Rerun ``trial`` of an app's ``study`` and compare its objective(s)."""
    from nnexp.search.task import objective_values

    entry = dict(study.user_attrs[STUDY_APP])
    fn = load_task_function(entry)
    cfg = trial_config(trial)
    original = [float(v) for v in trial.values]
    echo(f"rerunning {entry.get('function')} of {entry.get('file')} with trial {trial.number}'s config")
    run_id = trial.user_attrs.get(RUN_ID_ATTR)
    with _in_dir(str(entry.get("cwd") or os.getcwd())):
        if tracking_uri and run_id:
            value, new_run, experiment_id = _rerun_tracked(fn, cfg, study, trial, tracking_uri, run_id)
        else:
            value, new_run, experiment_id = fn(cfg), None, None
    values = objective_values(value, len(original))
    if values is None:
        raise Refusal(f"the task function returned None: nothing to compare with trial {trial.number}")
    out = AppReproduction(original, values, float(tolerance), new_run, experiment_id)
    if new_run:
        from nnexp.tracking.queries import set_run_tags

        set_run_tags(tracking_uri, new_run, {"nnexp.reproduction.verdict": out.verdict})
        set_run_tags(tracking_uri, run_id, {REPRODUCED_BY_TAG: new_run})
    return out


def _rerun_tracked(
    fn: Callable[[Any], Any], cfg: Any, study: Any, trial: Any, tracking_uri: str, run_id: str
) -> tuple[Any, str, str]:
    """``fn(cfg)`` as a new run beside the trial's, MLflow's active run while it runs."""
    from nnexp.tracking.active import trial_run
    from nnexp.tracking.queries import read_run

    record = read_run(tracking_uri, run_id)
    if record is None:
        raise Refusal(f"trial {trial.number}'s MLflow run {run_id} is not in {tracking_uri} any more")
    experiment_id = record.experiment_id
    tags = {
        REPRODUCTION_TAG: run_id,
        ROLE_TAG: ROLE_REPRODUCTION,
        STUDY_TAG: study.study_name,
        TRIAL_TAG: str(trial.number),
    }
    with trial_run(
        tracking_uri,
        experiment_id,
        parent_run_id=None,
        run_name=f"reproduce-trial-{trial.number}",
        tags=tags,
        params=dict(trial.params),
    ) as run:
        return fn(cfg), run.run_id, experiment_id
