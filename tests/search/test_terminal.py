"""What a sweep prints, through the real command: nnexp's start line instead of Hydra's launcher
chatter (which echoed every override, credentials included), one line per trial, status lines
with an ETA, the summary."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess

import pytest
from helpers import FULL_ERRORS, NNEXP_TRAIN, Hold, cli_env, wait_for
from test_sweep_cli import FAST, sweep

pytestmark = pytest.mark.slow


def test_sweep_terminal_has_start_trial_and_status_lines_and_no_launcher_chatter(tmp_path):
    # an override value nnexp never prints itself (the store's path is printed: "open it: ...")
    proc = sweep(
        tmp_path,
        *FAST,
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.status_every=1",
        "+tracking.tags.echo_marker=zq9echo",
    )
    out = proc.stdout + proc.stderr
    assert "Joblib.Parallel" not in out and "Launching jobs" not in out, out
    assert not re.search(r"#\d+ :", out), out
    assert "zq9echo" not in out and "hparams_search=digits" not in out  # no override echoed
    start = [x for x in out.splitlines() if x.startswith("[sweep] study 'digits'")]
    assert len(start) == 1, out
    assert re.search(r"new; target 2 trials, maximize val_accuracy, 1 worker\(s\)$", start[0])
    assert len([x for x in out.splitlines() if x.startswith("[trial ")]) == 2, out
    status = [x for x in out.splitlines() if x.startswith("[sweep] status: ")]
    assert [s.split(" trials done")[0] for s in status] == ["[sweep] status: 1/2", "[sweep] status: 2/2"]
    assert all(re.search(r"; elapsed \S+, ETA \S+$", s) for s in status), status
    assert status[-1].endswith("ETA 0s")
    assert re.search(
        r"^\[sweep\] test score of trial \d+ \(selected on validation only\): test_accuracy=\S+ "
        r"test_loss=\S+; vs baseline: test_accuracy \S+ vs baseline \S+",
        out,
        re.M,
    ), out
    assert not re.search(r"^epoch\s+\d+/", out, re.M), out  # per-epoch lines: single runs only


def test_n_jobs_above_the_trials_left_is_capped_with_a_line_saying_so(tmp_path):
    """n_jobs=64 used to become 2 workers without a word (issue 23, point 9)."""
    proc = sweep(tmp_path, *FAST, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=64")
    lines = (proc.stdout + proc.stderr).splitlines()
    cap = [x for x in lines if x.startswith("[sweep] hydra.sweeper.n_jobs=64 ")]
    assert len(cap) == 1 and "capped at 2: only 2 trial(s) left to run" in cap[0], lines


def test_status_line_names_the_trial_of_a_stopped_worker(tmp_path):
    """A worker stopped (SIGSTOP) mid-trial showed as "1 running" with a short ETA; the status
    line names its trial as running far longer than its peers (issue 23, point 9)."""
    args = [*FAST, "model.depth=1", "model.width=16", "trainer.epochs=2", "hydra.sweeper.pruner=none"]
    args += ["hydra.sweeper.n_trials=6", "hydra.sweeper.n_jobs=2", "hydra.sweeper.status_seconds=1"]
    log = tmp_path / "sweep.log"
    # trials 2 on stop at their first epoch, so one of trials 0 and 1 completed (a peer to
    # compare with): the worker that wrote the event is frozen inside its trial for certain
    hold = Hold(tmp_path / "hold", first=2)
    proc = subprocess.Popen(
        [NNEXP_TRAIN, "-m", *args],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS, **hold.env()),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stopped: dict[str, int] = {}

    def stop_a_worker_mid_trial() -> bool:
        number, pid = hold.worker_trial(proc, log)
        os.kill(pid, signal.SIGSTOP)
        stopped.update(pid=pid, number=number)
        hold.release()  # the other worker goes on; the stopped one sees it once continued
        return True

    def stall_named() -> bool:
        return any(
            x.startswith("[sweep] status: ")
            and f"trial {stopped['number']} running " in x
            and x.endswith("stalled?")
            for x in log.read_text().splitlines()
        )

    try:
        assert stop_a_worker_mid_trial(), log.read_text()
        assert wait_for(stall_named, 120, "a status line naming the stopped trial", log=log), log.read_text()
        os.kill(stopped["pid"], signal.SIGCONT)
        assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        if stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped["pid"], signal.SIGCONT)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
