"""Which ``nnexp-train`` command lines start the tracking process before Hydra composes."""

from __future__ import annotations

import pytest

from nnexp.cli.train import may_track


@pytest.mark.parametrize(
    "args",
    [[], ["trainer.epochs=3"], ["tracking.enabled=true"], ["data=mnist", "+tracking.tags.k=v"]],
)
def test_a_single_run_may_be_tracked(args):
    assert may_track(args)


@pytest.mark.parametrize(
    "args",
    [
        ["tracking.enabled=false"],
        ["trainer.epochs=3", "tracking.enabled=False"],
        ["++tracking.enabled=false"],
        ["-m", "hparams_search=digits"],
        ["--multirun"],
        ["--cfg", "job"],
        ["-c", "job"],
        ["--help"],
        ["--info"],
    ],
)
def test_no_tracked_single_run(args):
    assert not may_track(args)
