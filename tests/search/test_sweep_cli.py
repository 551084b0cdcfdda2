"""End-to-end sweeps through the CLI (``nnexp-train -m hparams_search=digits ...``) on digits.

Each test runs the real console script in a temporary launch directory and reads back what the
sweep recorded in the Optuna journal (``mlruns/optuna/journal.log``) and the MLflow store
(``mlruns/mlflow.db``). Small n_trials and epochs keep the whole file to a few minutes.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import FULL_ERRORS, NNEXP_TRAIN, Hold, cli_env, run

from nnexp.contract import (
    BEST_TRIAL_TAG,
    EPOCHS_RUN_ATTR,
    FAIL_REASON_ATTR,
    NOTE_TAG,
    PARENT_RUN_TAG,
    PID_ATTR,
    PRUNE_REASON_ATTR,
    PRUNE_REASON_TAG,
    PRUNED_AT_ATTR,
    PRUNED_AT_TAG,
    ROLE_TAG,
    RUN_ID_ATTR,
    RUN_NAME_TAG,
    STATE_TAG,
    STUDY_PARENT_RUN,
    TRIAL_DIR_ATTR,
    TRIAL_TAG,
)

pytestmark = pytest.mark.slow

#: Trial states are asserted: the sampler is seeded and the learning rate fixed to one that
#: learns (an unseeded sampler may draw a diverging lr and FAIL a trial).
SAFE = [
    "optimizer=adam",
    "optimizer.lr=0.01",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "hydra.sweeper.sampler.seed=0",
]
FAST = [
    "hparams_search=digits",
    "trainer.epochs=4",
    "model.depth=int(interval(1,2))",
    "model.width=range(16,65,16)",
    *SAFE,
]


def sweep(
    cwd: Path, *overrides: str, check: bool = True, timeout: float = 240
) -> subprocess.CompletedProcess:
    proc = run(NNEXP_TRAIN, "-m", *overrides, cwd=cwd, timeout=timeout, env=cli_env(**FULL_ERRORS))
    if check and proc.returncode != 0:
        raise AssertionError(
            f"sweep failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def study_of(cwd: Path, name: str = "digits"):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    backend = JournalFileBackend(str(cwd / "mlruns" / "optuna" / "journal.log"))
    return optuna.load_study(study_name=name, storage=JournalStorage(backend))


def mlflow_runs(cwd: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("nnexp")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get(ROLE_TAG) == "sweep"]
    children = [r for r in runs if r.data.tags.get(ROLE_TAG) == "trial"]
    return client, parents, children


def trial_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[trial ")]


def test_small_sweep_records_every_trial_with_parent_child_links(tmp_path):
    proc = sweep(tmp_path, *FAST, "hydra.sweeper.n_trials=4")
    lines = trial_lines(proc.stdout)
    assert len(lines) == 4, proc.stdout

    study = study_of(tmp_path)
    trials = study.trials
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)

    client, parents, children = mlflow_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert study.user_attrs[STUDY_PARENT_RUN] == parent.info.run_id
    by_id = {c.info.run_id: c for c in children}
    for t in trials:
        child = by_id[t.user_attrs[RUN_ID_ATTR]]
        assert child.data.tags[PARENT_RUN_TAG] == parent.info.run_id
        assert child.data.tags[TRIAL_TAG] == str(t.number)
        assert child.data.tags[STATE_TAG] == t.state.name
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert len(history) == t.user_attrs[EPOCHS_RUN_ATTR]
        assert child.data.params["model.depth"] == str(t.params["model.depth"])
    best = max((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    assert parent.data.tags["best.run_id"] == best.user_attrs[RUN_ID_ATTR]
    assert parent.data.tags["best.model.depth"] == str(best.params["model.depth"])
    note = parent.data.tags[NOTE_TAG]
    assert f"{len(trials)} trials" in note and "completed" in note
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert {
        "plots/optimization_history.png",
        "plots/intermediate_values.png",
    } <= artifacts
    best_child = by_id[best.user_attrs[RUN_ID_ATTR]]
    assert best_child.data.tags.get(BEST_TRIAL_TAG) == "true"
    assert any(a.path == "plots" for a in client.list_artifacts(best_child.info.run_id))

    import yaml

    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["best_trial"] == best.number and results["best_value"] == pytest.approx(best.value)
    assert results["best_mlflow_run_id"] == best.user_attrs[RUN_ID_ATTR]
    best_cfg = yaml.safe_load((sweep_dir / "best_config.yaml").read_text())
    assert best_cfg["model"]["depth"] == best.params["model.depth"]
    assert (Path(best.user_attrs[TRIAL_DIR_ATTR]) / "model.npz").exists()


def test_a_sweep_built_to_prune_prunes(tmp_path):
    # lr 0.05 learns within an epoch, 1e-6 does not: once a good trial exists the median
    # pruner stops the bad ones at their first reported epoch.
    proc = sweep(
        tmp_path,
        "hparams_search=digits",
        "trainer.epochs=6",
        "model.depth=1",
        "model.width=32",
        "trainer.batch_size=64",
        "model.dropout=0.0",
        "model.l2=0.0001",
        "optimizer=sgd",
        "optimizer.lr=choice(0.05,0.000001)",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.sampler.name=random",
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.pruner.n_startup_trials=1",
        "hydra.sweeper.pruner.n_warmup_steps=0",
    )
    study = study_of(tmp_path)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned, proc.stdout
    assert any("PRUNED at epoch" in line for line in trial_lines(proc.stdout))
    _, _, children = mlflow_runs(tmp_path)
    by_id = {c.info.run_id: c for c in children}
    assert any(t.params["optimizer.lr"] == 1e-6 for t in pruned)
    for t in pruned:
        assert t.user_attrs[EPOCHS_RUN_ATTR] == t.user_attrs[PRUNED_AT_ATTR] < 6
        child = by_id[t.user_attrs[RUN_ID_ATTR]]
        assert child.data.tags[STATE_TAG] == "PRUNED"
        assert child.data.tags[PRUNED_AT_TAG] == str(t.user_attrs[PRUNED_AT_ATTR])
        assert child.data.tags["stop_reason"] == "pruned"


def test_two_workers_pull_trials_without_barriers(tmp_path):
    n = 8
    proc = sweep(
        tmp_path,
        "hparams_search=digits",
        "model.depth=3",
        "model.width=128",
        "trainer.batch_size=32",
        "trainer.early_stopping.enabled=false",
        "trainer.epochs=choice(2,20)",  # short and long trials: a barrier would show
        *SAFE,
        "hydra.sweeper.sampler.name=random",
        "hydra.sweeper.sampler.seed=1",
        "hydra.sweeper.pruner=none",
        f"hydra.sweeper.n_trials={n}",
        "hydra.sweeper.n_jobs=2",
    )
    assert len(trial_lines(proc.stdout)) == n
    study = study_of(tmp_path)
    trials = study.trials
    assert [t.number for t in trials] == list(range(n))
    assert all(t.state.name == "COMPLETE" for t in trials)
    pids = {t.user_attrs[PID_ATTR] for t in trials}
    assert len(pids) == 2

    client, _, children = mlflow_runs(tmp_path)
    assert len(children) == n
    for t in trials:
        hist = client.get_metric_history(t.user_attrs[RUN_ID_ATTR], "val_accuracy")
        assert len(hist) == t.user_attrs[EPOCHS_RUN_ATTR]

    # No barrier: some worker starts its next trial while the other worker's trial, which
    # started before that worker's previous trial ended, is still running.
    spans = [
        (
            t.datetime_start.timestamp(),
            t.datetime_complete.timestamp(),
            t.user_attrs[PID_ATTR],
        )
        for t in trials
    ]
    by_worker: dict[int, list[tuple]] = {}
    for s, e, pid in sorted(spans):
        by_worker.setdefault(pid, []).append((s, e))
    overlaps = 0
    for pid, own in by_worker.items():
        others = [sp for p, sps in by_worker.items() if p != pid for sp in sps]
        for prev, nxt in itertools.pairwise(own):
            if any(os_ < prev[1] - 0.05 and oe > nxt[0] + 0.05 for os_, oe in others):
                overlaps += 1
    assert overlaps >= 1, by_worker


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupt_and_resume_reaches_exactly_n_trials(tmp_path, sig):
    n = 6
    args = [
        "hparams_search=digits",
        "model.depth=3",
        "trainer.batch_size=32",
        # 80 epochs: the signal below lands while a trial has 79 of them ahead
        "trainer.epochs=80",
        "trainer.early_stopping.enabled=false",
        # every trial that is not interrupted must complete: fixed params that learn, a
        # seeded sampler (resumed workers draw other values; only the width varies)
        *SAFE,
        "model.width=choice(96,128)",
        f"hydra.sweeper.n_trials={n}",
        "hydra.sweeper.pruner=none",
    ]
    # the third trial stops at its first epoch (its 79 others ahead), two trials done: the
    # signal lands inside it, with work left for the sweep (the event: it wrote its pid)
    hold = Hold(tmp_path / "hold", first=2)
    proc = subprocess.Popen(
        [NNEXP_TRAIN, "-m", *args],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS, **hold.env()),
        stdout=(tmp_path / "first.log").open("w"),  # a file: an unread pipe could fill and block
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # a Ctrl-C reaches a terminal's sweep even where the suite itself runs with SIGINT
        # ignored (a background job of a non-interactive shell inherits SIG_IGN)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        hold.wait(1, 120, proc=proc, log=tmp_path / "first.log")
        os.killpg(proc.pid, sig)  # the whole process group, as a crash or Ctrl-C would
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    before = study_of(tmp_path).trials
    interrupted = [t.number for t in before if t.state.name in ("RUNNING", "FAIL")]
    assert interrupted == [len(before) - 1]  # the trial caught above, and nothing after it
    assert len(before) < n and sum(t.state.name == "COMPLETE" for t in before) == len(before) - 1

    out = sweep(tmp_path, *args).stdout
    assert "resuming" in out
    after = study_of(tmp_path).trials
    # interrupted (FAIL) trials don't count towards n_trials: n finished ones besides them
    assert [t.number for t in after] == list(range(n + len(interrupted)))
    for t in before:
        if t.state.name == "COMPLETE":
            assert after[t.number].value == t.value and after[t.number].params == t.params
    for number in interrupted:
        assert after[number].state.name == "FAIL" and after[number].user_attrs.get(FAIL_REASON_ATTR)
    assert sum(t.state.name == "COMPLETE" for t in after) == n

    _, parents, children = mlflow_runs(tmp_path)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    states = {c.data.tags[TRIAL_TAG]: c for c in children}
    for number in interrupted:
        child = states.get(str(number))
        if child is not None:  # the run existed when the sweep died
            assert child.info.status in ("FAILED", "KILLED")
            assert child.data.tags.get(STATE_TAG) == "FAIL"


def test_a_diverging_trial_is_pruned_with_its_reason_and_the_sweep_goes_on(tmp_path):
    # sgd with lr 10 diverges in its first epoch on digits, lr 0.05 learns; the seeded random
    # sampler draws both, in a fixed order, one worker.
    proc = sweep(
        tmp_path,
        "hparams_search=digits",
        "trainer.epochs=3",
        "model.depth=1",
        "model.width=32",
        "trainer.batch_size=32",
        "model.dropout=0.0",
        "model.l2=0.0001",
        "optimizer=sgd",
        "optimizer.lr=choice(10.0,0.05)",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler.name=random",
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.pruner=none",
    )
    trials = study_of(tmp_path).trials
    diverged = [t for t in trials if t.params["optimizer.lr"] == 10.0]
    assert diverged and len(trials) == 4
    for t in diverged:  # PRUNED (the sampler learns from it), not FAIL
        assert t.state.name == "PRUNED"
        assert t.user_attrs[PRUNE_REASON_ATTR] == "diverged: non-finite loss at epoch 1"
        assert t.user_attrs[PRUNED_AT_ATTR] == 1 and t.user_attrs[EPOCHS_RUN_ATTR] == 0
    assert all(t.state.name == "COMPLETE" for t in trials if t not in diverged)
    after = [trials[t.number + 1] for t in diverged if t.number + 1 < len(trials)]
    assert any(t.state.name == "COMPLETE" for t in after), "a trial after a diverged one completes"
    assert "PRUNED at epoch 1 diverged: non-finite loss at epoch 1" in proc.stdout
    _, _, children = mlflow_runs(tmp_path)
    by_number = {int(c.data.tags[TRIAL_TAG]): c for c in children}
    for t in diverged:
        run = by_number[t.number]
        assert run.data.tags[STATE_TAG] == "PRUNED" and run.info.status == "FINISHED"
        assert run.data.tags[PRUNE_REASON_TAG] == t.user_attrs[PRUNE_REASON_ATTR]
        assert run.data.tags[RUN_NAME_TAG].endswith(" [diverged]")
        assert "diverged" in run.data.tags[NOTE_TAG]


@pytest.mark.parametrize(
    "entry, message",
    [
        ("model.depth=interval(5,1)", "interval needs low < high"),
        ("model.dropout=interval(0.0,1.5)", "model.dropout=1.5 is out of range"),
        ("optimizer.lr=tag(log,interval(0,0.1))", "log-scale interval needs low > 0"),
    ],
)
def test_bad_search_space_fails_before_any_trial(tmp_path, entry, message):
    proc = sweep(tmp_path, "hparams_search=digits", entry, check=False, timeout=60)
    assert proc.returncode == 2
    assert "invalid sweep" in proc.stderr and message in proc.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize(
    "entry, message",
    [
        ("trainer.epochs=0", "invalid sweep: trainer.epochs=0 is out of range"),
        ("model.width=[]", "invalid sweep: model.width has 0 entries"),
        ("optimizer.lr=nan", "invalid sweep: optimizer.lr=nan is out of range"),
    ],
)
def test_bad_fixed_value_in_a_sweep_names_its_key(tmp_path, entry, message):
    """The headline names the key and value at fault and where it came from (issue 23, point 8)."""
    proc = sweep(tmp_path, "hparams_search=digits", entry, check=False, timeout=60)
    assert proc.returncode == 2
    headline = next(line for line in proc.stderr.splitlines() if "invalid sweep" in line)
    assert message in headline and f"command-line override {entry!r}" in headline
    assert "hydra.sweeper.params" not in headline
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize(
    "entry", ["nosuch.key=choice(1,2)", "+nosuch.key=choice(1,2)", "+model.widht=choice(1,2)"]
)
def test_searching_a_key_nnexp_does_not_read_is_refused(tmp_path, entry):
    """No `+key` advice that leads to a sweep over a key nothing reads (issue 23, point 8)."""
    proc = sweep(tmp_path, "hparams_search=digits", entry, check=False, timeout=60)
    assert proc.returncode == 2
    key = entry.lstrip("+").split("=")[0]
    assert f"{key!r} is not a config key nnexp reads" in proc.stderr
    assert "To append to your config" not in proc.stderr
    if "widht" in entry:
        assert "did you mean model.width" in proc.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "multirun").exists()
