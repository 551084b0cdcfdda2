"""One recorder type: ``RunRecorder`` (in-process) and ``RecorderProxy`` (a second process)
are what ``Recorder`` says, and ``train/`` types against it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from nnexp.tracking.agent import RecorderProxy
from nnexp.tracking.recorder import Recorder, RunRecorder

TRAIN = Path(__file__).resolve().parents[2] / "nnexp" / "train"


def _members(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


@pytest.mark.parametrize("impl_cls", [RunRecorder, RecorderProxy])
def test_each_recorder_has_every_member_of_the_protocol_with_its_signature(impl_cls):
    for name in _members(Recorder):
        proto, impl = getattr(Recorder, name), getattr(impl_cls, name)
        if isinstance(proto, property):
            assert isinstance(impl, property), name
            continue
        assert inspect.signature(proto) == inspect.signature(impl), name


def test_train_types_its_recorder_as_the_protocol():
    untyped = [
        f"{path.name}: {line.strip()}"
        for path in sorted(TRAIN.glob("*.py"))
        for line in path.read_text().splitlines()
        if re.search(r"\brecorder\b\s*:\s*Any\b", line)
    ]
    assert untyped == []
