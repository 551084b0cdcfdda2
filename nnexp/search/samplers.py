"""Samplers: ``hydra.sweeper.sampler`` (a name, or a mapping with ``name`` and keywords) -> object.

``sampler: tpe`` or ``sampler: {name: tpe, seed: 0, multivariate: true, n_startup_trials: 10}``.
Names: ``tpe`` (default), ``random``, ``cmaes`` (needs the ``cmaes`` package), ``gp`` (needs
``torch``), ``qmc``. Every other key is passed to the Optuna sampler's constructor.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from nnexp.errors import SweepSettingError

#: name -> (constructor, the extra package it needs, if any)
SAMPLERS: dict[str, tuple[Callable[..., optuna.samplers.BaseSampler], str | None]] = {
    "tpe": (optuna.samplers.TPESampler, None),
    "random": (optuna.samplers.RandomSampler, None),
    "cmaes": (optuna.samplers.CmaEsSampler, "cmaes"),
    "gp": (optuna.samplers.GPSampler, "torch"),
    "qmc": (optuna.samplers.QMCSampler, "scipy"),
    "nsgaii": (optuna.samplers.NSGAIISampler, None),
}


def split_spec(spec: Any, what: str, default: str) -> tuple[str, dict[str, Any]]:
    """``"tpe"`` / ``{"name": "tpe", **kw}`` / ``None`` -> (name, kwargs)."""
    if spec is None:
        return default, {}
    if isinstance(spec, str):
        return spec.strip().lower(), {}
    if isinstance(spec, Mapping):
        kw = {str(k): v for k, v in spec.items()}
        name = kw.pop("name", default)
        return str(name or default).strip().lower(), kw
    raise SweepSettingError(f"hydra.sweeper.{what} must be a name or a mapping with 'name', got {spec!r}")


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


def make_sampler(spec: Any, seed_offset: int | None = None) -> optuna.samplers.BaseSampler:
    """Build the sampler. ``seed_offset`` derives a distinct seed per worker from ``seed``.

    With a seed and several workers (or a resumed study), each worker would otherwise draw the
    same sequence; ``seed_offset`` (e.g. trials already in the study, worker index) mixes in.
    """
    name, kwargs = split_spec(spec, "sampler", "tpe")
    if name not in SAMPLERS:
        raise SweepSettingError(
            f"hydra.sweeper.sampler: unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}"
        )
    cls, needs = SAMPLERS[name]
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
