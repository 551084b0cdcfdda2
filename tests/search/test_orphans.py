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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killing_the_sweeper_leaves_no_worker_or_resource_tracker(tmp_path: Path) -> None:
    hold = Hold(tmp_path / "hold")  # each worker stops at its first epoch: inside its trial loop
    main = subprocess.Popen(
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
        env=cli_env(**hold.env()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    family: set[int] = set()
    try:
        hold.wait(2, 240, proc=main)  # both workers are inside their trial loop
        kids = _children(main.pid)
        workers = [k for k in kids if "loky" in _cmdline(k) and "resource_tracker" not in _cmdline(k)]
        assert len(workers) == 2, {k: _cmdline(k) for k in kids}
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
