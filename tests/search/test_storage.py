"""A storage that cannot work ends in one clear message and exit 2 before any trial
(nnexp.search.storage), through the real ``nnexp-train -m``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers import NNEXP_TRAIN, cli_env

from nnexp.errors import SweepSettingError
from nnexp.search.storage import check_journal, open_storage


def _journal(path: Path, n: int) -> None:
    study = optuna.create_study(study_name="digits", storage=open_storage(f"journal:{path}", create=True))
    for i in range(n):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, float(i))


def _damage(path: Path, line: int) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line - 1] = lines[line - 1][:25] + b"\n"  # a record cut short, then more records
    path.write_bytes(b"".join(lines))


def test_a_damaged_journal_line_is_named_with_the_recovery(tmp_path: Path) -> None:
    journal = tmp_path / "journal.log"
    _journal(journal, 3)
    _damage(journal, 4)
    with pytest.raises(SweepSettingError) as err:
        check_journal(journal)
    text = str(err.value)
    assert f"{journal} is damaged at line 4" in text and f"head -n 3 {journal}.bak > {journal}" in text
    # the recovery it prints works: the trials before the line load again
    os.rename(journal, f"{journal}.bak")
    journal.write_bytes(b"".join(Path(f"{journal}.bak").read_bytes().splitlines(keepends=True)[:3]))
    check_journal(journal)
    optuna.load_study(study_name="digits", storage=open_storage(f"journal:{journal}"))


def test_a_torn_last_line_is_not_damage(tmp_path: Path) -> None:
    journal = tmp_path / "journal.log"
    _journal(journal, 2)
    with open(journal, "ab") as fh:
        fh.write(b'{"op_code":4,"worker')
    check_journal(journal)


def _sweep(cwd: Path, storage: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            NNEXP_TRAIN,
            "-m",
            "hparams_search=digits",
            "hydra.sweeper.n_trials=1",
            "trainer.epochs=1",
            f"hydra.sweeper.storage={storage}",
        ],
        cwd=cwd,
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "storage, message",
    [
        ("notascheme://x", "hydra.sweeper.storage: unknown scheme 'notascheme'"),
        (
            "postgresql://nnexp@no-such-host.invalid:5432/optuna",
            "the host 'no-such-host.invalid' does not resolve",
        ),
        (
            "postgresql://nnexp@127.0.0.1:9/optuna",
            "needs the postgresql driver (psycopg), which is not installed: pip install -e '.[postgres]'",
        ),
    ],
)
def test_storage_errors_exit_2_before_any_trial(tmp_path: Path, storage: str, message: str) -> None:
    env = {}
    if "127.0.0.1" in storage:  # no PostgreSQL driver: both psycopg and psycopg2 unimportable
        fake = tmp_path / "nodriver"
        fake.mkdir()
        for mod in ("psycopg", "psycopg2"):
            (fake / f"{mod}.py").write_text(
                f"raise ModuleNotFoundError(\"No module named '{mod}'\", name={mod!r})\n"
            )
        env["PYTHONPATH"] = str(fake)
    run = tmp_path / "run"
    run.mkdir()
    proc = _sweep(run, storage, env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and "invalid sweep:" in proc.stderr
    assert "Traceback" not in proc.stderr and "[trial" not in proc.stdout
    assert not (run / "mlruns").exists()


@pytest.mark.slow
def test_a_damaged_journal_stops_the_sweep_with_the_line(tmp_path: Path) -> None:
    journal = tmp_path / "mlruns" / "optuna" / "journal.log"
    journal.parent.mkdir(parents=True)
    _journal(journal, 3)
    _damage(journal, 3)
    before = journal.read_bytes()
    proc = _sweep(tmp_path, f"journal:{journal}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"the Optuna journal {journal} is damaged at line 3" in proc.stderr
    assert "Traceback" not in proc.stderr and "JSONDecodeError" not in proc.stderr
    assert journal.read_bytes() == before  # untouched


def test_nnexp_studies_names_the_damaged_journal_line(tmp_path: Path) -> None:
    from nnexp.cli.main import main

    journal = tmp_path / "journal.log"
    _journal(journal, 2)
    _damage(journal, 2)
    assert main(["studies", "--storage", f"journal:{journal}"]) == 2


@pytest.fixture(scope="module")
def pg():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
    from scale_servers import PostgresCluster, postgres_bin

    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install -y postgresql)")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, code, message",
    [
        ("password", 2, 'password authentication failed for user "nnexp"'),
        ("database", 2, 'database "no_such_db" does not exist'),
        ("port", 3, "cannot reach the Optuna storage postgresql://nnexp:***@127.0.0.1:1/optuna"),
    ],
)
def test_postgres_refusals_end_in_one_line_before_any_trial(
    pg, tmp_path: Path, case: str, code: int, message: str
) -> None:
    """With the driver installed, a wrong password or an unknown database is one line and
    exit 2, a port nothing listens on exit 3 ("cannot reach"), each before any trial and with
    the password masked (issue 23, point 6); today a raw OperationalError, exit 1."""
    secret = "wrong-pw-do-not-print" if case == "password" else pg.password
    db = "no_such_db" if case == "database" else "postgres"
    port = 1 if case == "port" else pg.port
    storage = f"postgresql://nnexp:{secret}@127.0.0.1:{port}/{db if case != 'port' else 'optuna'}"
    proc = _sweep(tmp_path, storage)
    assert proc.returncode == code, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], proc.stderr[-3000:]
    assert secret not in proc.stdout + proc.stderr and "nnexp:***@" in lines[0]
    assert "Traceback" not in proc.stderr and "[trial" not in proc.stdout
    assert not (tmp_path / "mlruns").exists()
