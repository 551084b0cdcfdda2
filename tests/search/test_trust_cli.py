"""Through the real command on digits: the winner's test score and the pruning ledger on the
parent run, in ``optimization_results.yaml`` and the summary; a warm start that enqueues and
tags the earlier study's best trials (issue 11)."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from helpers import FULL_ERRORS, NNEXP, cli_env
from test_sweep_cli import mlflow_runs, study_of, sweep, trial_lines

from nnexp.contract import (
    AUDIT_OF_TAG,
    EPOCHS_BUDGET_ATTR,
    EPOCHS_RUN_ATTR,
    NOTE_TAG,
    PARENT_RUN_TAG,
    PRUNED_AT_ATTR,
    ROLE_TAG,
    RUN_ID_ATTR,
    STUDY_WARM_START,
    TEST_METRICS_ATTR,
    WARM_START_ATTR,
)

pytestmark = pytest.mark.slow

#: lr 0.05 learns within an epoch, 1e-6 does not: the median pruner stops the bad ones.
PRUNING = [
    "hparams_search=digits",
    "trainer.epochs=4",
    "model.depth=1",
    "model.width=32",
    "trainer.batch_size=64",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "optimizer=sgd",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.pruner.n_startup_trials=1",
    "hydra.sweeper.pruner.n_warmup_steps=0",
]


def test_test_score_ledger_and_warm_start(tmp_path):
    proc = sweep(
        tmp_path,
        *PRUNING,
        "optimizer.lr=choice(0.05,0.02,0.000001)",
        "hydra.sweeper.n_trials=5",
        "hydra.sweeper.study_name=first",
    )
    trials = study_of(tmp_path, "first").trials
    done = [t for t in trials if t.state.name == "COMPLETE"]
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert done and pruned, proc.stdout
    # selected on the validation value alone; its own test metrics are the ones reported
    best = max(done, key=lambda t: (t.value, -t.number))
    test = best.user_attrs[TEST_METRICS_ATTR]
    _, parents, _ = mlflow_runs(tmp_path)
    parent = parents[0].data.metrics
    assert parent["best_value"] == pytest.approx(best.value)
    assert parent["best_test_accuracy"] == pytest.approx(test["test_accuracy"])
    assert parent["best_test_loss"] == pytest.approx(test["test_loss"])
    assert (
        f"[sweep] test score of trial {best.number} (selected on validation only): "
        f"test_accuracy={test['test_accuracy']:.4f}" in proc.stdout
    )
    # the ledger: pruned trials count their 4-epoch budget, the others what they ran
    run = sum(t.user_attrs[EPOCHS_RUN_ATTR] for t in trials)
    budget = sum(4 if t in pruned else t.user_attrs[EPOCHS_RUN_ATTR] for t in trials)
    assert all(t.user_attrs[EPOCHS_BUDGET_ATTR] == 4 for t in trials)
    assert (parent["epochs_run"], parent["epochs_budget"]) == (run, budget) and run < budget
    assert parent["compute_saved_pct"] == pytest.approx(100 * (budget - run) / budget)
    assert f"[sweep] pruning: {run} of {budget} budget epochs run" in proc.stdout
    note = parents[0].data.tags[NOTE_TAG]
    assert f"Test score of trial {best.number}" in note and "compute saved" in note
    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["best_test_score"] == pytest.approx(
        {"test_accuracy": test["test_accuracy"], "test_loss": test["test_loss"]}
    )
    assert results["pruning"]["epochs_budget"] == budget

    # the audit re-trains pruned trials to their full budget, under the sweep's parent run
    audit = subprocess.run(
        [NNEXP, "audit", "--study", "first", "--sample", "2"],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    k = min(2, len(pruned))
    assert f"false prunes: 0 of {k} audited pruned trials (0.0%)" in audit.stdout
    client, parents, _ = mlflow_runs(tmp_path)
    runs = client.search_runs([parents[0].info.experiment_id], max_results=100)
    audit_run = next(
        r
        for r in runs
        if r.data.tags.get(ROLE_TAG) == "audit" and r.data.tags.get(PARENT_RUN_TAG) == parents[0].info.run_id
    )
    assert audit_run.info.status == "FINISHED"
    assert audit_run.data.metrics["audited"] == k and audit_run.data.metrics["false_prunes"] == 0
    retrained = [r for r in runs if r.data.tags.get(PARENT_RUN_TAG) == audit_run.info.run_id]
    by_run = {t.user_attrs[RUN_ID_ATTR]: t for t in pruned}
    assert len(retrained) == k
    for r in retrained:
        t = by_run[r.data.tags[AUDIT_OF_TAG]]
        history = client.get_metric_history(r.info.run_id, "val_accuracy")
        assert len(history) == 4  # the full budget; bit-identical up to where it was pruned
        epoch = t.user_attrs[PRUNED_AT_ATTR]
        assert history[epoch - 1].value == t.intermediate_values[epoch]

    # a new study with a narrower space starts from the first study's two best trials
    ranked = sorted(done, key=lambda t: (-t.value, t.number))[:2]
    proc = sweep(
        tmp_path,
        *PRUNING,
        "optimizer.lr=choice(0.05,0.02,0.01)",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.study_name=second",
        "hydra.sweeper.warm_start={study: first, top: 2}",
    )
    assert "[sweep] warm start: enqueued the 2 best trial(s) of study 'first'" in proc.stdout
    second = study_of(tmp_path, "second")
    assert len(trial_lines(proc.stdout)) == 3 and len(second.trials) == 3
    for new, old in zip(second.trials[:2], ranked):
        assert new.user_attrs[WARM_START_ATTR] == {
            "study": "first",
            "trial": old.number,
            "value": pytest.approx(old.value),
        }
        assert new.params == old.params
    assert WARM_START_ATTR not in second.trials[2].user_attrs
    assert second.user_attrs[STUDY_WARM_START] == {"study": "first", "enqueued": 2}
    # a missing study is refused before anything is created
    bad = sweep(
        tmp_path,
        *PRUNING,
        "hydra.sweeper.study_name=third",
        "hydra.sweeper.warm_start=nope",
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2 and "no study 'nope'" in bad.stderr
    storage = second._storage
    assert {s.study_name for s in storage.get_all_studies()} == {"first", "second"}
