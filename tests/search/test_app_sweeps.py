"""nnexp's sweeper on a Hydra app that is not nnexp's network (tests/search/apps/toy.py):
multi-objective studies, a conditional search-space hook, confirmation by the app's seed key,
failing trials, ``nnexp best`` and ``nnexp reproduce`` of an app's trial. Real subprocesses,
real journal and SQLite stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from helpers import FULL_ERRORS, NNEXP, Hold, cli_env

from nnexp.contract import FAIL_REASON_ATTR, OVERRIDES_ATTR, ROLE_TAG, STATE_TAG, STUDY_APP, TRIAL_TAG

APP = Path(__file__).parent / "apps" / "toy.py"

pytestmark = pytest.mark.slow


def app_sweep(cwd: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python toy.py -m <overrides>`` in ``cwd`` (its stores land in ``cwd/mlruns``)."""
    proc = subprocess.run(
        [sys.executable, str(APP), "-m", *overrides],
        cwd=cwd,
        env=cli_env(**FULL_ERRORS),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"sweep failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def toy_study(cwd: Path, name: str = "toy") -> optuna.Study:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    backend = JournalFileBackend(str(cwd / "mlruns" / "optuna" / "journal.log"))
    return optuna.load_study(study_name=name, storage=JournalStorage(backend))


def toy_runs(cwd: Path) -> tuple[list, list]:
    """(parent runs, trial runs) of the experiment named after the app."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("toy")
    runs = client.search_runs([exp.experiment_id], max_results=200)
    return (
        [r for r in runs if r.data.tags.get(ROLE_TAG) == "sweep"],
        [r for r in runs if r.data.tags.get(ROLE_TAG) == "trial"],
    )


def results_of(out: str) -> dict:
    line = next(s for s in out.splitlines() if s.startswith("[sweep] results: "))
    return yaml.safe_load(Path(line.split(": ", 1)[1].split(",")[0]).read_text())


def test_a_two_objective_app_gets_its_pareto_front(tmp_path):
    out = app_sweep(tmp_path, "objectives=2", "hydra.sweeper.directions=[minimize,minimize]").stdout
    study = toy_study(tmp_path)
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    assert {t.state.name for t in study.trials} == {"COMPLETE"}  # never pruned
    assert all(len(t.values) == 2 for t in study.trials)
    results = results_of(out)
    front = results["pareto_front"]
    assert {e["trial"] for e in front} == {t.number for t in study.best_trials}
    assert "[sweep] Pareto front:" in out
    parents, children = toy_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 6
    assert parents[0].data.tags["pareto.trials"] == ",".join(str(e["trial"]) for e in front)


def test_a_conditional_search_space_hook_sets_its_params(tmp_path):
    app_sweep(
        tmp_path,
        "hydra.sweeper.custom_search_space=hooks.conditional",
        "hydra.sweeper.n_trials=8",
    )
    trials = toy_study(tmp_path).trials
    assert {t.params["opt"] for t in trials} == {"sgd", "adam"}
    for t in trials:
        overrides = t.user_attrs[OVERRIDES_ATTR]
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        assert f"opt={t.params['opt']}" in overrides
        if "momentum" in t.params:  # the hook's value reached the config the app ran
            assert t.values[0] >= t.params["momentum"]


def test_a_hook_that_cannot_be_imported_is_refused_before_any_trial(tmp_path):
    proc = app_sweep(tmp_path, "hydra.sweeper.custom_search_space=hooks.nothing", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "hydra.sweeper.custom_search_space='hooks.nothing' cannot be imported" in proc.stderr
    assert not (tmp_path / "mlruns" / "optuna" / "journal.log").exists()


def test_crashing_trials_fail_with_their_reason_and_the_sweep_goes_on(tmp_path):
    out = app_sweep(tmp_path, "fail_above=1.0", "hydra.sweeper.n_trials=5").stdout
    trials = toy_study(tmp_path).trials
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert failed and all("is above 1.0" in t.user_attrs[FAIL_REASON_ATTR] for t in failed)
    assert sum(t.state.name == "COMPLETE" for t in trials) == 5
    assert "[sweep] best: trial" in out


def test_confirmation_reseeds_the_app_by_its_seed_key(tmp_path):
    args = [
        "noise=0.5",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.confirm={top_k: 1, seeds: 2, seed_key: seed}",
    ]
    out = app_sweep(tmp_path, *args).stdout
    confirm = toy_study(tmp_path, "toy-confirm").trials
    assert len(confirm) == 2 and {t.state.name for t in confirm} == {"COMPLETE"}
    assert sorted(o for t in confirm for o in t.user_attrs[OVERRIDES_ATTR] if o.startswith("seed=")) == [
        "seed=1",
        "seed=2",
    ]
    assert "[sweep] confirmed best: trial" in out
    proc = app_sweep(
        tmp_path, "hydra.sweeper.confirm={top_k: 1}", "hydra.sweeper.study_name=other", check=False
    )
    assert proc.returncode == 2 and "hydra.sweeper.confirm.seed_key=<key>" in proc.stderr


def test_best_and_reproduce_rerun_the_apps_best_trial(tmp_path):
    out = app_sweep(tmp_path, "noise=0.3").stdout
    study = toy_study(tmp_path)
    assert study.user_attrs[STUDY_APP]["file"] == str(APP.resolve())
    best = nnexp_cli(tmp_path, "best", "--study", "toy")
    assert best.returncode == 0, best.stderr
    config = tmp_path / "outputs" / "best" / "toy.yaml"
    rerun = next(s for s in best.stdout.splitlines() if s.startswith("run it: "))
    assert rerun == f"run it: python {APP.resolve()} --config-path {config.parent} --config-name toy"
    assert yaml.safe_load(config.read_text())["x"] == study.best_trial.params["x"]
    rep = nnexp_cli(tmp_path, "reproduce", "--study", "toy")
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "verdict: identical" in rep.stdout
    _, children = toy_runs(tmp_path)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("toy")
    again = [
        r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get(ROLE_TAG) == "reproduction"
    ]
    assert len(again) == 1 and len(client.get_metric_history(again[0].info.run_id, "loss")) == 4
    assert "[sweep] best: trial" in out


def nnexp_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NNEXP, *args], cwd=cwd, env=cli_env(**FULL_ERRORS), capture_output=True, text=True, timeout=120
    )


def test_an_apps_pruned_trials_are_pruned_and_audited(tmp_path):
    prune = "++hydra.sweeper.pruner={name: median, n_startup_trials: 2, n_warmup_steps: 1}"
    out = app_sweep(tmp_path, prune, "hydra.sweeper.n_trials=10").stdout
    trials = toy_study(tmp_path).trials
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned, out
    _, children = toy_runs(tmp_path)
    states = {r.data.tags[TRIAL_TAG]: r.data.tags.get(STATE_TAG) for r in children}
    assert all(states[str(t.number)] == "PRUNED" for t in pruned)
    audit = nnexp_cli(tmp_path, "audit", "--study", "toy", "--sample", "2")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    reran = [s for s in audit.stdout.splitlines() if s.startswith("trial ") and "full budget" in s]
    assert len(reran) == min(2, len(pruned))


def test_a_killed_worker_of_an_app_sweep_is_reaped_retried_and_replaced(tmp_path):
    """Two workers; one worker process is SIGKILLed in the middle of a trial (by pid, the
    other runs on): that trial FAILs naming the dead process, its params run again
    (max_retries=1), its run is FAILED, and the study still gets exactly n_trials."""
    import os
    import signal

    from nnexp.contract import RETRY_OF_ATTR

    args = ["hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=4", "hydra.sweeper.max_retries=1"]
    args += ["epochs=30", "step_seconds=0.1"]
    log_path = tmp_path / "sweep.log"
    hold = Hold(tmp_path / "hold", step=2)  # each worker's first trial stops at its 2nd step
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, str(APP), "-m", *args],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS, **hold.env()),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        number, pid = hold.worker_trial(proc, log_path)
        killed = toy_study(tmp_path).trials[number]
        os.kill(pid, signal.SIGKILL)  # the worker, by pid; the other runs on
        hold.release()
        assert proc.wait(timeout=180) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    trials = toy_study(tmp_path).trials
    dead = trials[killed.number]
    assert dead.state.name == "FAIL" and "died" in dead.user_attrs[FAIL_REASON_ATTR]
    again = [t for t in trials if t.user_attrs.get(RETRY_OF_ATTR) == killed.number]
    assert len(again) == 1 and again[0].params == killed.params and again[0].state.name == "COMPLETE"
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) == 4
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    _, children = toy_runs(tmp_path)
    run = next(r for r in children if r.data.tags[TRIAL_TAG] == str(killed.number))
    assert run.info.status == "FAILED" and "died" in run.data.tags.get("nnexp.fail_reason", "")
    assert all(r.info.status != "RUNNING" for r in children)
