"""How sweep runs are named and described in the MLflow UI (pure functions, no MLflow calls).

A trial's run is renamed once it ends: ``trial-7 adam lr=3.1e-03 d=2 w=128``, with
``[pruned]``, ``[failed]`` or ``[diverged]`` appended; a confirmation run is ``confirm-7 seed=2 ...``;
its description (``mlflow.note.content``) says what happened to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnexp.contract import CONFIRM_SEED_TAG, CONFIRMS_TAG, DIVERGED_REASON, EndState
from nnexp.tracking.links import run_link

#: The run params shown in a trial run's name, with their short labels ("" = the bare value).
NAME_PARAMS: tuple[tuple[str, str], ...] = (
    ("optimizer.name", ""),
    ("optimizer.lr", "lr"),
    ("model.depth", "d"),
    ("model.width", "w"),
)
#: Name suffix per Optuna trial state (COMPLETE has none); a diverged trial is PRUNED.
STATE_SUFFIX = {EndState.PRUNED: " [pruned]", EndState.FAIL: " [failed]"}
DIVERGED_SUFFIX = " [diverged]"


def _short_value(value: Any) -> str:
    """``0.0031`` -> ``3.1e-03``, ``[128, 64]`` -> ``128-64``, ``"2"`` -> ``2``."""
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        return "-".join(_short_value(v) for v in text[1:-1].split(",") if v.strip())
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and "e" not in text.lower() and "." not in text:
        return str(int(number))
    return f"{number:.1e}"


def confirmation_label(tags: Mapping[str, Any]) -> str | None:
    """``confirm-7 seed=2``: how a confirmation run (``hydra.sweeper.confirm``) or its line is
    named, from its tags; None for a search trial's."""
    if tags.get(CONFIRMS_TAG) in (None, "") or tags.get(CONFIRM_SEED_TAG) in (None, ""):
        return None
    return f"confirm-{tags[CONFIRMS_TAG]} seed={tags[CONFIRM_SEED_TAG]}"


def trial_run_name(
    number: int,
    params: Mapping[str, Any],
    state: str | None = None,
    reason: str | None = None,
    label: str | None = None,
) -> str:
    """A trial run's name: ``trial-7 adam lr=3.1e-03 d=2 w=128`` (+ ``[pruned]``/``[failed]``,
    or ``[diverged]`` for a trial PRUNED because it diverged: its ``reason``).

    ``params`` are the run's params (dotted config keys); missing keys are left out. ``label``
    replaces ``trial-7`` (a confirmation run: ``confirm-7 seed=2``).
    """
    parts = [label or f"trial-{int(number)}"]
    for key, label in NAME_PARAMS:
        if key in params and params[key] not in (None, ""):
            value = _short_value(params[key])
            parts.append(f"{label}={value}" if label else value)
    if state == EndState.PRUNED and is_diverged_reason(reason):
        return " ".join(parts) + DIVERGED_SUFFIX
    return " ".join(parts) + STATE_SUFFIX.get(state or "", "")


def is_diverged_reason(reason: str | None) -> bool:
    """Whether a trial's reason says it diverged (``diverged: non-finite loss at epoch 3``)."""
    return bool(reason) and str(reason).startswith(DIVERGED_REASON)


def trial_note(
    study_name: str,
    number: int,
    state: str,
    *,
    pruned_at: int | None = None,
    fail_reason: str | None = None,
    parent_run_id: str | None = None,
    experiment_id: str | None = None,
) -> str:
    """Markdown description of a trial run: its sweep and what happened to the trial."""
    sweep = f"`{study_name}`"
    if parent_run_id and experiment_id:
        sweep = run_link(f"sweep-{study_name}", parent_run_id, experiment_id)
    what = {EndState.COMPLETE: "completed", EndState.PRUNED: "pruned", EndState.FAIL: "failed"}.get(
        state, state.lower()
    )
    if state == EndState.PRUNED and is_diverged_reason(fail_reason):
        what += f" ({fail_reason}; the weights of the last finite epoch were kept)"
    elif state == EndState.PRUNED and pruned_at is not None:
        what += f" at epoch {pruned_at} (its learning curve was behind the other trials')"
    if state == EndState.FAIL and fail_reason:
        what += f": {fail_reason}"
    return f"Trial {int(number)} of sweep {sweep}: **{what}**."
