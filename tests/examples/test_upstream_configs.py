"""Configs written for Hydra's Optuna sweeper (hydra-optuna-sweeper 1.3) run under nnexp's with
only the sweeper line changed: ``override hydra/sweeper: optuna`` -> ``nnexp``.

Each config below is in that sweeper's style (its sampler config group, ``direction`` as a list
for two objectives, ``max_failure_rate``, ``storage: null``, ``custom_search_space``); the test
changes that one line and nothing else, then runs the app as a real subprocess.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from example_apps import results_of, run_app, study_of, trial_lines

APP = """
import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def objective(cfg: DictConfig):
    x, y = float(cfg.x), float(cfg.y)
    if cfg.get("fail_above") is not None and x > cfg.fail_above:
        raise RuntimeError(f"x={x} is too large")
    if cfg.get("two"):
        return 4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2
    z_term = (cfg.z - x) ** 2 if "z" in cfg else 0.0
    return x**2 + y**2 + cfg.get("w", 0.0) ** 2 + z_term


if __name__ == "__main__":
    objective()
"""

HOOK = """
def configure(cfg, trial):
    x = trial.params["x"]
    trial.suggest_float("z", x - cfg.max_z_difference_from_x, x + cfg.max_z_difference_from_x)
    trial.suggest_float("+w", 0.0, 1.0)
"""

SPHERE = """
defaults:
  - override hydra/sweeper: optuna
  - override hydra/sweeper/sampler: tpe

hydra:
  sweeper:
    sampler:
      seed: 123
    direction: minimize
    study_name: sphere
    storage: null
    n_trials: 12
    n_jobs: 1
    max_failure_rate: 0.0
    params:
      x: range(-5.5, 5.5, step=0.5)
      y: choice(-5, 0, 5)

x: 1
y: 1
"""

MULTI_OBJECTIVE = """
defaults:
  - override hydra/sweeper: optuna
  - override hydra/sweeper/sampler: nsgaii

hydra:
  sweeper:
    sampler:
      seed: 123
      population_size: 4
    direction: [minimize, minimize]
    study_name: multi-objective
    storage: null
    n_trials: 8
    n_jobs: 1
    params:
      x: range(0, 5, step=0.5)
      y: range(0, 3, step=0.5)

x: 1
y: 1
two: true
"""

CUSTOM_SEARCH_SPACE = """
defaults:
  - override hydra/sweeper: optuna

hydra:
  sweeper:
    sampler:
      seed: 123
    direction: minimize
    study_name: custom-search-space
    storage: null
    n_trials: 6
    n_jobs: 1
    params:
      x: range(-5.5, 5.5, 0.5)
      y: choice(-5, 0, 5)
    custom_search_space: hook.configure

x: 1
y: 1
z: 100
max_z_difference_from_x: 0.5
"""


def nnexp_app(tmp_path: Path, upstream_config: str) -> Path:
    """The app and its upstream config in ``tmp_path``, the sweeper line changed; the script."""
    config = textwrap.dedent(upstream_config)
    changed = config.replace("override hydra/sweeper: optuna", "override hydra/sweeper: nnexp")
    assert [a for a, b in zip(config.splitlines(), changed.splitlines()) if a != b] == [
        "  - override hydra/sweeper: optuna"
    ]
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(changed)
    (tmp_path / "hook.py").write_text(HOOK)
    script = tmp_path / "objective.py"
    script.write_text(APP)
    return script


def sweep(script: Path, *overrides: str, check: bool = True):
    cwd = script.parent
    return run_app(script, cwd, "-m", f"hydra.sweep.dir={cwd / 'sweep'}", *overrides, check=check)


@pytest.mark.slow
def test_sphere_config_runs_unchanged_but_for_the_sweeper_line(tmp_path):
    proc = sweep(nnexp_app(tmp_path, SPHERE))
    assert len(trial_lines(proc.stdout)) == 12
    results = results_of(tmp_path)
    assert results["study_name"] == "sphere"
    assert results["best_value"] <= 1.0  # the grid's optimum is 0 (x=0, y=0)
    assert results["best_params"]["y"] in (-5, 0, 5)
    study = study_of(tmp_path, "sphere")  # storage: null -> the journal file under mlruns/
    assert type(study.sampler).__name__ == "TPESampler"
    assert len(study.trials) == 12


@pytest.mark.slow
def test_multi_objective_config_with_a_direction_list_and_the_nsgaii_group(tmp_path):
    proc = sweep(nnexp_app(tmp_path, MULTI_OBJECTIVE))
    results = results_of(tmp_path)
    assert results["directions"] == ["minimize", "minimize"]
    front = results["pareto_front"]
    assert front and all(len(entry["values"]) == 2 for entry in front)
    assert "PRUNED" not in proc.stdout
    assert len(study_of(tmp_path, "multi-objective").trials) == 8


@pytest.mark.slow
def test_custom_search_space_hook_adds_params_and_new_keys(tmp_path):
    sweep(nnexp_app(tmp_path, CUSTOM_SEARCH_SPACE))
    for trial in study_of(tmp_path, "custom-search-space").trials:
        assert set(trial.params) == {"x", "y", "z", "+w"}
        assert abs(trial.params["z"] - trial.params["x"]) <= 0.5
        x, y, z, w = (trial.params[k] for k in ("x", "y", "z", "+w"))
        assert math.isclose(trial.value, x**2 + y**2 + w**2 + (z - x) ** 2)  # the app saw them


@pytest.mark.slow
def test_max_failure_rate_zero_stops_at_the_first_failure(tmp_path):
    proc = sweep(nnexp_app(tmp_path, SPHERE), "+fail_above=-6", check=False)  # every trial fails
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "max_failures=1" in proc.stdout + proc.stderr
    assert [t.state.name for t in study_of(tmp_path, "sphere").trials] == ["FAIL"]


def test_upstream_sampler_and_pruner_forms_build_the_same_objects():
    from nnexp.search.pruners import make_pruner
    from nnexp.search.samplers import make_sampler
    from nnexp.search.settings import normalized

    sampler = make_sampler({"_target_": "optuna.samplers.RandomSampler", "seed": 0})
    assert type(sampler).__name__ == "RandomSampler"
    # the group's default _target_ merged with nnexp's {name: ...}: the name chose
    sampler = make_sampler({"_target_": "optuna.samplers.TPESampler", "name": "random", "seed": 0})
    assert type(sampler).__name__ == "RandomSampler"
    pruner = make_pruner({"_target_": "optuna.pruners.HyperbandPruner", "min_resource": 1})
    assert type(pruner).__name__ == "HyperbandPruner"
    s = normalized(
        {"n_trials": 10, "n_jobs": 1, "direction": ["minimize", "maximize"], "max_failure_rate": 0.25}
    )
    assert s["directions"] == ["minimize", "maximize"] and s["direction"] == "minimize"
    assert s["max_failures"] == 3  # floor(0.25 * 10) + 1: the third failure exceeds the rate


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"max_failure_rate": 1.5}, "within [0, 1]"),
        ({"max_failure_rate": 0.1, "max_failures": 2}, "not both"),
        ({"direction": ["minimize"], "directions": ["maximize"]}, "give the list once"),
        ({"sampler": {"_target_": "optuna.samplers.MOTPESampler"}}, "not supported"),
    ],
)
def test_upstream_forms_that_cannot_mean_anything_are_refused(settings, message):
    from nnexp.errors import SweepSettingError
    from nnexp.search.settings import normalized

    with pytest.raises(SweepSettingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        normalized({"n_trials": 10, "n_jobs": 1, **settings})
