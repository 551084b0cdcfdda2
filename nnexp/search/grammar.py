"""Search-space grammar: Hydra override expressions -> Optuna distributions.

A sweep's search space is the ``hydra.sweeper.params`` mapping of a ``conf/hparams_search/``
config (key: expression), plus any sweep expression given on the command line. Every value uses
Hydra's override grammar, so the same strings work in YAML and on the command line:

==========================================  ==================================================
expression                                  Optuna distribution
==========================================  ==================================================
``choice(adam, sgd, momentum)``             categorical (also ``adam,sgd`` on the command
                                            line, and ``glob(*)`` for config-group options)
``range(32, 257, 32)``                      int, step 32: 32, 64, ..., 256 (stop excluded, as
                                            Python's ``range``)
``range(0.0, 0.55, 0.05)``                  float with step: 0.0, 0.05, ..., 0.5
``int(interval(1, 10))``                    int, uniform, bounds 1 and 10 included
``interval(0.0, 0.5)``                      float, uniform, bounds included
``tag(log, interval(1e-4, 1e-1))``          float, log scale (bounds > 0)
``tag(log, int(interval(16, 512)))``        int, log scale (bounds >= 1)
``tag(log, range(1, 65))``                  int, log scale (step must be 1)
a plain value, e.g. ``30`` or ``adam``      fixed: not searched, applied to every trial
==========================================  ==================================================

Keys are config paths (``optimizer.lr``, ``model.depth``) or config groups (``optimizer``,
``data``); ``+key`` adds a key that the config lacks. Put ``tag(log, ...)`` outermost: Hydra's
``int(...)`` cast drops tags. ``log`` is the only tag. Shuffled sweeps (``shuffle(...)``) mean
nothing to a sampler and are rejected.

Precedence: a plain ``key=value`` on the command line fixes that key (it leaves the search
space); a sweep expression on the command line replaces the config's entry for that key or adds
a new dimension, e.g. ``nnexp-train -m hparams_search=digits trainer.epochs=20
'model.activation=choice(relu,tanh)'``.

Every entry is checked before any trial starts: the grammar, the bounds (``low < high``,
``low > 0`` on log scale), that each key exists in the config, and that the bounds and every
categorical choice give a config that composes and passes ``nnexp.config.validate``.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from nnexp.errors import SearchSpaceError
from nnexp.search.space import Param, SearchSpace, _float_str

#: The only sweep tag with a meaning here.
KNOWN_TAGS = ("log",)


def _value_to_override_str(value: Any) -> str:
    """A YAML value (not a string expression) as an override value string."""
    from hydra.core.override_parser.types import Transformer

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_str(value)
    return Transformer.str(value)


def _categorical_value(element: Any, spelled: str) -> Any:
    """The value Optuna stores for a choice: primitives as is, anything else by its spelling."""
    from hydra.core.override_parser.types import QuotedString

    if isinstance(element, QuotedString):
        return element.text
    if element is None or isinstance(element, (bool, int, float, str)):
        return element
    return spelled


def _check_tags(where: str, tags: Iterable[str], allow_log: bool) -> bool:
    tags = set(tags)
    unknown = sorted(tags - set(KNOWN_TAGS))
    if unknown:
        raise SearchSpaceError(
            f"{where}: unknown tag(s) {', '.join(unknown)}; the only tag understood is 'log' "
            "(e.g. tag(log, interval(1e-4, 1e-1)))"
        )
    if "log" in tags and not allow_log:
        raise SearchSpaceError(f"{where}: 'log' applies to numeric ranges and intervals, not to choices")
    return "log" in tags


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _numeric(where: str, *values: Any) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise SearchSpaceError(f"{where}: bounds must be finite numbers, got {v!r}")


def _from_override(ov: Any, where: str) -> tuple[BaseDistribution, tuple[str, ...]]:
    """Distribution (and choice spellings) of one parsed sweep override."""
    if ov.is_choice_sweep():
        return _choice(ov, where)
    if ov.is_range_sweep():
        return _range(ov.value(), where), ()
    if ov.is_interval_sweep():
        return _interval(ov.value(), where), ()
    raise SearchSpaceError(f"{where}: unsupported sweep type {ov.value_type}")  # pragma: no cover


def _choice(ov: Any, where: str) -> tuple[CategoricalDistribution, tuple[str, ...]]:
    """``choice(a, b)``, ``a,b`` and ``glob(*)``: categorical, with each choice's spelling."""
    from hydra.core.override_parser.types import ChoiceSweep

    value = ov.value()
    tags = value.tags if isinstance(value, ChoiceSweep) else set()
    _check_tags(where, tags, allow_log=False)
    if isinstance(value, ChoiceSweep) and value.shuffle:
        raise SearchSpaceError(f"{where}: shuffle() means nothing to a sampler; drop it")
    spelled = list(ov.sweep_string_iterator())
    if ov.value_type.name == "GLOB_CHOICE_SWEEP":
        elements: list[Any] = list(spelled)
    else:
        elements = list(value.list if isinstance(value, ChoiceSweep) else value)
    if not spelled:
        raise SearchSpaceError(f"{where}: the choice is empty")
    choices = [_categorical_value(e, s) for e, s in zip(elements, spelled)]
    seen: dict[str, int] = {}
    for s in spelled:
        seen[s] = seen.get(s, 0) + 1
    dup = [s for s, n in seen.items() if n > 1]
    if dup:
        raise SearchSpaceError(f"{where}: repeated choice(s) {', '.join(dup)}")
    if len({repr(c) for c in choices}) != len(choices):
        raise SearchSpaceError(f"{where}: choices {spelled} are not distinct values")
    return CategoricalDistribution(choices), tuple(spelled)


