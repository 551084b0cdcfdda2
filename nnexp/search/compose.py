"""Trial configs, fast: compose once per config-group choice, then set the sampled values.

Hydra's full composition costs 50-150 ms. Trials of one sweep differ only in the searched keys,
so :class:`TrialComposer` composes (with ``hydra.compose``) once per distinct combination of
config-group choices (``optimizer=adam`` ...) together with the job's overrides and the fixed
params, caches that, and applies each sampled value override to a copy the way Hydra applies
command-line value overrides (``OmegaConf.update`` with merge; ``+key`` adds, a missing key is an
error). The sweeper has already composed every bound and choice with Hydra itself, so a key
that does not exist fails before any trial.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nnexp.search.space import SearchSpace, value_override

_MISSING = object()


def apply_value_overrides(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """Apply ``key=value`` / ``+key=value`` / ``++key=value`` overrides to ``cfg`` in place."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for line in overrides:
        ov = parser.parse_override(line)
        key, value = ov.key_or_group, ov.value()
        if ov.is_add() or ov.is_force_add():
            if ov.is_add() and OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING:
                raise KeyError(f"Could not append to config. An item is already at '{key}'")
            OmegaConf.update(cfg, key, value, merge=True, force_add=True)
            continue
        existing = OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)
        if existing is _MISSING:
            raise KeyError(f"Could not override '{key}'. No match in config; to append, use +{key}={value}")
        if OmegaConf.is_dict(existing) and not isinstance(value, dict):
            raise TypeError(
                f"'{key}' is a config node, not a value: is it a config group that was not marked as one?"
            )
        OmegaConf.update(cfg, key, value, merge=True)


class TrialComposer:
    """``composer(params) -> (cfg, overrides)`` for a trial's sampled ``params``."""

    def __init__(
        self,
        compose: Callable[[list[str]], DictConfig],
        base_overrides: Sequence[str],
        space: SearchSpace,
    ) -> None:
        self.compose = compose
        self.base = list(base_overrides)
        self.space = space
        self.cache: dict[tuple[str, ...], DictConfig] = {}

    def base_config(self) -> DictConfig:
        """The config every trial starts from (no sampled value yet), composed once."""
        key: tuple[str, ...] = ()  # the same compose as a trial without config-group choices
        if key not in self.cache:
            self.cache[key] = self.compose(self.base + list(self.space.fixed))
        return self.cache[key]

    def __call__(self, params: Mapping[str, Any]) -> tuple[DictConfig, list[str]]:
        groups: list[str] = []
        values: list[str] = []
        for p in self.space.params:
            if p.name in params:
                (groups if p.group else values).append(p.override(params[p.name]))
        declared = {p.name for p in self.space.params}
        values += [value_override(k, v) for k, v in params.items() if k not in declared]  # a hook's
        key = tuple(groups)
        if key not in self.cache:
            self.cache[key] = self.compose(self.base + list(self.space.fixed) + groups)
        cfg = copy.deepcopy(self.cache[key])
        apply_value_overrides(cfg, values)
        return cfg, list(self.space.fixed) + groups + values
