"""The one line printed per finished trial, e.g.

``[trial 7] COMPLETE value=0.9722 best=0.9750 (trial 3) 12.3s``
``[trial 8] PRUNED at epoch 4 value=0.8111 best=0.9750 (trial 3) 2.1s``
``[trial 9] FAIL diverged: non-finite loss at epoch 3 best=0.9750 (trial 3) 1.0s``
"""

from __future__ import annotations

import math
import sys
from typing import TextIO


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def trial_line(
    number: int,
    state: str,
    value: float | None,
    best_value: float | None,
    best_number: int | None,
    elapsed_s: float,
    *,
    pruned_at: int | None = None,
    reason: str | None = None,
    n_trials: int | None = None,
) -> str:
    """Format the per-trial line (number, state, value, best so far, elapsed seconds)."""
    head = f"[trial {number}" + (f"/{n_trials - 1}" if n_trials else "") + f"] {state}"
    parts = [head]
    if pruned_at is not None:
        parts.append(f"at epoch {pruned_at}")
    if reason and state == "FAIL":
        short = reason.strip().splitlines()[0] if reason.strip() else reason
        parts.append(short[:120])
    if value is not None:
        parts.append(f"value={_num(value)}")
    best = f"best={_num(best_value)}" + (
        f" (trial {best_number})" if best_number is not None else ""
    )
    parts.append(best)
    parts.append(f"{elapsed_s:.1f}s")
    return " ".join(parts)


def print_line(line: str, stream: TextIO | None = None) -> None:
    """Print and flush at once (worker processes share the terminal with the sweeper)."""
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()
