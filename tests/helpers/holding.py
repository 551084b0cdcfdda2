"""The tests' side of ``nnexp.search.hold``: hold a sweep's trials at a step, wait for the
event each held trial writes (its worker's pid), act (kill it, stop a server), release.

A trial that is held cannot finish meanwhile, so what the test does lands inside it for
certain, not on a store snapshot that may already be stale."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers.waiting import wait_for
from nnexp.search.hold import HOLD_ENV, RELEASE_FILE


class Hold:
    """Trials numbered ``first`` or higher stop once they reported step ``step``; one
    directory per hold (``root`` is created)."""

    def __init__(self, root: Path, *, first: int = 0, step: int = 1) -> None:
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.first, self.step = first, step

    def env(self) -> dict[str, str]:
        """The environment entry that makes a sweep's workers hold."""
        return {HOLD_ENV: f"{self.first}:{self.step}:{self.dir}"}

    def held(self) -> dict[int, int]:
        """{trial number: worker pid} of the trials held so far."""
        return {
            int(p.name.split("_")[1]): int(p.read_text())
            for p in self.dir.glob("trial_*")
            if p.suffix != ".part"
        }

    def wait(
        self,
        count: int = 1,
        timeout: float = 240,
        *,
        proc: subprocess.Popen | None = None,
        log: Path | None = None,
    ) -> dict[int, int]:
        """{trial: pid} once ``count`` trials are held (the event: each wrote its pid)."""
        return wait_for(
            lambda: (held := self.held()) and len(held) >= count and held,
            timeout,
            f"{count} trial(s) held at step {self.step}",
            proc=proc,
            log=log,
        )

    def worker_trial(self, sweeper: subprocess.Popen, log: Path, timeout: float = 120) -> tuple[int, int]:
        """(trial, pid) of the lowest-numbered trial held in a worker process, not in the
        ``sweeper`` itself (which runs trials too with one worker)."""
        held = wait_for(
            lambda: {n: pid for n, pid in self.held().items() if pid != sweeper.pid},
            timeout,
            "a worker process's trial held",
            proc=sweeper,
            log=log,
        )
        return min(held.items())

    def release(self) -> None:
        """Let every held trial go on; none holds after this."""
        (self.dir / RELEASE_FILE).touch()
