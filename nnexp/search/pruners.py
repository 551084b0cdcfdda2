"""Pruners: ``hydra.sweeper.pruner`` (a name, or a mapping with ``name`` and keywords) -> object.

``pruner: median`` or ``pruner: {name: median, n_startup_trials: 5, n_warmup_steps: 3}``.
Names: ``median`` (default), ``hyperband``, ``successive_halving``, ``percentile`` (needs
``percentile``), ``none``; ``{_target_: optuna.pruners.HyperbandPruner, ...}`` as in Hydra's Optuna sweeper's
configs. Every other key is passed to the Optuna pruner's constructor; steps are
epochs (1-based).
"""

from __future__ import annotations

from typing import Any

from nnexp.errors import SweepSettingError
from nnexp.search.samplers import _check_kwargs, split_spec

#: name -> the class in ``optuna.pruners``
PRUNERS: dict[str, str] = {
    "median": "MedianPruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "percentile": "PercentilePruner",
    "none": "NopPruner",
}


def make_pruner(spec: Any) -> Any:
    """Build the pruner named by ``spec``; clear errors for unknown names or arguments."""
    import optuna

    if spec is False:
        spec = "none"
    name, kwargs = split_spec(spec, "pruner", "median", PRUNERS)
    if name in ("nop", "null", "off", "false"):
        name = "none"
    if name not in PRUNERS:
        raise SweepSettingError(f"hydra.sweeper.pruner: unknown pruner {name!r}; valid: {', '.join(PRUNERS)}")
    cls = getattr(optuna.pruners, PRUNERS[name])
    _check_kwargs(cls, kwargs, f"hydra.sweeper.pruner ({name})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SweepSettingError(f"hydra.sweeper.pruner ({name}): {exc}") from None
