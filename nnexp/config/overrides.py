"""Catch misspelt override keys before Hydra runs, with a "did you mean" suggestion."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

from nnexp.config.schema import Config

#: Hydra flags that consume the next argument.
_FLAGS_WITH_VALUE = {
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--info",
    "-i",
    "--experimental-rerun",
}
_GROUPS = ("data", "model", "optimizer", "trainer", "tracking", "hparams_search")


def schema_keys(cls: type = Config, prefix: str = "") -> dict[str, type | None]:
    """Every dotted key of the schema -> its dataclass for sections, ``None`` for leaves."""
    keys: dict[str, type | None] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            keys[name] = type(default)
            keys.update(schema_keys(type(default), prefix=f"{name}."))
        else:
            keys[name] = None
    return keys


def _override_keys(args: Iterable[str]) -> list[str]:
    keys: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _FLAGS_WITH_VALUE
            continue
        if "=" not in arg or arg.startswith(("+", "~")):
            continue
        key = arg.split("=", 1)[0].strip()
        if "@" in key or key.startswith("hydra.") or key == "hydra":
            continue
        keys.append(key)
    return keys


def check_overrides(args: Iterable[str]) -> list[str]:
    """Messages for override keys that name no config key (empty when all look fine).

    Only keys under the schema's sections (``model.``, ``trainer.`` ...) and bare words that are
    a known leaf name elsewhere are judged; everything else is left to Hydra.
    """
    known = schema_keys()
    leaves = [k for k, v in known.items() if v is None and "options" not in k.split(".")[-1:]]
    problems: list[str] = []
    for key in _override_keys(args):
        parts = key.split(".")
        if parts[0] not in known or known[parts[0]] is None:
            if len(parts) == 1 and key not in _GROUPS:
                hits = [leaf for leaf in leaves if leaf.split(".")[-1] == key]
                if hits:
                    problems.append(f"unknown key {key!r}; did you mean {' or '.join(hits)}?")
            continue
        if key in known:
            continue
        # the longest known section prefix and whether it is open (a dict-valued leaf)
        for i in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in known:
                break
        if known.get(prefix) is None:  # under a dict leaf (data.options.x, tracking.tags.x)
            continue
        section_keys = [
            k for k in known if k.startswith(prefix + ".") and k.count(".") == prefix.count(".") + 1
        ]
        close = difflib.get_close_matches(key, section_keys, n=1, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        names = ", ".join(k.split(".")[-1] for k in section_keys)
        problems.append(f"unknown key {key!r}; {hint}valid keys in {prefix}: {names}")
    return problems


def unread_key(key: str) -> str | None:
    """Why nnexp reads no config key ``key`` (with the valid keys nearby), or None when it does.

    Stricter than :func:`check_overrides`: a key under no schema section is refused too. Keys
    under a dict-valued leaf (``data.options.x``, ``tracking.tags.x``) are read as given.
    """
    known = schema_keys()
    if key in known:
        return None
    parts = key.split(".")
    prefix = ""
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in known:
            prefix = ".".join(parts[:i])
            break
    if prefix and known[prefix] is None:
        return None
    depth = prefix.count(".") + 1 if prefix else 0
    siblings = [k for k in known if k.startswith(prefix + ".") and k.count(".") == depth]
    if not prefix:
        siblings = [k for k in known if "." not in k]
    close = difflib.get_close_matches(key, [k for k in known if known[k] is None], n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    where = f"valid keys in {prefix}" if prefix else "the config's sections are"
    names = ", ".join(k.split(".")[-1] for k in siblings)
    return f"{key!r} is not a config key nnexp reads; {hint}{where}: {names}"
