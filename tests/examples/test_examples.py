"""The apps in ``examples/`` sweep as real subprocesses (real journal file, real SQLite MLflow
store, all under the test's directory): sphere finds its optimum, sklearn_sgd prunes, records
parent and child runs, runs two workers and resumes, multi_objective keeps a Pareto front,
conditional's hook adds its param only where its condition holds; an app runs single too."""

from __future__ import annotations

import pytest
from example_apps import EXAMPLES, results_of, run_app, study_of, sweep_example, trial_lines

from nnexp.contract import OVERRIDES_ATTR, PARENT_RUN_TAG, PID_ATTR, ROLE_TAG


def mlflow_runs(cwd, experiment: str):
    """(client, parent runs, child runs) of ``experiment`` in the default store under ``cwd``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get(ROLE_TAG) == "sweep"]
    children = [r for r in runs if r.data.tags.get(ROLE_TAG) == "trial"]
    return client, parents, children


@pytest.mark.slow
def test_sphere_finds_the_optimum_of_its_grid(tmp_path):
    proc = sweep_example("sphere", tmp_path)
    assert len(trial_lines(proc.stdout)) == 20
    results = results_of(tmp_path)
    assert results["study_name"] == "sphere"  # hydra.job.name in the example's config
    assert results["best_value"] <= 0.5  # the grid's optimum is 0 at (0, 0); y in {-5, 0, 5}
    assert results["best_params"]["y"] == 0
    assert "PRUNED" not in proc.stdout  # nothing reported, nothing to prune


@pytest.mark.slow
def test_sklearn_sgd_prunes_records_runs_in_two_workers_and_resumes(tmp_path):
    proc = sweep_example("sklearn_sgd", tmp_path, "hydra.sweeper.n_trials=12", "epochs=8")
    out = proc.stdout
    study = study_of(tmp_path, "sklearn_sgd")
    trials = study.trials
    states = [t.state.name for t in trials]
    assert len(trials) == 12 and set(states) <= {"COMPLETE", "PRUNED"}, states
    assert "PRUNED" in states  # the median pruner stopped some trials early
    assert len({t.user_attrs[PID_ATTR] for t in trials}) == 2  # two worker processes pulled trials
    assert "[sweep] test score of trial" in out and "test_accuracy=" in out
    assert "[sweep] pruning:" in out  # budget_key: epochs -> the ledger

    client, parents, children = mlflow_runs(tmp_path, "sklearn_sgd")
    assert len(parents) == 1 and len(children) == 12
    by_run = {t.user_attrs["mlflow_run_id"]: t for t in trials}
    for child in children:
        assert child.data.tags[PARENT_RUN_TAG] == parents[0].info.run_id
        assert child.data.params["n_train"] == "1078"  # the app's own mlflow.log_param
        trial = by_run[child.info.run_id]
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        reported = 8 if trial.state.name == "COMPLETE" else trial.last_step
        assert steps == list(range(1, reported + 1)), (trial.number, steps)
        assert child.data.params["alpha"] == str(trial.params["alpha"])

    again = sweep_example("sklearn_sgd", tmp_path, "hydra.sweeper.n_trials=14", "epochs=8")
    assert "resuming with 12 trials recorded" in again.stdout
    assert len(trial_lines(again.stdout)) == 2  # only the missing trials ran
    assert len(study_of(tmp_path, "sklearn_sgd").trials) == 14


@pytest.mark.slow
def test_multi_objective_keeps_a_pareto_front_and_prunes_nothing(tmp_path):
    proc = sweep_example("multi_objective", tmp_path, "hydra.sweeper.n_trials=10")
    results = results_of(tmp_path)
    assert results["directions"] == ["minimize", "minimize"]
    front = results["pareto_front"]
    assert isinstance(front, list) and front
    assert all(len(entry["values"]) == 2 for entry in front)
    assert "PRUNED" not in proc.stdout
    states = {t.state.name for t in study_of(tmp_path, "binh_and_korn").trials}
    assert states == {"COMPLETE"}


@pytest.mark.slow
def test_conditional_hook_searches_momentum_for_sgd_only(tmp_path):
    sweep_example("conditional", tmp_path, "hydra.sweeper.n_trials=10")
    trials = study_of(tmp_path, "conditional").trials
    optimizers = {t.params["optimizer"] for t in trials}
    assert optimizers == {"sgd", "adam"}, optimizers
    for t in trials:
        overrides = t.user_attrs[OVERRIDES_ATTR]
        has_momentum = any(o.startswith("momentum=") for o in overrides)
        if t.params["optimizer"] == "sgd":
            assert 0.0 <= t.params["momentum"] <= 0.95 and has_momentum
        else:
            assert "momentum" not in t.params and not has_momentum


@pytest.mark.slow
def test_an_example_runs_single_without_mlflow(tmp_path):
    proc = run_app(EXAMPLES / "sklearn_sgd" / "app.py", tmp_path, "epochs=2")
    assert proc.returncode == 0
    assert not (tmp_path / "mlruns").exists()  # nnexp.report logged nothing, started nothing
    assert not (tmp_path / "mlflow.db").exists()
