"""The worker's trial loop with a fake trainer: states, reasons, pruning, n_trials, reaping."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf
from optuna.trial import TrialState

from nnexp.contract import (
    EPOCHS_BUDGET_ATTR,
    EPOCHS_RUN_ATTR,
    FAIL_REASON_ATTR,
    HEARTBEAT_ATTR,
    HOST_ATTR,
    PID_ATTR,
    PID_NS_ATTR,
    PID_START_ATTR,
    PRUNE_REASON_ATTR,
    PRUNED_AT_ATTR,
)
from nnexp.nn import StopTraining
from nnexp.search.context import SweepContext
from nnexp.search.grammar import parse_search_space
from nnexp.search.lines import trial_line
from nnexp.search.pruners import make_pruner
from nnexp.search.samplers import make_sampler
from nnexp.search.stale import reap_stale_trials
from nnexp.search.storage import create_or_load_study, resolve_storage_url
from nnexp.search.worker import Worker, objective_value, worker_threads


@dataclass
class FakeResult:
    history: dict[str, list[float]]
    stop_reason: str
    epochs_run: int
    metric: str = "val_loss"
    best_value: float = math.nan
    run_id: Any = None
    model_path: Any = None
    test_metrics: dict[str, float] = field(default_factory=dict)


def fake_train(cfg, *, callbacks, **_):
    """Accuracy curve from cfg.lr: lr >= 100 diverges in epoch 2 (after 0.3 in epoch 1, like
    MLP.fit it does not count the diverged epoch), lr < 0 raises, else acc = lr * epoch."""
    lr = float(cfg.lr)
    if lr < 0:
        raise RuntimeError("boom")
    hist: dict[str, list[float]] = {"val_accuracy": []}
    for epoch in range(1, int(cfg.epochs) + 1):
        if lr >= 100 and epoch == 2:
            return FakeResult(hist, "diverged", epoch - 1)
        acc = 0.3 if lr >= 100 else min(1.0, lr * epoch)
        hist["val_accuracy"].append(acc)
        try:
            for cb in callbacks:
                cb(None, {"epoch": epoch, "val_accuracy": acc})
        except StopTraining as stop:
            return FakeResult(hist, stop.reason, epoch)
    return FakeResult(hist, "completed", int(cfg.epochs))


def compose(overrides):
    cfg = OmegaConf.create(
        {
            "lr": 0.1,
            "epochs": 5,
            "trainer": {"save_dir": None, "progress": True, "epochs": 5},
            "tracking": {"log_plots": True},
        }
    )
    for o in overrides:
        k, v = o.split("=", 1)
        OmegaConf.update(cfg, k, float(v))
    return cfg


def make_ctx(tmp_path: Path, params, n_trials=4, pruner="none", sampler=None) -> SweepContext:
    space, _ = parse_search_space(params)
    url = resolve_storage_url(None, tmp_path)
    create_or_load_study(url, "s", "maximize", make_sampler(sampler), make_pruner(pruner))
    return SweepContext(
        study_name="s",
        storage_url=url,
        n_trials=n_trials,
        metric="val_accuracy",
        direction="maximize",
        space_json=space.to_json(),
        sampler=sampler,
        pruner=pruner,
        sweeper_host=socket.gethostname(),
    )


def run(ctx, tmp_path, capsys=None):
    w = Worker(
        ctx,
        worker_index=0,
        out_dir=tmp_path / "job",
        base_overrides=[],
        compose=compose,
        train=fake_train,
    )
    return w, w.run()


def test_states_and_reasons(tmp_path, capsys):
    ctx = make_ctx(
        tmp_path,
        {"lr": "choice(0.1, 200.0, -1.0)"},
        n_trials=6,
        sampler={"name": "random", "seed": 0},
    )
    w, _ = run(ctx, tmp_path)
    trials = w.study.get_trials()
    # FAIL trials don't count towards n_trials: the worker runs until 6 finished (COMPLETE or
    # PRUNED: a diverged trial is PRUNED)
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 6
    assert [t.number for t in trials] == list(range(len(trials)))
    for t in trials:
        lr = t.params["lr"]
        if lr == 0.1:
            assert t.state == TrialState.COMPLETE and t.value == pytest.approx(0.5)
        elif lr == 200.0:  # diverged: PRUNED at that epoch with its last finite value
            assert t.state == TrialState.PRUNED and t.value == pytest.approx(0.3)
            assert t.user_attrs[PRUNE_REASON_ATTR] == "diverged: non-finite loss at epoch 2"
            assert t.user_attrs[PRUNED_AT_ATTR] == 2 and t.user_attrs[EPOCHS_RUN_ATTR] == 1
            assert FAIL_REASON_ATTR not in t.user_attrs
        else:
            assert t.state == TrialState.FAIL and "RuntimeError: boom" in t.user_attrs[FAIL_REASON_ATTR]
        assert t.user_attrs[PID_ATTR] == os.getpid()
        assert (tmp_path / "job" / f"trial_{t.number}" / "config.yaml").exists()
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("[trial ")]) == len(trials)
    assert any("PRUNED at epoch 2 diverged: non-finite loss at epoch 2" in line for line in out)
    assert (tmp_path / "job" / "trials.jsonl").read_text().count("\n") == len(trials)


def test_pruning_stops_at_once_and_records_the_epoch(tmp_path):
    ctx = make_ctx(
        tmp_path,
        {"lr": "choice(0.2, 0.01)"},
        n_trials=5,
        pruner={"name": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
        sampler={"name": "random", "seed": 0},
    )
    w, _ = run(ctx, tmp_path)
    trials = w.study.get_trials()
    first_good = min(t.number for t in trials if t.params["lr"] == 0.2)
    later_bad = [t for t in trials if t.params["lr"] == 0.01 and t.number > first_good]
    assert later_bad, "the seed should draw a bad trial after a good one"
    for t in later_bad:
        assert t.state == TrialState.PRUNED
        assert t.user_attrs[PRUNED_AT_ATTR] == 1 and t.user_attrs[EPOCHS_RUN_ATTR] == 1
        assert t.intermediate_values == {1: pytest.approx(0.01)}
        assert t.user_attrs[EPOCHS_BUDGET_ATTR] == 5  # what the pruning ledger counts


def test_stops_at_n_trials_and_resumes_to_the_total(tmp_path):
    ctx = make_ctx(tmp_path, {"lr": "interval(0.01, 0.2)"}, n_trials=3)
    w, _ = run(ctx, tmp_path)
    assert len(w.study.get_trials()) == 3
    ctx.n_trials = 5
    w, outcomes = run(ctx, tmp_path)
    assert [o.number for o in outcomes] == [3, 4]
    assert len(w.study.get_trials()) == 5


def test_reaping_dead_and_silent_workers(tmp_path):
    url = resolve_storage_url(None, tmp_path)
    study = create_or_load_study(url, "r", "maximize", make_sampler("random"), make_pruner("none"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    t_dead = study.ask()
    t_dead.set_user_attr(HOST_ATTR, socket.gethostname())
    t_dead.set_user_attr(PID_ATTR, dead.pid)
    t_dead.set_user_attr(HEARTBEAT_ATTR, time.time())
    t_silent = study.ask()
    t_silent.set_user_attr(HOST_ATTR, "elsewhere")
    t_silent.set_user_attr(PID_ATTR, 1)
    t_silent.set_user_attr(HEARTBEAT_ATTR, time.time() - 1000)
    t_alive = study.ask()
    t_alive.set_user_attr(HOST_ATTR, socket.gethostname())
    t_alive.set_user_attr(PID_ATTR, os.getpid())
    t_alive.set_user_attr(HEARTBEAT_ATTR, time.time())
    reaped = reap_stale_trials(study, stale_after=300)
    assert sorted(r.number for r in reaped) == [0, 1]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.FAIL, TrialState.RUNNING]
    assert "died" in study.get_trials()[0].user_attrs[FAIL_REASON_ATTR]
    assert HEARTBEAT_ATTR in study.get_trials()[1].user_attrs[FAIL_REASON_ATTR]


def test_a_trial_whose_pid_was_reused_or_is_in_another_namespace_is_judged_as_runs_are(tmp_path):
    """One liveness rule for trials and runs: a live pid started at another time is a later
    process (the worker is dead); a pid of another pid namespace means nothing here."""
    from nnexp.search.stale import worker_identity

    url = resolve_storage_url(None, tmp_path)
    study = create_or_load_study(url, "ns", "maximize", make_sampler("random"), make_pruner("none"))
    mine = worker_identity(socket.gethostname(), os.getpid())
    assert PID_START_ATTR in mine and PID_NS_ATTR in mine
    reused = study.ask()
    for key, value in {**mine, PID_START_ATTR: str(int(mine[PID_START_ATTR]) + 1)}.items():
        reused.set_user_attr(key, value)
    reused.set_user_attr(HEARTBEAT_ATTR, time.time())
    container = study.ask()
    for key, value in {**mine, PID_ATTR: 999_999, PID_NS_ATTR: "pid:[1]"}.items():
        container.set_user_attr(key, value)
    container.set_user_attr(HEARTBEAT_ATTR, time.time())
    owned = study.ask()
    for key, value in mine.items():
        owned.set_user_attr(key, value)
    owned.set_user_attr(HEARTBEAT_ATTR, time.time())
    reaped = reap_stale_trials(study, stale_after=300)
    assert [r.number for r in reaped] == [reused.number]
    assert "died" in reaped[0].reason


def test_helpers():
    assert (
        worker_threads(2, cores=2) == 1
        and worker_threads(1, cores=8) == 8
        and worker_threads(4, cores=2) == 1
    )
    r = FakeResult({"val_accuracy": [0.5, float("nan"), 0.7]}, "completed", 3)
    assert objective_value(r, "val_accuracy", "maximize") == 0.7
    assert objective_value(r, "val_accuracy", "minimize") == 0.5
    assert math.isnan(objective_value(FakeResult({}, "completed", 0), "val_accuracy", "maximize"))
    line = trial_line(7, "COMPLETE", 0.97222, 0.975, 3, 12.34)
    assert line == "[trial 7] COMPLETE value=0.9722 best=0.9750 (trial 3) 12.3s"


def test_trial_composer_composes_once_per_group_choice():
    from nnexp.search.compose import TrialComposer

    calls = []

    def compose_groups(overrides):
        calls.append(tuple(overrides))
        name = ([o.split("=")[1] for o in overrides if o.startswith("opt=")] or ["a"])[0]
        return OmegaConf.create({"opt": {"name": name, "lr": 0.1}, "n": 1})

    space, _ = parse_search_space(
        {"opt": "choice(a, b)", "opt.lr": "interval(0.01, 0.2)", "n": "range(1, 4)"}
    )
    space = space.mark_groups(lambda k: k == "opt")
    composer = TrialComposer(compose_groups, ["base=1"], space)
    for name, lr in [("a", 0.05), ("b", 0.02), ("a", 0.03)]:
        cfg, overrides = composer({"opt": name, "opt.lr": lr, "n": 2})
        assert cfg.opt.name == name and cfg.opt.lr == lr and cfg.n == 2
        assert overrides == [f"opt={name}", f"opt.lr={lr!r}", "n=2"]
    assert calls == [
        ("base=1", "opt=a"),
        ("base=1", "opt=b"),
    ]  # the second "a" hit the cache
    bad = TrialComposer(compose_groups, [], parse_search_space({"nope": "range(1, 3)"})[0])
    with pytest.raises(KeyError, match="nope"):
        bad({"nope": 1})


def test_a_worker_stops_at_max_failures(tmp_path):
    """Every trial raises: the worker asks for no trial past ``max_failures`` failures of this
    sweep (FAILs of earlier runs, ``failed_before``, don't count), although none finished."""
    ctx = make_ctx(tmp_path, {"lr": "choice(-1.0)"}, n_trials=4)
    ctx.max_failures, ctx.failed_before = 3, 0
    w, outcomes = run(ctx, tmp_path)
    assert [o.state for o in outcomes] == ["FAIL"] * 3
    ctx.max_failures, ctx.failed_before = 2, 3  # a rerun of the same command
    w, outcomes = run(ctx, tmp_path)
    assert len(outcomes) == 2 and len(w.study.get_trials()) == 5
