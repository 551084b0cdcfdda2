"""Re-export: the refusal of the reproduction commands lives in :mod:`nnexp.errors`."""

from __future__ import annotations

from nnexp.errors import Refusal

__all__ = ["Refusal"]
