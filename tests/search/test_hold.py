"""The test hook that holds a trial at a step (nnexp.search.hold) and the tests' side of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from helpers import Hold, wait_for

from nnexp.search.hold import HOLD_ENV, hold_trial


def test_a_trial_is_held_at_its_step_until_released(tmp_path: Path, monkeypatch) -> None:
    hold = Hold(tmp_path / "hold", first=2, step=3)
    monkeypatch.setenv(HOLD_ENV, hold.env()[HOLD_ENV])
    beats: list[int] = []
    hold_trial(1, 3, lambda: beats.append(1), 0.01)  # below ``first``: not held
    hold_trial(2, 2, lambda: beats.append(1), 0.01)  # another step: not held
    assert hold.held() == {}
    held = threading.Thread(target=hold_trial, args=(2, 3, lambda: beats.append(1), 0.01))
    held.start()
    assert hold.wait(1, 30) == {2: os.getpid()}
    wait_for(lambda: beats, 30, "a heartbeat while held")
    assert held.is_alive()
    hold.release()
    held.join(30)
    assert not held.is_alive()
    hold_trial(3, 3, lambda: None, 0.01)  # after the release: nothing holds


def test_wait_for_names_what_it_awaited_and_the_last_value(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"the answer: not within 0.2s \(last seen: 41\)"):
        wait_for(lambda: 0, 0.2, "the answer", seen=lambda: 41)
    assert wait_for(lambda: "yes", 1, "a truthy value") == "yes"
