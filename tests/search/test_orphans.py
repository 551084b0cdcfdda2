"""``kill -9`` of the sweeper leaves no orphans: its loky workers and their resource trackers
exit within seconds (nnexp.search.watchdog), through the real ``nnexp-train -m``."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import NNEXP_TRAIN, Hold, cli_env, wait_for

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _workers(pid: int) -> list[int]:
    """The loky worker processes among ``pid``'s children (not its resource trackers)."""
    return [k for k in _children(pid) if "loky" in _cmdline(k) and "resource_tracker" not in _cmdline(k)]


def _sweep(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """A 2-worker digits sweep whose trials would run for minutes."""
    return subprocess.Popen(
        [
            NNEXP_TRAIN,
            "-m",
            "hparams_search=digits",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=4",
            "trainer.epochs=2000",
            "trainer.early_stopping.patience=10000",
            "hydra.sweeper.pruner=none",
            "hydra.sweeper.sampler.seed=0",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_and_wait_for_the_family(main: subprocess.Popen) -> None:
    """SIGKILL the sweeper ``main``, then wait until every process it started has exited."""
    family: set[int] = set()
    try:
        kids = _children(main.pid)
        family.update(kids)
        for k in kids:
            family.update(_children(k))
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=30)
        wait_for(
            lambda: not any(_alive(p) for p in family),
            30,
            "the sweeper's workers and resource trackers exiting after it died",
            seen=lambda: {p: _cmdline(p) for p in family if _alive(p)},
        )
    finally:
        if main.poll() is None:
            main.kill()
        for p in family:  # only what this test started
            if _alive(p):
                os.kill(p, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killing_the_sweeper_leaves_no_worker_or_resource_tracker(tmp_path: Path) -> None:
    hold = Hold(tmp_path / "hold")  # each worker stops at its first epoch: inside its trial loop
    main = _sweep(tmp_path, cli_env(**hold.env()))
    try:
        hold.wait(2, 240, proc=main)  # both workers are inside their trial loop
        assert len(_workers(main.pid)) == 2, {k: _cmdline(k) for k in _children(main.pid)}
    finally:
        _kill_and_wait_for_the_family(main)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killing_the_sweeper_while_it_prepares_leaves_no_prewarmed_process(tmp_path: Path) -> None:
    """The workers' processes start (prewarmed) as the sweeper starts preparing, which takes
    it seconds: killed as soon as both exist (still importing, or idle without a job), they
    exit too."""
    main = _sweep(tmp_path, cli_env())
    try:
        wait_for(lambda: len(_workers(main.pid)) == 2, 120, "the two prewarmed worker processes", proc=main)
    finally:
        _kill_and_wait_for_the_family(main)
