"""Throwaway servers for the scale tests and ``scripts/bench_scale.py``: a PostgreSQL cluster
(Debian's binaries: ``initdb`` + ``pg_ctl`` in a temp dir) and an ``mlflow server`` on it
(:class:`helpers.servers.MlflowServer`, re-exported here).

Both bind to 127.0.0.1 on a free port and are stopped (and their files removed) by ``stop``,
which the fixtures call also when a test fails.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers.servers import MlflowServer, free_port

__all__ = ["MlflowServer", "PostgresCluster", "free_port", "postgres_bin"]

USER = "nnexp"


def postgres_bin() -> Path | None:
    """``$NNEXP_PG_BIN``, else the newest ``/usr/lib/postgresql/<v>/bin`` with initdb."""
    if os.environ.get("NNEXP_PG_BIN"):
        return Path(os.environ["NNEXP_PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """A private PostgreSQL cluster; superuser ``nnexp`` with a random password (scram)."""

    def __init__(self, *, fsync: bool = False) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.bin = bindir
        self.fsync = fsync
        self.password = "pw-" + secrets.token_hex(8)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="nnexp-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user: str | None = None
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            self._user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.root, user=self._user)

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            user=self._user,
            cwd=self.root,
            timeout=120,
        )

    def start(self) -> PostgresCluster:
        """initdb + pg_ctl start (waits until it accepts connections)."""
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._user:
            shutil.chown(pwfile, user=self._user)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            f"-c max_connections=200 -c fsync={'on' if self.fsync else 'off'}"
            + ("" if self.fsync else " -c synchronous_commit=off -c full_page_writes=off")
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")
        return self

    def url(self, database: str, *, password: bool = False) -> str:
        """SQLAlchemy URL; without ``password`` the client reads ``PGPASSWORD`` (see ``env``)."""
        auth = f"{USER}:{self.password}" if password else USER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        """Environment entries that let libpq clients log in (no password in any URL)."""
        return {"PGPASSWORD": self.password}

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its password-less URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def halt(self) -> None:
        """pg_ctl stop -m immediate (as a crash would), keeping the files: ``start`` is not
        repeatable, ``stop`` still cleans up."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """pg_ctl stop (immediate) and remove the cluster's files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
