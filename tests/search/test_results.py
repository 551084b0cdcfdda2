"""The one rule for the best trial, and the paths a config names."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnexp.search import best_trial
from nnexp.search.results import ranked_trials


def _trials() -> list:
    dist = {"x": FloatDistribution(0, 1)}
    out = []
    for n, (state, value) in enumerate(
        [
            (TrialState.COMPLETE, 0.5),
            (TrialState.PRUNED, None),
            (TrialState.COMPLETE, 0.9),
            (TrialState.FAIL, None),
            (TrialState.COMPLETE, 0.9),
            (TrialState.COMPLETE, 0.1),
        ]
    ):
        t = create_trial(state=state, value=value, params={"x": 0.5}, distributions=dist)
        t.number = n
        out.append(t)
    return out


@pytest.mark.parametrize("direction", ["maximize", optuna.study.StudyDirection.MAXIMIZE])
def test_best_trial_maximize_ties_go_to_the_lower_number(direction) -> None:
    assert best_trial(_trials(), direction).number == 2
    assert [t.number for t in ranked_trials(_trials(), direction)] == [2, 4, 0, 5]


def test_best_trial_minimize_and_none() -> None:
    assert best_trial(_trials(), "minimize").number == 5
    assert best_trial([t for t in _trials() if t.state != TrialState.COMPLETE], "maximize") is None


def test_config_paths_resolve_against_the_launch_dir(tmp_path: Path) -> None:
    from nnexp.data.paths import config_data_dir, resolve_under
    from nnexp.tracking.store import resolve_artifact_location

    assert resolve_under(None, tmp_path) is None
    assert resolve_under("data", tmp_path) == tmp_path / "data"
    assert resolve_under("/abs", tmp_path) == Path("/abs")
    assert resolve_under("~/x", tmp_path) == Path.home() / "x"
    assert config_data_dir(None, tmp_path) is None
    assert config_data_dir("d", tmp_path) == str(tmp_path / "d")
    assert resolve_artifact_location(None, tmp_path) is None
    assert resolve_artifact_location("s3://b/p", tmp_path) == "s3://b/p"
    assert resolve_artifact_location("art", tmp_path) == (tmp_path / "art").resolve().as_uri()
