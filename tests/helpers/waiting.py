"""Wait for an event, with a timeout message that says what was awaited and what was last seen.

Tests never sleep to synchronise: they wait on something the code under test emits (a line, a
file, a store record) through :func:`wait_for` or :class:`Lines`.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")

#: seconds between two looks at a predicate
INTERVAL = 0.1


def _tail(log: Path | None, chars: int = 3000) -> str:
    if log is None or not Path(log).exists():
        return ""
    return "\n" + Path(log).read_text(errors="replace")[-chars:]


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
    errors: tuple[type[BaseException], ...] = (),
    interval: float = INTERVAL,
    seen: Callable[[], object] | None = None,
) -> T:
    """The first truthy value of ``predicate()``, called until ``timeout`` seconds passed.

    Raises AssertionError naming ``what``, the timeout and the last value seen (or the last of
    ``errors``, which count as "not yet": a store not created yet; or what ``seen()`` says), with
    ``log``'s tail; also at once when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        exited = proc is not None and proc.poll() is not None  # before the look: no event missed
        try:
            value = predicate()
        except errors as exc:
            value, last = None, exc  # type: ignore[assignment]
        else:
            if value:
                return value
            last = value
        if exited:
            raise AssertionError(
                f"waiting for {what}: the process exited {proc.returncode} first "
                f"(last seen: {last!r}){_tail(log)}"
            )
        if time.monotonic() >= deadline:
            if seen is not None:
                last = seen()
            raise AssertionError(f"{what}: not within {timeout:g}s (last seen: {last!r}){_tail(log)}")
        time.sleep(interval)


def wait_for_text(log: Path, text: str, timeout: float, *, proc: subprocess.Popen | None = None) -> str:
    """Wait until the file ``log`` holds ``text``; returns the file's text."""

    def holds() -> str | None:
        content = log.read_text(errors="replace") if log.exists() else ""
        return content if text in content else None

    return wait_for(holds, timeout, f"{text!r} in {log.name}", proc=proc, log=log)


class Lines:
    """The lines a process writes to its piped stdout and stderr, read by two threads as they
    come (a pipe nobody reads fills and blocks the writer), for :meth:`wait` on a pattern."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
            if stream is not None
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._seen[name].append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _ended(self) -> bool:
        return not any(thread.is_alive() for thread in self._threads)

    def wait(self, pattern: str, timeout: float, stream: str = "stdout") -> re.Match[str]:
        """The first line of ``stream`` matching ``pattern`` (``re.match``), once written."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._seen[stream]:
                    found = re.match(pattern, line)
                    if found:
                        return found
                if self._ended() or time.monotonic() >= deadline:
                    why = "the process closed it" if self._ended() else f"not within {timeout:g}s"
                    tail = "".join(self._seen[stream][-20:])
                    raise AssertionError(f"a {stream} line matching {pattern!r}: {why}; last lines:\n{tail}")
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))

    def finish(self, timeout: float) -> tuple[str, str]:
        """Wait for the process and both streams to end; returns (stdout, stderr)."""
        self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        return "".join(self._seen["stdout"]), "".join(self._seen["stderr"])
