"""The search space object: searched params (Optuna distributions) and fixed overrides.

:mod:`nnexp.search.grammar` builds it from ``hydra.sweeper.params`` and the command line (the
syntax is documented there); the sweeper checks it with :func:`validate_space`, serialises it
into the sweep context (:meth:`SearchSpace.to_json`), and each worker turns sampled values back
into Hydra overrides (:meth:`SearchSpace.overrides`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from nnexp.errors import SearchSpaceError


@dataclass(frozen=True)
class Param:
    """One searched dimension: its Optuna name, the key as written, and how values are spelled."""

    name: str  #: Optuna parameter name: the config key without ``+``/``++`` (``optimizer.lr``)
    key: str  #: the override key with its prefix (``+model.extra``), used to build overrides
    distribution: BaseDistribution
    #: categorical only: the Hydra spelling of each choice, aligned with ``distribution.choices``
    choice_strings: tuple[str, ...] = ()
    source: str = "hydra.sweeper.params"
    group: bool = False  #: the key is a config group (``optimizer``): its choice selects a file

    def override(self, value: Any) -> str:
        """The Hydra override that sets this key to a sampled ``value``."""
        if isinstance(self.distribution, CategoricalDistribution):
            return f"{self.key}={self.choice_strings[self.distribution.to_internal_repr(value)]}"
        if isinstance(self.distribution, IntDistribution):
            return f"{self.key}={int(value)}"
        return f"{self.key}={_float_str(float(value))}"


def value_override(key: str, value: Any) -> str:
    """The Hydra override ``key=value`` for a value a search-space hook suggested (a param the
    declared space does not hold): numbers as numbers, strings quoted where Hydra needs it."""
    if isinstance(value, bool):
        return f"{key}={str(value).lower()}"
    if isinstance(value, int):
        return f"{key}={value}"
    if isinstance(value, float):
        return f"{key}={_float_str(value)}"
    text = str(value)
    if re.fullmatch(r"[\w./-]+", text) and text.lower() not in ("null", "true", "false"):
        return f"{key}={text}"
    return f"{key}='" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class SearchSpace:
    """The searched params and the fixed overrides every trial gets."""

    params: tuple[Param, ...]
    fixed: tuple[str, ...] = ()  #: overrides of params given a plain value (``trainer.epochs=30``)
    _by_name: dict[str, Param] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """Param name -> Optuna distribution (for ``study.ask(fixed_distributions=...)``)."""
        return {p.name: p.distribution for p in self.params}

    def overrides(self, values: Mapping[str, Any]) -> list[str]:
        """Fixed overrides followed by one override per sampled value."""
        out = list(self.fixed)
        for name, value in values.items():
            param = self._by_name.get(name)
            out.append(param.override(value) if param is not None else value_override(name, value))
        return out

    def corner_overrides(self) -> list[list[str]]:
        """Override sets covering every bound and every categorical choice (for validation)."""
        lows = {p.name: _corner(p.distribution, low=True) for p in self.params}
        highs = {p.name: _corner(p.distribution, low=False) for p in self.params}
        sets = [self.overrides(lows), self.overrides(highs)]
        for p in self.params:
            if isinstance(p.distribution, CategoricalDistribution):
                for choice in p.distribution.choices[1:-1]:
                    sets.append(self.overrides({**lows, p.name: choice}))
        return sets

    def describe(self) -> str:
        """One line per dimension, for logs."""
        lines = [f"  {p.name}: {_describe(p.distribution)}" for p in self.params]
        lines += [f"  {o.split('=', 1)[0]}: fixed {o.split('=', 1)[1]}" for o in self.fixed]
        return "\n".join(lines)

    def to_json(self) -> str:
        """Serialise (for the worker processes)."""
        return json.dumps(
            {
                "fixed": list(self.fixed),
                "params": [
                    {
                        "name": p.name,
                        "key": p.key,
                        "distribution": distribution_to_json(p.distribution),
                        "choice_strings": list(p.choice_strings),
                        "source": p.source,
                        "group": p.group,
                    }
                    for p in self.params
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        params = tuple(
            Param(
                name=p["name"],
                key=p["key"],
                distribution=json_to_distribution(p["distribution"]),
                choice_strings=tuple(p["choice_strings"]),
                source=p["source"],
                group=bool(p.get("group", False)),
            )
            for p in data["params"]
        )
        return cls(params=params, fixed=tuple(data["fixed"]))

    def mark_groups(self, is_group: Callable[[str], bool]) -> SearchSpace:
        """A copy whose params know whether their key is a config group (``is_group(key)``)."""
        params = tuple(replace(p, group=bool(is_group(p.name))) for p in self.params)
        return SearchSpace(params=params, fixed=self.fixed)


def _float_str(x: float) -> str:
    """A float as Hydra parses it back exactly (``repr`` round-trips; ``1e-05`` is valid)."""
    return repr(x)


def _corner(dist: BaseDistribution, low: bool) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[0] if low else dist.choices[-1]
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    return dist.low if low else dist.high


def _describe(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return "choice(" + ", ".join(map(str, dist.choices)) + ")"
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    scale = " log" if dist.log else ""
    has_step = dist.step is not None and (kind == "float" or dist.step != 1)
    step = f" step {dist.step}" if has_step else ""
    return f"{kind}{scale} [{dist.low}, {dist.high}]{step}"


def validate_space(
    space: SearchSpace,
    compose: Callable[[list[str]], Any],
    check: Callable[[Any], None] | None = None,
    passthrough: Sequence[str] = (),
    unread: Callable[[str], str | None] | None = None,
) -> None:
    """Refuse searched keys the task does not read, then compose the config at every bound and
    categorical choice; raise on the first failure, naming the key and value at fault.

    ``compose(overrides) -> cfg`` builds a trial config; ``check(cfg)`` (e.g.
    ``nnexp.config.validate.validate``) range-checks it; ``passthrough`` are the plain
    command-line values, named when one of them is at fault; ``unread(key)`` says why a key
    is never read (nnexp's trainer: ``nnexp.config.overrides.unread_key``), None when it is.
    """
    for p in space.params:
        why = None if p.group or unread is None else unread(p.name)
        if why:
            raise SearchSpaceError(f"{p.source}: {why} (nothing would use the values searched)")
    for overrides in space.corner_overrides():
        try:
            cfg = compose(overrides)
            if check is not None:
                check(cfg)
        except Exception as exc:  # noqa: BLE001 - any failure is reported with the overrides
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            culprit = _culprit(space, first, passthrough)
            raise SearchSpaceError(
                f"{first}"
                + (f" (from {culprit})" if culprit else "")
                + f"\n  trial overrides: {' '.join(overrides)}"
                + (f"\n  error: {text}" if text != first else "")
            ) from None


def _culprit(space: SearchSpace, problem: str, passthrough: Sequence[str]) -> str:
    """Where the key the problem starts with (``model.width has ...``) got its value."""
    match = re.match(r"[+~]*([\w.]+)", problem)
    key = match.group(1) if match else ""
    for p in space.params:
        if p.name == key:
            return p.source
    for o in space.fixed:
        if o.split("=", 1)[0].lstrip("+~") == key:
            return f"hydra.sweeper.params[{o.split('=', 1)[0]!r}]"
    for arg in passthrough:
        if arg.split("=", 1)[0].lstrip("+~") == key:
            return f"command-line override {arg!r}"
    return ""


def load_search_hook(path: str | None) -> Callable[[Any, Any], Any] | None:
    """The function ``hydra.sweeper.custom_search_space`` names (``package.module.function``):
    called as ``hook(cfg, trial)`` after each ask, it suggests conditional params on the Optuna
    trial (``trial.suggest_*``); every param it suggests becomes a ``key=value`` override of
    the trial's config. None without a hook; an unknown name raises :class:`SearchSpaceError`."""
    if not path:
        return None
    from hydra._internal.utils import _locate  # hydra.utils.get_method's lookup, without its log

    try:  # as Hydra's Optuna sweeper: module.function, module.Class.method
        hook = _locate(str(path))
    except (ImportError, AttributeError, ValueError) as exc:
        raise SearchSpaceError(
            f"hydra.sweeper.custom_search_space={path!r} cannot be imported ({exc}); name a "
            "function as package.module.function, importable from the launch directory"
        ) from None
    if not callable(hook):
        raise SearchSpaceError(
            f"hydra.sweeper.custom_search_space={path!r} is not a function of (cfg, trial)"
        )
    return hook
