"""What a sweep prints, through the real command: nnexp's start line instead of Hydra's launcher
chatter (which echoed every override, credentials included), one line per trial, status lines
with an ETA, the summary."""

from __future__ import annotations

import re

import pytest
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
