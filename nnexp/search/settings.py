"""``hydra.sweeper`` settings: defaults, range checks, names (before anything is created)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from nnexp.errors import SweepSettingError
from nnexp.search.health import RECONNECT_TIMEOUT
from nnexp.search.objective import is_auto
from nnexp.search.pruners import make_pruner
from nnexp.search.samplers import make_sampler


def normalized(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A checked copy of the settings (direction lower-cased; metric and direction ``None`` when
    they follow the task, see :mod:`nnexp.search.objective`); sampler and pruner built once so
    a bad one fails here. Raises :class:`SweepSettingError` listing every problem."""
    s = dict(settings)
    settle_upstream_forms(s)
    for key in ("metric", "direction"):
        s[key] = None if is_auto(s.get(key)) else str(s[key]).strip()
    if s["direction"] is not None:
        s["direction"] = s["direction"].lower()
    directions = s.get("directions")
    if directions and not isinstance(directions, str):
        s["directions"] = [str(d).strip().lower() for d in directions]
        if s["direction"] is None:
            s["direction"] = s["directions"][0]
    s.setdefault("reconnect_timeout", RECONNECT_TIMEOUT)
    check_settings(s)
    check_trust_settings(s)
    make_sampler(s.get("sampler"))
    make_pruner(s.get("pruner"))
    return s


def settle_upstream_forms(s: dict[str, Any]) -> None:
    """Hydra's Optuna sweeper's spellings, in place: ``direction`` given as a list is
    ``directions``; ``max_failure_rate`` (the fraction of ``n_trials`` that may fail) becomes
    ``max_failures = floor(rate * n_trials) + 1``, the first failure past the rate stopping."""
    direction = s.get("direction")
    if isinstance(direction, (list, tuple)):
        if s.get("directions") and list(s["directions"]) != list(direction):
            raise SweepSettingError(
                f"hydra.sweeper.direction={list(direction)!r} and directions={list(s['directions'])!r}: "
                "give the list once (directions)"
            )
        s["directions"], s["direction"] = list(direction), None
    rate = s.pop("max_failure_rate", None)
    if rate is None:
        return
    if s.get("max_failures") is not None:
        raise SweepSettingError("hydra.sweeper: give max_failures or max_failure_rate, not both")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise SweepSettingError(f"hydra.sweeper.max_failure_rate must be within [0, 1], got {rate!r}")
    if isinstance(s.get("n_trials"), int):
        s["max_failures"] = math.floor(rate * s["n_trials"]) + 1


def check_settings(s: Mapping[str, Any]) -> None:
    """Range checks on ``hydra.sweeper`` settings with messages naming the key."""
    problems = []
    if not isinstance(s.get("n_trials"), int) or s["n_trials"] < 1:
        problems.append(f"hydra.sweeper.n_trials must be an integer >= 1, got {s.get('n_trials')!r}")
    if not isinstance(s.get("n_jobs"), int) or s["n_jobs"] < 1:
        problems.append(f"hydra.sweeper.n_jobs must be an integer >= 1, got {s.get('n_jobs')!r}")
    direction = s.get("direction")
    if not is_auto(direction) and str(direction).lower() not in ("minimize", "maximize"):
        problems.append(
            f"hydra.sweeper.direction must be minimize, maximize or null (follow the task), got {direction!r}"
        )
    directions = s.get("directions")
    if directions is not None and (
        isinstance(directions, str)
        or not directions
        or any(str(d).lower() not in ("minimize", "maximize") for d in directions)
    ):
        problems.append(
            f"hydra.sweeper.directions must be a list of minimize/maximize, one per objective, got {directions!r}"
        )
    if s.get("metric") is not None and not str(s["metric"]).strip():
        problems.append(
            "hydra.sweeper.metric must name a per-epoch metric (val_accuracy, val_loss, ...) "
            "or be null (follow the task)"
        )
    if not isinstance(s.get("status_every", 1), int) or s.get("status_every", 1) < 1:
        problems.append(f"hydra.sweeper.status_every must be an integer >= 1, got {s.get('status_every')!r}")
    if float(s.get("status_seconds", 1)) <= 0:
        problems.append(f"hydra.sweeper.status_seconds must be > 0 seconds, got {s['status_seconds']!r}")
    if s.get("timeout") is not None and float(s["timeout"]) <= 0:
        problems.append(f"hydra.sweeper.timeout must be > 0 seconds or null, got {s['timeout']!r}")
    if not isinstance(s.get("max_retries", 0), int) or s.get("max_retries", 0) < 0:
        problems.append(f"hydra.sweeper.max_retries must be an integer >= 0, got {s.get('max_retries')!r}")
    if float(s.get("reconnect_timeout", 0)) < 0:
        problems.append(
            f"hydra.sweeper.reconnect_timeout must be >= 0 seconds, got {s['reconnect_timeout']!r}"
        )
    if float(s.get("stale_after", 1)) <= 0:
        problems.append(f"hydra.sweeper.stale_after must be > 0 seconds, got {s['stale_after']!r}")
    if problems:
        raise SweepSettingError("\n".join(problems))


# -- settings of a trustworthy best (issue 11) -----------------------------------------------


def check_trust_settings(s: Mapping[str, Any]) -> None:
    """``warm_start``: a study name or ``{study, storage, top}`` (see nnexp.search.warmstart);
    ``confirm``: ``{top_k, seeds}``, non-negative integers (see nnexp.search.confirm)."""
    from nnexp.search.confirm import parse_confirm
    from nnexp.search.warmstart import parse_warm_start

    parse_warm_start(s.get("warm_start"))
    parse_confirm(s.get("confirm"))


def check_max_failures(s: Mapping[str, Any]) -> None:
    """``hydra.sweeper.max_failures``: null (``n_trials``) or an integer >= 1
    (:mod:`nnexp.search.failures`)."""
    value = s.get("max_failures")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise SweepSettingError(
            f"hydra.sweeper.max_failures must be an integer >= 1 or null (n_trials), got {value!r}"
        )


def default_study_name(search: str | None, data: str) -> str:
    """``<hparams_search>``, or ``<hparams_search>-<data>`` when sweeping it on other data."""
    if not search:
        return f"sweep-{data}"
    return search if search == data else f"{search}-{data}"


def check_names(study_name: str, cfg: DictConfig) -> None:
    """Study, experiment and run names become MLflow names and paths: refuse traversal
    (the rule single runs use too: :func:`nnexp.config.validate.name_problems`)."""
    from nnexp.config.validate import name_problems

    problems = name_problems(cfg, study_name)
    if problems:
        raise SweepSettingError("; ".join(problems))
