"""Warm start: seed a new study with the best configurations of an earlier one.

``hydra.sweeper.warm_start=<study>`` (the sweep's storage) or
``{study: NAME, storage: URL, top: N}`` enqueues the ``top`` best COMPLETE trials of that study
(best first, by :func:`nnexp.search.results.ranked_trials`) into the new study, each tagged with
the trial it came from (``warm_start_from`` user attr). The new search space decides: a param
it no longer searches is dropped, a number outside its bounds is clipped (and put on its step),
a choice it no longer offers is dropped (the sampler draws it); each change is printed. Done
once per study: a resumed sweep does not enqueue again.

The source study is read and the enqueue list built in :func:`plan_warm_start`, before the new
study or any run is created, so a missing study is refused first (exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from nnexp.contract import STUDY_WARM_START, WARM_START_ATTR
from nnexp.errors import SweepSettingError
from nnexp.search.space import SearchSpace

#: Configurations taken from the earlier study when ``top`` is not given.
DEFAULT_TOP = 5
KEY = "hydra.sweeper.warm_start"


@dataclass(frozen=True)
class WarmStartSpec:
    """What ``hydra.sweeper.warm_start`` asks for."""

    study: str
    storage: str | None = None  #: None: the sweep's own storage
    top: int = DEFAULT_TOP


@dataclass
class WarmPlan:
    """The trials to enqueue (params, user attrs) and the notes on what was changed."""

    source: str
    trials: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_warm_start(value: Any) -> WarmStartSpec | None:
    """``None``, a study name or ``{study, storage, top}``; raises :class:`SweepSettingError`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return WarmStartSpec(study=value.strip())
    if not isinstance(value, Mapping):
        raise SweepSettingError(
            f"{KEY} must be a study name or {{study: NAME, storage: URL, top: N}}, got {value!r}"
        )
    unknown = sorted(set(value) - {"study", "storage", "top"})
    study, top = value.get("study"), value.get("top", DEFAULT_TOP)
    problems = [f"{KEY}: unknown key(s) {', '.join(unknown)}"] if unknown else []
    if not study or not isinstance(study, str):
        problems.append(f"{KEY}.study must name the earlier study, got {study!r}")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        problems.append(f"{KEY}.top must be an integer >= 1, got {top!r}")
    if problems:
        raise SweepSettingError("\n".join(problems))
    storage = value.get("storage")
    return WarmStartSpec(str(study), str(storage) if storage else None, int(top))


def fit_value(name: str, value: Any, dist: BaseDistribution) -> tuple[Any, str | None]:
    """``value`` made to fit ``dist``: (value, note) with value None when it cannot."""
    if isinstance(dist, CategoricalDistribution):
        if value in dist.choices:
            return value, None
        return None, f"{name}={value!r} dropped (not a choice any more: {list(dist.choices)})"
    if not isinstance(dist, (IntDistribution, FloatDistribution)):  # pragma: no cover
        return None, f"{name} dropped (unsupported distribution)"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, f"{name}={value!r} dropped (not a number)"
    fitted = min(max(value, dist.low), dist.high)
    if dist.step is not None:
        fitted = dist.low + round((fitted - dist.low) / dist.step) * dist.step
        fitted = min(max(fitted, dist.low), dist.high)
    fitted = int(round(fitted)) if isinstance(dist, IntDistribution) else float(fitted)
    if not math.isclose(fitted, value, rel_tol=1e-12, abs_tol=0.0):
        return fitted, f"{name}={value!r} clipped to {fitted!r} (outside the new space)"
    return value, None


def fit_params(params: Mapping[str, Any], space: SearchSpace) -> tuple[dict[str, Any], list[str]]:
    """The params of an earlier trial that fit ``space``, and a note per change."""
    dists = space.distributions
    kept: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in params.items():
        if name not in dists:
            notes.append(f"{name} dropped (not searched any more)")
            continue
        fitted, note = fit_value(name, value, dists[name])
        if note:
            notes.append(note)
        if fitted is not None:
            kept[name] = fitted
    return kept, notes


def plan_warm_start(
    spec: WarmStartSpec, storage_url: str, launch_cwd: Path, space: SearchSpace, limit: int
) -> WarmPlan:
    """Read the earlier study and build the enqueue list (at most ``limit`` trials)."""
    import optuna

    from nnexp.search.results import ranked_trials
    from nnexp.search.storage import check_storage, open_storage, resolve_storage_url
    from nnexp.tracking.masking import mask_secrets

    url = resolve_storage_url(spec.storage, launch_cwd) if spec.storage else storage_url
    check_storage(url)
    try:
        source = optuna.load_study(study_name=spec.study, storage=open_storage(url))
    except KeyError:
        raise SweepSettingError(
            f"{KEY}: no study {spec.study!r} in {mask_secrets(url)} "
            "(nnexp studies lists the studies of a storage)"
        ) from None
    best = ranked_trials(source.get_trials(deepcopy=False), source.direction)
    plan = WarmPlan(source=spec.study)
    for t in best[: max(0, min(spec.top, limit))]:
        params, notes = fit_params(t.params, space)
        plan.notes += [f"trial {t.number}: {n}" for n in notes]
        origin = {"study": spec.study, "trial": t.number, "value": float(t.value)}
        plan.trials.append((params, {WARM_START_ATTR: origin}))
    return plan


def apply_warm_start(study: Any, plan: WarmPlan) -> list[str]:
    """Enqueue the plan's trials into ``study`` once (a resumed study is left alone); returns
    the lines to print."""
    done = study.user_attrs.get(STUDY_WARM_START)
    if done:
        return [f"[sweep] warm start from {done.get('study')!r} was applied before; not again"]
    for params, attrs in plan.trials:
        study.enqueue_trial(params, user_attrs=attrs)
    study.set_user_attr(STUDY_WARM_START, {"study": plan.source, "enqueued": len(plan.trials)})
    lines = [
        f"[sweep] warm start: enqueued the {len(plan.trials)} best trial(s) of study "
        f"{plan.source!r}"
        + (
            " (" + ", ".join(str(a[WARM_START_ATTR]["trial"]) for _, a in plan.trials) + ")"
            if plan.trials
            else ""
        )
    ]
    return lines + [f"[sweep] warm start note: {n}" for n in plan.notes]
