"""Tracking in a separate process (``run_training(..., separate_process=True)``, what
``nnexp-train`` uses): the same records, and every ending recorded as in-process."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from helpers import NNEXP_TRAIN, cli_env, wait_for

from nnexp.config import ConfigError
from nnexp.train.trainer import run_training


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('agent') / 'mlflow.db'}"


def quick(compose_cfg, tmp_path, store, *extra):
    return compose_cfg(
        "trainer.epochs=3",
        "model.width=16",
        "trainer.progress=false",
        f"trainer.save_dir={tmp_path}",
        "tracking.log_plots=false",
        f"tracking.uri={store}",
        *extra,
    )


def client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def new_runs(uri, before):
    return [r for r in client(uri).search_runs(["1"]) if r.info.run_id not in before]


def test_a_run_recorded_by_the_tracking_process(compose_cfg, tmp_path, store):
    result = run_training(quick(compose_cfg, tmp_path, store), separate_process=True)
    run = client(store).get_run(result.run_id)
    assert run.info.status == "FINISHED" and result.experiment_id == run.info.experiment_id
    assert [m.step for m in client(store).get_metric_history(result.run_id, "val_loss")] == [1, 2, 3]
    assert run.data.tags["stop_reason"] == "completed" and run.data.params["model.width"] == "16"
    assert "env.blas_threads" in run.data.tags and "nnexp.weights_sha256" in run.data.tags
    assert len(run.inputs.dataset_inputs) == 3
    assert result.model_uri and run.data.tags["model_uri"] == result.model_uri
    assert result.tracking_seconds["wait"] >= 0 and "setup" in result.tracking_seconds


def test_crash_and_interrupt_end_the_run_failed_and_killed(compose_cfg, tmp_path, store):
    for error, status in ((RuntimeError("boom"), "FAILED"), (KeyboardInterrupt(), "KILLED")):

        def stop(model, record, error=error):
            if record["epoch"] == 2:
                raise error

        before = {r.info.run_id for r in client(store).search_runs(["1"])}
        with pytest.raises(type(error)):
            run_training(
                quick(compose_cfg, tmp_path, store, "tracking.log_model=false"),
                callbacks=[stop],
                separate_process=True,
            )
        (run,) = new_runs(store, before)
        assert run.info.status == status and run.info.end_time is not None
        assert len(client(store).get_metric_history(run.info.run_id, "train_loss")) == 2


def test_a_bad_configuration_found_after_loading_leaves_no_run(compose_cfg, tmp_path, store):
    before = {r.info.run_id for r in client(store).search_runs(["1"])}
    cfg = quick(
        compose_cfg, tmp_path, store, "model.task=regression", "trainer.early_stopping.monitor=val_accuracy"
    )
    with pytest.raises(ConfigError):
        run_training(cfg, separate_process=True)
    assert new_runs(store, before) == []


def test_an_unusable_store_reaches_the_training_process(compose_cfg, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    from nnexp.tracking.store import TrackingUnavailable

    with pytest.raises(TrackingUnavailable, match="Not a directory"):
        run_training(
            quick(compose_cfg, tmp_path, f"sqlite:///{blocker}/sub/mlflow.db"), separate_process=True
        )


@pytest.mark.slow
def test_a_vanished_training_process_leaves_its_run_killed(tmp_path, wait_for_epoch):
    """SIGKILL of ``nnexp-train`` mid-training: the tracking process sees the pipe close."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = subprocess.Popen(
        [
            NNEXP_TRAIN,
            "trainer.epochs=100000",
            "trainer.early_stopping.patience=100000",
            "model.width=16",
            f"tracking.uri={uri}",
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        run_id = wait_for_epoch(proc, uri)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    status = wait_for(
        lambda: (s := client(uri).get_run(run_id).info.status) != "RUNNING" and s,
        60,
        "the run's end recorded by its tracking process",
    )
    assert status == "KILLED"


def test_the_tracking_process_marks_runs_of_dead_processes_killed(compose_cfg, tmp_path, store, capfd):
    from nnexp.contract import PID_START_TAG
    from nnexp.tracking.liveness import process_tags

    mine = process_tags()
    exp_id = client(store).get_experiment_by_name("nnexp").experiment_id
    dead = client(store).create_run(exp_id, tags={**mine, PID_START_TAG: "1"}).info.run_id  # pid reused
    alive = client(store).create_run(exp_id, tags=mine).info.run_id
    run_training(quick(compose_cfg, tmp_path, store, "tracking.log_model=false"), separate_process=True)
    assert client(store).get_run(dead).info.status == "KILLED"
    assert client(store).get_run(alive).info.status == "RUNNING"
    assert f"nnexp-train: marked run {dead} KILLED" in capfd.readouterr().err
    client(store).set_terminated(alive)


def test_the_plots_are_drawn_by_the_training_process_and_removed_once_uploaded(
    compose_cfg, tmp_path, store, monkeypatch
):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    cfg = quick(compose_cfg, tmp_path, store, "tracking.log_plots=true", "tracking.log_model=false")
    result = run_training(cfg, separate_process=True)
    names = sorted(a.path.rsplit("/", 1)[-1] for a in client(store).list_artifacts(result.run_id, "plots"))
    assert names == ["confusion_matrix.png", "learning_curves.png"]
    assert not list(scratch.iterdir())


def test_only_recorder_calls_are_replayed():
    """The tracking process replays a call only if it names a Recorder method: anything else
    is an error the training process sees, and the ending is still recorded."""
    from nnexp.tracking.agent import CALLS
    from nnexp.tracking.recorder import Recorder

    methods = {name for name, value in vars(Recorder).items() if callable(value) and not name.startswith("_")}
    assert CALLS == methods


def test_a_prestarted_process_is_adopted_and_takes_the_environment_of_the_run(
    compose_cfg, tmp_path, store, monkeypatch
):
    """``nnexp-train`` starts the tracking process before Hydra composes; the run adopts it
    (no second process), and it records with the environment the run has then."""
    from nnexp.tracking import agent

    agent.prestart()
    monkeypatch.setattr(agent, "_spawn", lambda: pytest.fail("a second tracking process"))
    monkeypatch.setenv("LOGNAME", "set-after-the-prestart")  # the run's mlflow.user
    try:
        result = run_training(
            quick(compose_cfg, tmp_path, store, "tracking.log_model=false"), separate_process=True
        )
    finally:
        agent.discard_prestarted()
    assert agent._prestarted is None
    run = client(store).get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.user"] == "set-after-the-prestart"


def test_an_unadopted_prestarted_process_is_stopped():
    from nnexp.tracking import agent

    agent.prestart()
    proc = agent._prestarted[0]
    agent.discard_prestarted()
    assert proc.poll() is not None and agent._prestarted is None
    agent.discard_prestarted()  # nothing left: a no-op
