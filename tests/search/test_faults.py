"""Faults that need no server: a torn last journal record, unsafe names (in-process, fast)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nnexp.errors import UnsafeName
from nnexp.filesystem import check_safe_name
from nnexp.search.stale import counted_trials
from nnexp.search.storage import open_storage


def _journal_with_trials(path: Path, n: int) -> None:
    study = optuna.create_study(study_name="torn", storage=open_storage(f"journal:{path}", create=True))
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
    ["../x", "a/../../x", "/etc/passwd", "~/x", "%2e%2e/x", "%252e%252e", "a%2fb", "a\\..\\b", "", "a\x00b"],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeName, match="not a safe name"):
        check_safe_name(name, "tracking.run_name")


@pytest.mark.parametrize("name", ["digits", "digits-mnist", "trial 3", "a.b_c", "x..y"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_safe_name(name, "hydra.sweeper.study_name") == name


def test_wait_reachable_backs_off_exponentially_and_gives_up_at_the_limit() -> None:
    from nnexp.tracking.store import TrackingUnavailable, wait_reachable

    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    def down(timeout: float) -> None:
        raise TrackingUnavailable("cannot reach the MLflow tracking server at http://x")

    with pytest.raises(TrackingUnavailable, match="http://x"):
        wait_reachable(down, 20, cap=8, sleep=sleep, clock=lambda: now[0])
    assert waits == [1, 2, 4, 8, 5]  # doubling, capped, never past the limit
    assert sum(waits) == 20


def test_wait_reachable_returns_once_the_service_answers() -> None:
    from nnexp.tracking.store import wait_reachable

    now, calls = [0.0], []

    def probe(timeout: float) -> None:
        calls.append(timeout)
        if len(calls) < 3:
            raise OSError("refused")

    def sleep(s: float) -> None:
        now[0] += s

    wait_reachable(probe, 60, sleep=sleep, clock=lambda: now[0])
    assert len(calls) == 3 and now[0] == 3.0


def test_probe_storage_names_the_database_and_masks_the_password() -> None:
    from nnexp.errors import StorageUnavailable
    from nnexp.search.health import is_storage_error, probe_storage

    probe_storage("journal:/nonexistent/journal.log")  # local files are not probed
    with pytest.raises(StorageUnavailable) as err:
        probe_storage("postgresql://u:s3cret@127.0.0.1:1/db", 1)
    text = str(err.value)
    assert "postgresql://u:***@127.0.0.1:1/db" in text and "s3cret" not in text
    assert not is_storage_error(ValueError("x"))


def test_an_mlflow_error_caused_by_its_own_database_is_not_the_optuna_storage() -> None:
    """MLflow's SQL store wraps SQLAlchemy errors: those are MLflow's, not the Optuna storage's."""
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException

    from nnexp.search.health import is_storage_error

    cause = sqlalchemy.exc.IntegrityError("INSERT INTO datasets", {}, Exception("UNIQUE constraint"))
    assert is_storage_error(cause)
    try:
        try:
            raise cause
        except sqlalchemy.exc.IntegrityError as e:
            raise MlflowException(f"({type(e).__name__}) {e}") from e
    except MlflowException as wrapped:
        assert not is_storage_error(wrapped)


def test_reconnect_timeout_setting_is_checked() -> None:
    from nnexp.errors import SweepSettingError
    from nnexp.search.settings import check_settings

    base = {"n_trials": 1, "n_jobs": 1, "direction": "maximize", "metric": "val_accuracy"}
    check_settings({**base, "reconnect_timeout": 0})
    with pytest.raises(SweepSettingError, match="reconnect_timeout"):
        check_settings({**base, "reconnect_timeout": -1})


def test_an_enqueued_retry_still_runs_when_the_study_holds_n_trials() -> None:
    """The reaper's retry keeps the count at n_trials; it must still be run, not left WAITING."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from nnexp.contract import RETRIED_ATTR
    from nnexp.search.stale import remaining_trials

    study = optuna.create_study()
    dist = {"x": FloatDistribution(0, 1)}
    for _ in range(3):
        study.add_trial(create_trial(params={"x": 0.5}, distributions=dist, value=1.0))
    study.add_trial(
        create_trial(
            params={"x": 0.2}, distributions=dist, state=TrialState.FAIL, user_attrs={RETRIED_ATTR: True}
        )
    )
    assert remaining_trials(study.get_trials(), 4) == 1  # the reaped trial does not count
    study.enqueue_trial({"x": 0.2})
    trials = study.get_trials()
    assert remaining_trials(trials, 4) == 1  # the WAITING retry fills the freed slot
    trial = study.ask(dist)
    assert trial.params == {"x": 0.2}
    study.tell(trial, 0.9)
    assert remaining_trials(study.get_trials(), 4) == 0
