"""One exit code per kind of failure, for every entry point."""

from __future__ import annotations

import pytest

from nnexp import errors
from nnexp.config.validate import ConfigError


@pytest.mark.parametrize(
    "exc, code",
    [
        (errors.SearchSpaceError("x"), 2),
        (errors.SweepSettingError("x"), 2),
        (errors.UnsafeName("x"), 2),
        (errors.Refusal("x"), 2),
        (ConfigError(["a", "b"]), 2),
        (errors.TrackingUnavailable("x"), 3),
        (errors.StorageUnavailable("x"), 3),
        (errors.SweepStopped("x"), 3),
        (errors.ServiceUnreachable("x"), 3),
        (errors.SweepFailed("x"), 1),
        (KeyboardInterrupt(), 130),
        (RuntimeError("a bug"), None),
    ],
)
def test_exit_code(exc: BaseException, code: int | None) -> None:
    assert errors.exit_code(exc) == code


def test_old_import_paths_still_work() -> None:
    from nnexp.repro.errors import Refusal
    from nnexp.search.samplers import SweepSettingError
    from nnexp.tracking.store import TrackingUnavailable, UnsafeName

    assert Refusal is errors.Refusal and SweepSettingError is errors.SweepSettingError
    assert TrackingUnavailable is errors.TrackingUnavailable and UnsafeName is errors.UnsafeName


def test_config_problems_lists_each_problem() -> None:
    assert errors.config_problems(ConfigError(["a", "b"])) == "invalid configuration:\n  a\n  b"
    assert errors.config_problems(errors.Refusal("no")) == "no"