def _range(value: Any, where: str) -> BaseDistribution:
    """``range(start, stop, step)``: int (stop excluded) or float with step; ``log`` for ints."""
    log = _check_tags(where, value.tags, allow_log=True)
    if value.shuffle:
        raise SearchSpaceError(f"{where}: shuffle() means nothing to a sampler; drop it")
    _numeric(where, value.start, value.stop, value.step)
    if value.step == 0:
        raise SearchSpaceError(f"{where}: range step must not be 0")
    if _is_int(value.start) and _is_int(value.stop) and _is_int(value.step):
        return _int_range(value, where, log)
    if log:
        raise SearchSpaceError(
            f"{where}: a float range has a step and Optuna cannot combine a step with log "
            "scale; use tag(log, interval(low, high))"
        )
    # decimal arithmetic on the written values: range(0.0, 0.55, 0.05) ends at 0.5
    start, stop, step_d = (decimal.Decimal(repr(float(v))) for v in (value.start, value.stop, value.step))
    n = math.ceil((stop - start) / step_d)
    items_f = [float(start + i * step_d) for i in range(max(n, 0))]
    if len(items_f) < 2:
        raise SearchSpaceError(f"{where}: the range holds fewer than two values: {items_f}")
    return FloatDistribution(min(items_f), max(items_f), step=float(abs(step_d)))


def _int_range(value: Any, where: str, log: bool) -> IntDistribution:
    items = list(range(value.start, value.stop, value.step))
    if not items:
        raise SearchSpaceError(
            f"{where}: range({value.start}, {value.stop}, {value.step}) is empty (the stop value is excluded)"
        )
    low, high, step = min(items), max(items), abs(value.step)
    if log and step != 1:
        raise SearchSpaceError(f"{where}: a log-scale int range needs step 1, got {step}")
    if log and low < 1:
        raise SearchSpaceError(f"{where}: a log-scale int range needs values >= 1, got {low}")
    if low == high:
        raise SearchSpaceError(f"{where}: the range holds one value ({low}); give it as a plain value")
    return IntDistribution(low, high, step=step, log=log)


def _interval(value: Any, where: str) -> BaseDistribution:
    """``interval(low, high)`` (bounds included): int when both bounds are ints."""
    log = _check_tags(where, value.tags, allow_log=True)
    _numeric(where, value.start, value.end)
    low, high = value.start, value.end
    if not low < high:
        raise SearchSpaceError(f"{where}: interval needs low < high, got ({low}, {high})")
    if log and low <= 0:
        raise SearchSpaceError(f"{where}: a log-scale interval needs low > 0, got {low}")
    if _is_int(low) and _is_int(high):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def parse_search_space(
    params: Mapping[str, Any] | None,
    arguments: Sequence[str] = (),
    config_loader: Any = None,
) -> tuple[SearchSpace, list[str]]:
    """Build the search space from ``hydra.sweeper.params`` and the command-line ``arguments``.

    Returns the space and the command-line overrides to pass to every job unchanged (the
    arguments that are not sweeps). Raises :class:`SearchSpaceError` with the offending entry.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create(config_loader=config_loader)

    def parse(line: str, where: str) -> Any:
        try:
            return parser.parse_override(line)
        except (HydraException, ValueError) as exc:
            msg = str(exc).strip().splitlines()
            raise SearchSpaceError(f"{where}: cannot parse {line!r}: {msg[-1] if msg else exc}") from None

    entries: dict[str, tuple[Any, str]] = {}  # name -> (parsed override, where)
    fixed: dict[str, str] = {}  # name -> override line
    for key, raw in (params or {}).items():
        key = str(key)
        where = f"hydra.sweeper.params[{key!r}]"
        line = f"{key}={raw if isinstance(raw, str) else _value_to_override_str(raw)}"
        ov = parse(line, where)
        _add(ov, where, line, entries, fixed)

    passthrough: list[str] = []
    for arg in arguments:
        ov = parse(arg, f"command-line override {arg!r}")
        if ov.is_hydra_override():
            passthrough.append(arg)
            continue
        name = ov.key_or_group if ov.package is None else f"{ov.key_or_group}@{ov.package}"
        if ov.is_sweep_override():
            fixed.pop(name, None)
            _add(ov, f"command-line override {arg!r}", arg, entries, fixed)
        else:
            # a plain value on the command line fixes the key: it leaves the search space
            entries.pop(name, None)
            fixed.pop(name, None)
            passthrough.append(arg)

    built = []
    for name, (ov, where) in entries.items():
        dist, spelled = _from_override(ov, where)
        built.append(
            Param(
                name=name,
                key=ov.get_key_element(),
                distribution=dist,
                choice_strings=spelled,
                source=where,
            )
        )
    return SearchSpace(params=tuple(built), fixed=tuple(fixed.values())), passthrough


def _add(
    ov: Any,
    where: str,
    line: str,
    entries: dict[str, tuple[Any, str]],
    fixed: dict[str, str],
) -> None:
    name = ov.key_or_group if ov.package is None else f"{ov.key_or_group}@{ov.package}"
    if ov.is_delete():
        raise SearchSpaceError(f"{where}: a deletion (~key) cannot be searched")
    if ov.is_hydra_override():
        raise SearchSpaceError(f"{where}: hydra.* settings cannot be searched")
    if ov.is_sweep_override():
        entries[name] = (ov, where)
        fixed.pop(name, None)
    else:
        entries.pop(name, None)
        fixed[name] = line
