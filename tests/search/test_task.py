"""What differs between nnexp's trainer and any Hydra app as a sweep's task (nnexp.search.task)."""

from __future__ import annotations

import math

import pytest

from nnexp.errors import SweepSettingError
from nnexp.search.space import SearchSpaceError, load_search_hook, value_override
from nnexp.search.task import (
    APP_DIRECTION,
    APP_METRIC,
    AppResult,
    HydraApp,
    NnexpTrainer,
    app_objective,
    app_tracking,
    objective_values,
    settle_app_objective,
    task_for,
)


def test_nnexp_train_is_the_trainer_and_any_other_function_an_app():
    from nnexp.cli.train import app

    assert isinstance(task_for(None), NnexpTrainer)
    assert isinstance(task_for(app.__wrapped__), NnexpTrainer)  # the function Hydra hands sweepers

    def main(cfg):
        return 0.0

    assert isinstance(task_for(main), HydraApp)


def test_objective_values_name_what_the_task_returned():
    assert objective_values(0.5, 1) == [0.5]
    assert objective_values((1, 2.5), 2) == [1.0, 2.5]
    assert objective_values(None, 1) is None
    with pytest.raises(TypeError, match=r"returned \(1, 2\): 1 objective value\(s\) expected"):
        objective_values((1, 2), 1)
    with pytest.raises(TypeError, match="must be numbers"):
        objective_values("high", 1)


def test_an_apps_objective_is_its_return_value_else_the_best_reported():
    returned = AppResult(value=0.3, stop_reason="completed", history={"loss": [0.1]}, epochs_run=1)
    assert app_objective(returned, "loss", "minimize") == 0.3
    silent = AppResult(
        value=None, stop_reason="completed", history={"loss": [0.4, 0.2, math.nan]}, epochs_run=3
    )
    assert app_objective(silent, "loss", "minimize") == 0.2
    assert app_objective(silent, "loss", "maximize") == 0.4
    assert math.isnan(app_objective(silent, "acc", "maximize"))


def test_an_apps_objective_defaults_like_the_official_sweeper():
    s = {"metric": None, "direction": None}
    settle_app_objective(s)
    assert (s["metric"], s["direction"], s["directions"]) == (APP_METRIC, APP_DIRECTION, [APP_DIRECTION])
    s = {"metric": "loss", "direction": None, "directions": ["minimize", "maximize"]}
    settle_app_objective(s)
    assert (s["direction"], s["directions"]) == ("minimize", ["minimize", "maximize"])


def test_an_apps_tracking_settings_are_nnexps_and_a_typo_names_the_valid_keys():
    cfg = app_tracking({"uri": "sqlite:///x.db"}, "myapp")
    assert (cfg.experiment, cfg.uri, cfg.enabled) == ("myapp", "sqlite:///x.db", True)
    with pytest.raises(
        SweepSettingError, match="hydra.sweeper.tracking: .*experimnet.*valid keys: enabled, uri"
    ):
        app_tracking({"experimnet": "x"}, "myapp")


def test_a_hooks_values_become_hydra_overrides():
    assert value_override("n", 3) == "n=3"
    assert value_override("on", True) == "on=true"
    assert value_override("opt", "sgd") == "opt=sgd"
    assert value_override("name", "a b") == "name='a b'"
    assert value_override("word", "null") == "word='null'"


def test_a_search_hook_that_is_no_function_is_refused():
    assert load_search_hook(None) is None
    assert load_search_hook("math.floor") is math.floor
    with pytest.raises(SearchSpaceError, match="cannot be imported"):
        load_search_hook("nowhere.hook")
    with pytest.raises(SearchSpaceError, match="is not a function"):
        load_search_hook("math.pi")
