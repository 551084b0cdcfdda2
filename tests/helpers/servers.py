"""Servers the tests start on 127.0.0.1 and stop also when a test fails: any command that
answers HTTP (:func:`serve`: ``nnexp ui``, ``mlflow models serve``) and ``mlflow server``
(:class:`MlflowServer`, the scale tests' and ``scripts/bench_scale.py``'s)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from helpers.cli import MLFLOW, cli_env
from helpers.waiting import wait_for


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # 127.0.0.1 only
            return True
    except OSError:
        return False


def wait_http(
    url: str, timeout: float, *, proc: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    """Wait until ``url`` answers (fails at once when ``proc`` exits first)."""
    wait_for(lambda: _answers(url), timeout, f"{url} answering", proc=proc, log=log, interval=0.3)


def stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group of ``proc`` (started with ``start_new_session``), SIGKILL after
    ``timeout`` seconds; reaps it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


@contextlib.contextmanager
def serve(
    cmd: list[str],
    ready_url: str,
    cwd: Path,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 90,
) -> Iterator[subprocess.Popen]:
    """Run a server (its own process group, output to ``log``) until ``ready_url`` answers;
    stop it on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=cli_env() if env is None else env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(ready_url, timeout, proc=proc, log=log)
        yield proc
    finally:
        stop_group(proc)


class MlflowServer:
    """``mlflow server`` on 127.0.0.1 with ``--serve-artifacts`` into ``artifact_root``."""

    def __init__(self, backend_uri: str, artifact_root: Path, env: dict[str, str]) -> None:
        self.backend_uri = backend_uri
        self.artifact_root = Path(artifact_root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.artifact_root.parent / f"mlflow-server-{self.port}.log"

    def start(self, timeout: float = 120) -> MlflowServer:
        """Start and wait for ``/health``."""
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # "ab": a restart on the same port appends
        self.proc = subprocess.Popen(
            [
                *(MLFLOW, "server", "--backend-store-uri", self.backend_uri, "--serve-artifacts"),
                *("--artifacts-destination", str(self.artifact_root), "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", "2"),
            ],
            env=cli_env(**self.env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(self.url + "/health", timeout, proc=self.proc, log=self.log_path)
        except AssertionError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL the server's process group (a crash); ``start`` brings it back on the same
        port."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        stop_group(self.proc, 10)
        self._log.close()
