"""The one exception the reproduction commands refuse with (printed as is, exit code 2)."""

from __future__ import annotations


class Refusal(Exception):
    """A request that cannot be carried out as asked; the message says why and what to do."""

    exit_code = 2
