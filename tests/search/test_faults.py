"""Faults that need no server: a torn last journal record, unsafe names (in-process, fast)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nnexp.search.retries import counted_trials
from nnexp.search.storage import open_storage
from nnexp.tracking.store import UnsafeName, check_safe_name


def _journal_with_trials(path: Path, n: int) -> None:
    study = optuna.create_study(
        study_name="torn", storage=open_storage(f"journal:{path}", create=True)
    )
    for i in range(n):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, float(i))


def test_torn_last_journal_record_loses_no_earlier_trial(tmp_path: Path) -> None:
    """A writer killed mid-append leaves half a line: earlier trials load, and the next append
    cuts the torn tail instead of gluing a record onto it (which would break the journal)."""
    journal = tmp_path / "journal.log"
    _journal_with_trials(journal, 3)
    with open(journal, "ab") as fh:
        fh.write(b'{"op_code":4,"worker_id":"dead","study_id":0,"datetime_st')
    url = f"journal:{journal}"
    study = optuna.load_study(study_name="torn", storage=open_storage(url))
    assert [t.value for t in study.trials] == [0.0, 1.0, 2.0]
    t = study.ask()
    t.suggest_float("x", 0, 1)
    study.tell(t, 3.0)
    again = optuna.load_study(study_name="torn", storage=open_storage(url))
    assert [t.value for t in again.trials] == [0.0, 1.0, 2.0, 3.0]
    assert journal.read_bytes().endswith(b"\n") and b"dead" not in journal.read_bytes()


def test_retried_trials_do_not_count() -> None:
    from optuna.trial import TrialState, create_trial

    failed = create_trial(state=TrialState.FAIL, user_attrs={"retried": True})
    done = create_trial(value=1.0, user_attrs={"retried": True})  # finished meanwhile: counts
    assert counted_trials([failed, done, create_trial(value=2.0)]) == 2


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/etc/passwd", "~/x", "%2e%2e/x", "%252e%252e", "a%2fb", "a\\..\\b",
     "", "a\x00b"],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeName, match="not a safe name"):
        check_safe_name(name, "tracking.run_name")


@pytest.mark.parametrize("name", ["digits", "digits-mnist", "trial 3", "a.b_c", "x..y"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_safe_name(name, "hydra.sweeper.study_name") == name
