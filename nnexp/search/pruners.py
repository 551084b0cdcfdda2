"""Pruners: ``hydra.sweeper.pruner`` (a name, or a mapping with ``name`` and keywords) -> object.

``pruner: median`` or ``pruner: {name: median, n_startup_trials: 5, n_warmup_steps: 3}``.
Names: ``median`` (default), ``hyperband``, ``successive_halving``, ``percentile`` (needs
``percentile``), ``none``. Every other key is passed to the Optuna pruner's constructor; steps are
epochs (1-based).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from nnexp.errors import SweepSettingError
from nnexp.search.samplers import _check_kwargs, split_spec

PRUNERS: dict[str, Callable[..., optuna.pruners.BasePruner]] = {
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "none": optuna.pruners.NopPruner,
}


def make_pruner(spec: Any) -> optuna.pruners.BasePruner:
    """Build the pruner named by ``spec``; clear errors for unknown names or arguments."""
    if spec is False:
        spec = "none"
    name, kwargs = split_spec(spec, "pruner", "median")
    if name in ("nop", "null", "off", "false"):
        name = "none"
    if name not in PRUNERS:
        raise SweepSettingError(f"hydra.sweeper.pruner: unknown pruner {name!r}; valid: {', '.join(PRUNERS)}")
    cls = PRUNERS[name]
    _check_kwargs(cls, kwargs, f"hydra.sweeper.pruner ({name})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SweepSettingError(f"hydra.sweeper.pruner ({name}): {exc}") from None
