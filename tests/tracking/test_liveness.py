"""Which runs belong to dead processes (nnexp.tracking.liveness), without MLflow."""

from __future__ import annotations

import os
import subprocess
import sys

from nnexp.tracking.liveness import (
    HOST_TAG,
    PID_NS_TAG,
    PID_START_TAG,
    PID_TAG,
    dead_reason,
    process_alive,
    process_tags,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_alive_and_a_finished_one_is_not() -> None:
    tags = process_tags()
    assert tags[PID_TAG] == str(os.getpid())
    assert dead_reason(tags) is None and process_alive(os.getpid(), tags.get(PID_START_TAG))
    dead = {**tags, PID_TAG: str(_dead_pid())}
    assert "died while the run was RUNNING" in (dead_reason(dead) or "")


def test_other_hosts_namespaces_and_untagged_runs_are_left_alone() -> None:
    dead = {**process_tags(), PID_TAG: str(_dead_pid())}
    assert dead_reason({**dead, HOST_TAG: "elsewhere"}) is None
    assert dead_reason({**dead, PID_NS_TAG: "pid:[1]"}) is None
    assert dead_reason({HOST_TAG: dead[HOST_TAG]}) is None
    assert dead_reason({}) is None


def test_a_reused_pid_is_recognised_by_its_start_time() -> None:
    tags = process_tags()
    if PID_START_TAG not in tags:  # no /proc here
        return
    assert dead_reason({**tags, PID_START_TAG: "1"}) is not None
