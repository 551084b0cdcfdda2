"""run_training in-process: results, callbacks, nested runs and run status on every ending."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnexp.config import ConfigError
from nnexp.train.trainer import best_of, build_model, run_training


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store shared by this module's runs (creating a store takes seconds)."""
    root = tmp_path_factory.mktemp("store")
    return f"sqlite:///{root / 'mlflow.db'}"


def quick(compose_cfg, tmp_path, *extra, uri=None):
    overrides = [
        "trainer.epochs=3",
        "model.width=16",
        "trainer.progress=false",
        f"trainer.save_dir={tmp_path}",
        "tracking.log_plots=false",
        "tracking.log_model=false",
    ]
    overrides += [f"tracking.uri={uri}"] if uri else ["tracking.enabled=false"]
    return compose_cfg(*overrides, *extra)


def client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def test_best_of():
    assert best_of([0.5, 0.2, float("nan"), 0.3], "min") == 0.2
    assert best_of([0.5, 0.9, float("inf")], "max") == 0.9
    assert best_of([], "min") == math.inf and best_of([float("nan")], "max") == -math.inf


def test_build_model_is_pure(compose_cfg):
    cfg = compose_cfg("model.depth=3", "model.width=8")
    a, b = build_model(cfg), build_model(cfg)
    assert a is not b and a.get_params() == b.get_params()
    assert a.get_params()["depth"] == 3


def test_untracked_run_returns_the_monitored_best(compose_cfg, tmp_path):
    result = run_training(quick(compose_cfg, tmp_path))
    assert result.run_id is None and result.tracking_uri is None
    assert result.metric == "val_loss" and result.mode == "min"
    assert result.best_value == min(result.history["val_loss"])
    assert result.epochs_run == 3 == len(result.history["val_loss"])
    assert result.stop_reason == "completed"
    assert set(result.test_metrics) == {"test_accuracy", "test_loss"}
    assert result.task == "classification" and result.baseline.model == "logistic_regression"
    assert result.model_path == tmp_path / "model.npz" and result.model_path.is_file()


def test_monitor_val_accuracy_maximises(compose_cfg, tmp_path):
    result = run_training(quick(compose_cfg, tmp_path, "trainer.early_stopping.monitor=val_accuracy"))
    assert result.mode == "max" and result.best_value == max(result.history["val_accuracy"])


def test_accuracy_monitor_on_regression_is_a_config_error(compose_cfg, tmp_path):
    cfg = quick(compose_cfg, tmp_path, "model.task=regression", "trainer.early_stopping.monitor=val_accuracy")
    with pytest.raises(ConfigError, match="needs a classification dataset"):
        run_training(cfg)


def test_callback_stop_is_recorded_as_the_reason(compose_cfg, tmp_path, store):
    from nnexp.nn import StopTraining

    def prune(model, record):
        if record["epoch"] == 2:
            raise StopTraining("pruned")

    result = run_training(quick(compose_cfg, tmp_path, uri=store), callbacks=[prune])
    assert result.stop_reason == "pruned" and result.epochs_run == 2
    run = client(store).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["stop_reason"] == "pruned"
    assert len(client(store).get_metric_history(result.run_id, "val_loss")) == 2


def test_crash_marks_the_run_failed(compose_cfg, tmp_path, store):
    def boom(model, record):
        if record["epoch"] == 2:
            raise RuntimeError("boom")

    before = {r.info.run_id for r in client(store).search_runs(["1"])}
    with pytest.raises(RuntimeError, match="boom"):
        run_training(quick(compose_cfg, tmp_path, uri=store), callbacks=[boom])
    (run,) = [r for r in client(store).search_runs(["1"]) if r.info.run_id not in before]
    assert run.info.status == "FAILED" and run.info.end_time is not None
    assert len(client(store).get_metric_history(run.info.run_id, "train_loss")) == 2


def test_interrupt_marks_the_run_killed(compose_cfg, tmp_path, store):
    def interrupt(model, record):
        raise KeyboardInterrupt

    before = {r.info.run_id for r in client(store).search_runs(["1"])}
    with pytest.raises(KeyboardInterrupt):
        run_training(quick(compose_cfg, tmp_path, uri=store), callbacks=[interrupt])
    (run,) = [r for r in client(store).search_runs(["1"]) if r.info.run_id not in before]
    assert run.info.status == "KILLED"


def test_diverged_run_is_recorded_with_its_reason(compose_cfg, tmp_path, store):
    cfg = quick(
        compose_cfg,
        tmp_path,
        "optimizer=sgd",
        "optimizer.lr=10",
        "data.scaling=none",
        "model.activation=identity",
        uri=store,
    )
    result = run_training(cfg)
    assert result.stop_reason == "diverged"
    run = client(store).get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["stop_reason"] == "diverged"
    assert result.best_value == math.inf  # nothing finite to return: the worst value for "min"


def test_nested_run_under_a_parent_with_extra_tags(compose_cfg, tmp_path, store):
    c = client(store)
    parent = c.create_run("1", run_name="parent").info.run_id
    result = run_training(
        quick(compose_cfg, tmp_path, uri=store),
        parent_run_id=parent,
        run_name="trial-0",
        extra_tags={"role": "trial"},
    )
    run = c.get_run(result.run_id)
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.tags["role"] == "trial" and run.info.run_name == "trial-0"
    c.set_terminated(parent)


