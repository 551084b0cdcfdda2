"""Flatten a resolved config into MLflow params (dotted keys, string values, masked secrets)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nnexp.tracking.masking import mask_secrets

#: MLflow's limits on a param's key and value length.
MAX_KEY_LENGTH = 250
MAX_VALUE_LENGTH = 6000


def format_value(value: Any) -> str:
    """A param value as text, YAML-style for scalars (``null``, ``true``, ``0.001``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> ``{"a.b.c": leaf}``; empty mappings stay as ``{}`` leaves, lists as leaves."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, prefix=f"{name}."))
        else:
            out[name] = value
    return out


def config_params(config: Mapping[str, Any]) -> dict[str, str]:
    """Every leaf of a resolved config as an MLflow param: dotted key -> masked, truncated text."""
    params: dict[str, str] = {}
    for key, value in flatten(config).items():
        text = mask_secrets(format_value(value))
        if len(text) > MAX_VALUE_LENGTH:
            text = text[: MAX_VALUE_LENGTH - 3] + "..."
        params[key[:MAX_KEY_LENGTH]] = text
    return params
