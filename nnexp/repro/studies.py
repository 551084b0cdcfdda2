"""Studies and trials in an Optuna storage: list them, load one, pick a trial (or refuse clearly).

The storage defaults exactly as the sweeper's does (``nnexp.search.storage``): ``None`` is the
journal ``<cwd>/mlruns/optuna/journal.log``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import FAIL_REASON_ATTR, PRUNED_AT_ATTR, RUN_ID_ATTR
from nnexp.errors import Refusal, SweepSettingError
from nnexp.search import (
    best_trial,
    confirmed_trial,
    local_file,
    open_storage,
    resolve_storage_url,
    state_counts,
    study_best,
)
from nnexp.tracking.masking import mask_secrets


@dataclass
class StudyInfo:
    """One study of a storage: trial counts by state and the best finished trial."""

    name: str
    direction: str
    n_trials: int
    counts: dict[str, int] = field(default_factory=dict)
    best_number: int | None = None
    best_value: float | None = None
    best_run_id: str | None = None


def storage_url(storage: str | None, base_dir: str | os.PathLike[str] | None = None) -> str:
    """The resolved storage URL (``None``: the sweeper's default journal under ``base_dir``/cwd)."""
    try:
        return resolve_storage_url(storage, base_dir or Path.cwd())
    except SweepSettingError as exc:
        raise Refusal(str(exc).replace("hydra.sweeper.storage", "--storage")) from None


def open_existing(url: str) -> BaseStorage:
    """Open a storage that a sweep created; refuse when its file does not exist."""
    path = local_file(url)
    if path is not None and not path.exists():
        raise Refusal(
            f"no Optuna storage at {mask_secrets(url)}: run a sweep here first "
            "(nnexp-train -m hparams_search=digits, or scripts/sweep.sh) or pass --storage URL"
        )
    from nnexp.search.storage import check_storage

    try:
        check_storage(url)  # damaged journal, unknown scheme, missing driver: say so
        return open_storage(url)
    except Exception as exc:  # noqa: BLE001 - driver/connection errors become one message
        raise Refusal(f"cannot open the Optuna storage {mask_secrets(url)}: {exc}") from None


def _info(name: str, direction: str, trials: list[FrozenTrial]) -> StudyInfo:
    info = StudyInfo(name=name, direction=direction, n_trials=len(trials), counts=state_counts(trials))
    best = best_trial(trials, direction)
    if best is not None:
        info.best_number, info.best_value = best.number, float(best.value)
        info.best_run_id = best.user_attrs.get(RUN_ID_ATTR)
    return info


def list_studies(storage: BaseStorage) -> list[StudyInfo]:
    """Every study in ``storage``, sorted by name."""
    out = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        trials = storage.get_all_trials(summary._study_id, deepcopy=False)  # noqa: SLF001
        direction = summary.direction.name.lower()
        out.append(_info(summary.study_name, direction, trials))
    return sorted(out, key=lambda s: s.name)


def describe_studies(infos: list[StudyInfo]) -> str:
    """``a (5 trials), b (3 trials)``, or ``none``."""
    return ", ".join(f"{s.name!r} ({s.n_trials} trials)" for s in infos) or "none"


def load_study(storage: BaseStorage, name: str, url: str) -> optuna.Study:
    """The study ``name``; refuse with the list of the storage's studies when it does not exist."""
    if name not in optuna.get_all_study_names(storage):
        raise Refusal(
            f"study {name!r} does not exist in {mask_secrets(url)}; "
            f"studies there: {describe_studies(list_studies(storage))}"
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=storage)


def _why_unfinished(trial: FrozenTrial) -> str:
    state = trial.state.name
    if trial.state == TrialState.FAIL:
        reason = trial.user_attrs.get(FAIL_REASON_ATTR)
        return "FAILED" + (f" ({reason})" if reason else "")
    if trial.state == TrialState.PRUNED and trial.user_attrs.get(PRUNED_AT_ATTR) is not None:
        return f"was {state} at epoch {trial.user_attrs[PRUNED_AT_ATTR]}"
    return f"is {state}"


def select_trial(study: optuna.Study, *, number: int | None = None, run_id: str | None = None) -> FrozenTrial:
    """The trial ``number``, the trial whose MLflow run is ``run_id``, or the best finished one.

    Refuses for a number out of range, a run of no trial, an empty study, and a trial that did
    not complete (pruned, failed, running) -- naming the best finished trial instead.
    """
    trials = study.get_trials(deepcopy=False)
    name = study.study_name
    best = confirmed_trial(study) or study_best(study)  # the confirmed choice when confirmed
    if number is None and run_id is None:
        if best is None:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(state_counts(trials).items())) or "no trials"
            raise Refusal(f"study {name!r} has no finished (COMPLETE) trial ({counts})")
        return best
    if run_id is not None:
        hits = [t for t in trials if t.user_attrs.get(RUN_ID_ATTR) == run_id]
        if not hits:
            raise Refusal(f"MLflow run {run_id} is not the run of any trial of study {name!r}")
        trial = hits[0]
    else:
        if not trials:
            raise Refusal(f"study {name!r} has no trials")
        numbers = [t.number for t in trials]
        if number not in numbers:
            raise Refusal(
                f"study {name!r} has no trial {number}; its trials are {min(numbers)}..{max(numbers)}"
            )
        trial = trials[numbers.index(number)]
    if trial.state != TrialState.COMPLETE:
        offer = (
            f"; the best finished trial is {best.number} (value {best.value:.6g}): --trial {best.number}"
            if best is not None
            else "; the study has no finished trial"
        )
        raise Refusal(
            f"trial {trial.number} of study {name!r} {_why_unfinished(trial)}: only COMPLETE trials "
            f"can be reproduced{offer}"
        )
    return trial