def test_log_servable_model_later_for_a_finished_run(compose_cfg, tmp_path, store):
    import mlflow

    from nnexp.data import load_dataset
    from nnexp.tracking import log_servable_model

    result = run_training(quick(compose_cfg, tmp_path, uri=store))
    ds = load_dataset("digits", seed=0, val_size=0.2, test_size=0.2)
    uri = log_servable_model(
        result.run_id, f"runs:/{result.run_id}/weights/model.npz", ds.X_train, tracking_uri=store
    )
    loaded = mlflow.pyfunc.load_model(uri)
    np.testing.assert_array_equal(loaded.predict(ds.X_test), result.model.predict(ds.X_test))
    run = client(store).get_run(result.run_id)
    assert run.data.tags["model_uri"] == uri and run.info.status == "FINISHED"


def test_run_logs_baseline_beside_network_scores(compose_cfg, tmp_path, store):
    result = run_training(quick(compose_cfg, tmp_path, uri=store))
    run = client(store).get_run(result.run_id)
    m = run.data.metrics
    assert m["baseline_test_accuracy"] == result.baseline.metrics["baseline_test_accuracy"] > 0.9
    assert "baseline_val_accuracy" in m and "test_accuracy" in m
    assert run.data.tags["baseline.model"] == "logistic_regression"
    assert run.data.tags["baseline.scaling"] == "standard"
    assert run.data.tags["dataset.task_reason"] == "digits is a classification dataset"


def test_regression_csv_run_reports_r2_rmse_mae_and_its_task(compose_cfg, tmp_path, store, capsys):
    from nnexp.cli.summary import format_summary

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = np.round(150 + 60 * X[:, 0] + 20 * X[:, 1])  # whole numbers written as 151.0
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,target\n" + "".join(f"{a},{b},{c},{t:.1f}\n" for (a, b, c), t in zip(X, y)))
    cfg = quick(
        compose_cfg,
        tmp_path,
        "data=csv",
        f"data.path={path}",
        "data.target=target",
        "trainer.progress=true",
        uri=store,
    )
    result = run_training(cfg)
    out = capsys.readouterr().out
    assert "task: regression (target 'target' has" in out and "(more than 20)" in out
    assert out.index("task: regression") < out.index("baseline: ridge") < out.index("epoch")
    assert set(result.test_metrics) == {"test_loss", "test_r2", "test_rmse", "test_mae"}
    assert result.test_metrics["test_rmse"] == pytest.approx(math.sqrt(result.test_metrics["test_loss"]))
    m = client(store).get_run(result.run_id).data.metrics
    assert {
        "test_r2",
        "test_rmse",
        "test_mae",
        "baseline_test_r2",
        "baseline_val_r2",
        "baseline_test_rmse",
        "baseline_test_mae",
    } <= set(m)
    summary = format_summary(result, "nnexp")
    assert "test_r2 " in summary and "network vs baseline: test_r2 " in summary and "(ridge)" in summary


@pytest.mark.slow
def test_default_config_reaches_97_percent_on_digits(compose_cfg, tmp_path):
    """The shipped defaults (``nnexp-train`` with no overrides) reach >= 97% test accuracy."""
    result = run_training(
        compose_cfg("tracking.enabled=false", "trainer.progress=false", f"trainer.save_dir={tmp_path}")
    )
    assert result.dataset == "digits"
    assert result.test_metrics["test_accuracy"] >= 0.97


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    """scikit-learn's diabetes table as a CSV with the target ``progression`` (whole numbers)."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    path = tmp_path_factory.mktemp("csv") / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def test_regression_run_reports_metrics_in_target_units(compose_cfg, tmp_path, diabetes_csv):
    """val_loss and the test metrics are in the target's units; R^2 is the model's own score."""
    import mlflow

    from nnexp.data import load_dataset

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = quick(
        compose_cfg,
        tmp_path,
        "data=csv",
        f"data.path={diabetes_csv}",
        "data.target=progression",
        "data.task=regression",
        "trainer.epochs=60",
        "model.width=32",
        "tracking.log_model=true",
        uri=uri,
    )
    result = run_training(cfg)
    m = result.test_metrics
    assert set(m) == {"test_loss", "test_rmse", "test_mae", "test_r2"}
    assert (
        m["test_rmse"] == pytest.approx(math.sqrt(m["test_loss"])) and m["test_loss"] > 1000
    )  # progression^2
    ds = load_dataset(
        name="csv",
        path=str(diabetes_csv),
        target="progression",
        task="regression",
        seed=0,
        val_size=0.2,
        test_size=0.2,
    )
    assert m["test_r2"] == pytest.approx(result.model.score(ds.X_test, ds.y_test), rel=1e-9)
    assert m["test_r2"] > 0.2 and min(result.history["val_loss"]) > 1000
    # the saved weights serve predictions in the target's units through the pyfunc model
    mlflow.set_tracking_uri(uri)
    import pandas as pd

    rows = pd.DataFrame(ds.X_test.astype(np.float64), columns=list(ds.feature_names))  # raw, by name
    served = mlflow.pyfunc.load_model(result.model_uri).predict(rows)
    np.testing.assert_array_equal(served, result.model.predict(ds.X_test))
    assert abs(float(np.mean(served)) - float(np.mean(ds.y_test))) < 25


def test_small_networks_train_with_one_blas_thread_unless_set():
    from nnexp.train.threads import SMALL_WIDTH, run_threads

    assert run_threads(None, 128) == 1 and run_threads(None, [64, SMALL_WIDTH]) == 1
    assert run_threads(None, SMALL_WIDTH + 1) is None and run_threads(None, [8, 1024]) is None
    assert run_threads(3, 128) == 3  # trainer.threads wins
