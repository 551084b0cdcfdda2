"""Sweeping your own table: ``nnexp-train -m hparams_search=mlp data=csv ...`` end to end.

A text-label classification table (breast cancer, ``M``/``B``) and a regression table (diabetes,
whole-number targets written as ``151.0``, no ``data.task``) each sweep 3 seeded trials through
the real console script; the trials must COMPLETE with the inferred task and a baseline recorded.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import FULL_ERRORS, NNEXP_TRAIN, cli_env


def _write(path: Path, names: list[str], X, y) -> Path:
    rows = (",".join(repr(float(v)) for v in x) + f",{t}" for x, t in zip(X, y))
    path.write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    return path


def _sweep(cwd: Path, table: Path, target: str, *extra: str) -> subprocess.CompletedProcess:
    env = cli_env(**FULL_ERRORS)
    proc = subprocess.run(
        [
            NNEXP_TRAIN,
            "-m",
            "hparams_search=mlp",
            "data=csv",
            f"data.path={table.name}",
            f"data.target={target}",
            "hydra.sweeper.n_trials=3",
            "hydra.sweeper.sampler.seed=0",
            "trainer.epochs=8",
            *extra,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"sweep failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def _trials_and_runs(cwd: Path):
    import optuna
    from mlflow.tracking import MlflowClient
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    backend = JournalFileBackend(str(cwd / "mlruns" / "optuna" / "journal.log"))
    study = optuna.load_study(study_name="mlp-csv", storage=JournalStorage(backend))
    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("nnexp")
    runs = client.search_runs([exp.experiment_id], "tags.`nnexp.role` = 'trial'", max_results=100)
    return study, runs


def _objective(cwd: Path, study, runs) -> tuple[str, str, set[str]]:
    """(study direction, the parent run's sweep.metric tag, the trials' early-stopping monitors)."""
    import yaml
    from mlflow.tracking import MlflowClient

    from nnexp.contract import SWEEP_METRIC_TAG, TRIAL_DIR_ATTR

    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    parent = client.get_run(runs[0].data.tags["mlflow.parentRunId"])
    configs = [
        yaml.safe_load((Path(t.user_attrs[TRIAL_DIR_ATTR]) / "config.yaml").read_text()) for t in study.trials
    ]
    monitors = {c["trainer"]["early_stopping"]["monitor"] for c in configs}
    return study.direction.name.lower(), parent.data.tags[SWEEP_METRIC_TAG], monitors


def test_mlp_space_is_valid_for_any_dataset(compose_cfg):
    """hparams_search=mlp pins no dataset and its space composes on a table and on moons."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nnexp.cli.train import CONF_DIR
    from nnexp.config.validate import validate
    from nnexp.search import check_settings, parse_search_space, validate_space

    for data in (["data=moons"], ["data=csv", "data.path=t.csv", "data.target=y"]):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                config_name="config", overrides=["hparams_search=mlp", *data], return_hydra_config=True
            )
        assert cfg.data.name == data[0].split("=")[1]
        sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
        check_settings(sweeper)
        assert (sweeper["metric"], sweeper["direction"]) == (None, None)  # follow the task
        space, _ = parse_search_space(sweeper["params"])
        validate_space(space, lambda ov, d=data: compose_cfg("hparams_search=mlp", *d, *ov), validate)


@pytest.mark.slow
def test_text_label_table_sweeps_with_the_generic_space(tmp_path):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names] + ["diagnosis"]
    table = _write(tmp_path / "cancer.csv", names, data.data, ["B" if t else "M" for t in data.target])
    proc = _sweep(tmp_path, table, "diagnosis")
    study, runs = _trials_and_runs(tmp_path)
    trials = study.trials
    # no hydra.sweeper.metric given: classes -> maximize val_accuracy, early stopping on it too
    assert _objective(tmp_path, study, runs) == ("maximize", "val_accuracy", {"val_accuracy"})
    assert "maximize val_accuracy" in proc.stdout
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3, proc.stdout
    assert len(runs) == 3
    for run in runs:
        assert run.data.tags["dataset.task"] == "classification"
        assert run.data.tags["dataset.task_reason"] == "target 'diagnosis' holds text labels ('B', 'M')"
        assert run.data.metrics["baseline_test_accuracy"] > 0.9
        assert "test_accuracy" in run.data.metrics
    assert all("test_accuracy" in t.user_attrs["test_metrics"] for t in trials)


@pytest.mark.slow
def test_regression_table_sweeps_without_data_task(tmp_path):
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    table = _write(
        tmp_path / "diabetes.csv",
        [*data.feature_names, "progression"],
        data.data,
        [f"{t:.1f}" for t in data.target],
    )
    assert "151.0" in table.read_text()
    proc = _sweep(tmp_path, table, "progression")
    study, runs = _trials_and_runs(tmp_path)
    trials = study.trials
    # no hydra.sweeper.metric given: regression -> minimize val_loss
    assert _objective(tmp_path, study, runs) == ("minimize", "val_loss", {"val_loss"})
    # R² and RMSE in every trial line, the best trial's beside the ridge baseline
    lines = [x for x in proc.stdout.splitlines() if x.startswith("[trial ")]
    assert len(lines) == 3 and all(" test_r2=" in x and " test_rmse=" in x for x in lines), proc.stdout
    assert re.search(
        r"test score of trial \d+ .*; vs baseline: test_r2 \S+ vs baseline \S+ .*test_rmse .*\(ridge\)",
        proc.stdout,
    ), proc.stdout
    results = next(tmp_path.glob("multirun/*/*/optimization_results.yaml")).read_text()
    assert "best_vs_baseline: test_r2" in results and "baseline_test_r2:" in results
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3, proc.stdout
    assert len(runs) == 3
    for run in runs:
        assert run.data.tags["dataset.task"] == "regression"
        assert "214 distinct whole numbers (more than 20)" in run.data.tags["dataset.task_reason"]
        assert {"test_r2", "test_rmse", "test_mae", "baseline_test_r2", "baseline_val_r2"} <= set(
            run.data.metrics
        )
    assert all({"test_r2", "test_rmse"} <= set(t.user_attrs["test_metrics"]) for t in trials)


@pytest.mark.slow
def test_a_table_as_it_comes_sweeps_its_encoding_too(loans_csv):
    """Text categories, gaps, a name and a row-number column: hparams_search=mlp unchanged, with
    data.max_categories and the imputations as ordinary searched keys."""
    from nnexp.contract import COLUMN_TAGS

    proc = _sweep(
        loans_csv.parent,
        loans_csv,
        "Status",
        "hydra.sweeper.confirm.top_k=0",
        "data.max_categories=choice(2,20)",
        "data.impute_numeric=choice(median,mean)",
        "data.impute_categorical=choice(missing,most_frequent)",
    )
    study, runs = _trials_and_runs(loans_csv.parent)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3, proc.stdout
    searched = {k for t in study.trials for k in t.params}
    assert {"data.max_categories", "data.impute_numeric", "data.impute_categorical"} <= searched
    for run in runs:
        assert run.data.tags[COLUMN_TAGS["categorical_columns"]] == "Home, Married, Records, Job"
        assert run.data.params["data.max_categories"] in ("2", "20")
        assert "test_accuracy" in run.data.metrics and "baseline_test_accuracy" in run.data.metrics
