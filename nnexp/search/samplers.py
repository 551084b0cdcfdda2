"""Samplers: ``hydra.sweeper.sampler`` (a name, or a mapping with ``name`` and keywords) -> object.

``sampler: tpe`` or ``sampler: {name: tpe, seed: 0, multivariate: true, n_startup_trials: 10}``.
Names: ``tpe`` (default), ``random``, ``cmaes`` (needs the ``cmaes`` package), ``gp`` (needs
``torch``), ``qmc``, ``nsgaii`` (multi-objective). Every other key is passed to the Optuna
sampler's constructor. Each name is also a ``hydra/sweeper/sampler`` config group option, as in
Hydra's Optuna sweeper (``override hydra/sweeper/sampler: nsgaii``), and a mapping may name its
class the way that sweeper's configs do: ``{_target_: optuna.samplers.RandomSampler, seed: 0}``.

The table holds class names, so the Hydra plugin can register the names without importing Optuna.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from typing import Any

from nnexp.errors import SweepSettingError

#: name -> (the class in ``optuna.samplers``, the extra package it needs, if any)
SAMPLERS: dict[str, tuple[str, str | None]] = {
    "tpe": ("TPESampler", None),
    "random": ("RandomSampler", None),
    "cmaes": ("CmaEsSampler", "cmaes"),
    "gp": ("GPSampler", "torch"),
    "qmc": ("QMCSampler", "scipy"),
    "nsgaii": ("NSGAIISampler", None),
}


def split_spec(
    spec: Any, what: str, default: str, classes: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """``"tpe"`` / ``{"name": "tpe", **kw}`` / ``None`` -> (name, kwargs).

    ``classes`` (name -> Optuna class name) also reads ``{"_target_": "optuna.samplers.X", **kw}``
    (Hydra's Optuna sweeper's form, and the ``hydra/sweeper/sampler`` group's nodes); ``name``,
    when given, wins over ``_target_``, which may come from the group's default. ``_partial_`` is
    dropped."""
    if spec is None:
        return default, {}
    if isinstance(spec, str):
        return spec.strip().lower(), {}
    if isinstance(spec, Mapping):
        kw = {str(k): v for k, v in spec.items()}
        kw.pop("_partial_", None)
        target = kw.pop("_target_", None)
        name = kw.pop("name", None)
        if name is None and target is not None:
            name = _name_of_target(str(target), classes or {}, what)
        return str(name or default).strip().lower(), kw
    raise SweepSettingError(f"hydra.sweeper.{what} must be a name or a mapping with 'name', got {spec!r}")


def _name_of_target(target: str, classes: Mapping[str, str], what: str) -> str:
    """The name whose Optuna class ``target`` (``optuna.samplers.TPESampler``) points to."""
    cls_name = target.rsplit(".", 1)[-1]
    for name, known in classes.items():
        if target.startswith("optuna.") and cls_name == known:
            return name
    valid = ", ".join(f"optuna.{what}s.{c}" for c in classes.values())
    raise SweepSettingError(f"hydra.sweeper.{what}._target_: {target!r} is not supported; valid: {valid}")


def _check_kwargs(cls: Any, kwargs: Mapping[str, Any], where: str) -> None:
    sig = inspect.signature(cls.__init__)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    valid = [n for n in sig.parameters if n != "self"]
    bad = sorted(set(kwargs) - set(valid))
    if bad:
        raise SweepSettingError(
            f"{where}: unknown argument(s) {', '.join(bad)} for {cls.__name__}; valid: {', '.join(valid)}"
        )


def make_sampler(spec: Any, seed_offset: int | None = None) -> Any:
    """Build the sampler. ``seed_offset`` derives a distinct seed per worker from ``seed``.

    With a seed and several workers (or a resumed study), each worker would otherwise draw the
    same sequence; ``seed_offset`` (e.g. trials already in the study, worker index) mixes in.
    """
    import optuna

    name, kwargs = split_spec(spec, "sampler", "tpe", {n: c for n, (c, _) in SAMPLERS.items()})
    if name not in SAMPLERS:
        raise SweepSettingError(
            f"hydra.sweeper.sampler: unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}"
        )
    cls_name, needs = SAMPLERS[name]
    cls = getattr(optuna.samplers, cls_name)
    if needs is not None and importlib.util.find_spec(needs) is None:
        # Optuna imports these lazily, at the first sample: fail before any trial instead
        raise SweepSettingError(
            f"hydra.sweeper.sampler: {name!r} needs the {needs!r} package, which is not "
            f"installed: pip install {needs}"
        )
    _check_kwargs(cls, kwargs, f"hydra.sweeper.sampler ({name})")
    if seed_offset is not None and kwargs.get("seed") is not None:
        kwargs["seed"] = derive_seed(int(kwargs["seed"]), seed_offset)
    try:
        return cls(**kwargs)
    except ImportError as exc:
        raise SweepSettingError(
            f"hydra.sweeper.sampler: {name!r} needs the {needs!r} package: pip install {needs} ({exc})"
        ) from None
    except (TypeError, ValueError) as exc:
        raise SweepSettingError(f"hydra.sweeper.sampler ({name}): {exc}") from None


def derive_seed(seed: int, offset: int) -> int:
    """A 32-bit seed from a base seed and an offset (offset 0 keeps the seed unchanged)."""
    if offset == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, offset]).generate_state(1)[0])
