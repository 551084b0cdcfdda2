"""Through the real command on digits: ``hydra.sweeper.confirm={top_k: 2, seeds: 2}`` re-trains
the two best trials with two new seeds each as linked child runs, chooses the best mean, and a
sweep killed mid-confirmation resumes only the missing confirmations (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
import yaml
from helpers import FULL_ERRORS, NNEXP, NNEXP_TRAIN, cli_env, wait_for
from test_sweep_cli import mlflow_runs, study_of, sweep

from nnexp.contract import (
    CONFIRM_SEED_ATTR,
    CONFIRM_SEED_TAG,
    CONFIRMS_ATTR,
    CONFIRMS_RUN_TAG,
    CONFIRMS_TAG,
    NOTE_TAG,
    OVERRIDES_ATTR,
    PARENT_RUN_TAG,
    ROLE_CONFIRMATION,
    ROLE_TAG,
    RUN_ID_ATTR,
    STUDY_CONFIRMED,
    STUDY_TAG,
    TEST_METRICS_ATTR,
)
from nnexp.search.confirmation import mean_std

pytestmark = pytest.mark.slow

#: Fixed params that learn, a seeded sampler; only the learning rate varies (a choice).
BASE = [
    "hparams_search=digits",
    "model.depth=1",
    "model.width=32",
    "optimizer=adam",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "trainer.batch_size=64",
    "optimizer.lr=choice(0.02,0.01,0.005,0.003)",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=0",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.confirm={top_k: 2, seeds: 2}",
]


def ranked(study) -> list:
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    return sorted(done, key=lambda t: (-t.value, t.number))


def test_top_2_with_2_seeds_links_runs_and_chooses_the_best_mean(tmp_path):
    proc = sweep(tmp_path, *BASE, "trainer.epochs=3")
    study = study_of(tmp_path)
    top = ranked(study)[:2]
    confirm = study_of(tmp_path, "digits-confirm").trials
    assert [t.state.name for t in confirm] == ["COMPLETE"] * 4, proc.stdout
    pairs = {(t.user_attrs[CONFIRMS_ATTR], t.user_attrs[CONFIRM_SEED_ATTR]) for t in confirm}
    assert pairs == {(t.number, s) for t in top for s in (1, 2)}  # trainer.seed 0 + 1, + 2
    assert len([line for line in proc.stdout.splitlines() if line.startswith("[confirm-")]) == 4

    # four child runs of the sweep's parent, each tagged with the trial (and run) it confirms
    client, parents, children = mlflow_runs(tmp_path)
    parent = parents[0]
    by_run = {t.user_attrs[RUN_ID_ATTR]: t for t in confirm}
    assert all(CONFIRMS_TAG not in c.data.tags for c in children)  # trial runs: the search's
    everything = client.search_runs([parent.info.experiment_id], max_results=100)
    runs = [r for r in everything if r.data.tags.get(ROLE_TAG) == ROLE_CONFIRMATION]
    assert len(runs) == 4 and {r.info.run_id for r in runs} == set(by_run)
    search_runs = {t.number: t.user_attrs[RUN_ID_ATTR] for t in top}
    for r in runs:
        t = by_run[r.info.run_id]
        assert r.data.tags[PARENT_RUN_TAG] == parent.info.run_id and r.info.status == "FINISHED"
        assert r.data.tags[STUDY_TAG] == "digits-confirm"
        assert int(r.data.tags[CONFIRMS_TAG]) == t.user_attrs[CONFIRMS_ATTR]
        assert int(r.data.tags[CONFIRM_SEED_TAG]) == t.user_attrs[CONFIRM_SEED_ATTR]
        assert r.data.tags[CONFIRMS_RUN_TAG] == search_runs[t.user_attrs[CONFIRMS_ATTR]]
        assert r.data.params["trainer.seed"] == str(t.user_attrs[CONFIRM_SEED_ATTR])
        assert r.data.params["data.data_seed"] == "0"  # the search's test rows, pinned
        assert "data.data_seed=0" in t.user_attrs[OVERRIDES_ATTR]
        assert r.info.run_name.startswith(f"confirm-{t.user_attrs[CONFIRMS_ATTR]} seed=")

    # the choice: the best mean over the new seeds (the search runs left out)
    stats = {
        t.number: mean_std(
            [
                c.value
                for c in sorted(confirm, key=lambda c: c.user_attrs[CONFIRM_SEED_ATTR])
                if c.user_attrs[CONFIRMS_ATTR] == t.number
            ]
        )
        for t in top
    }
    chosen = max(top, key=lambda t: (stats[t.number][0], -top.index(t)))
    mean, std = stats[chosen.number]
    metrics = parent.data.metrics
    assert metrics["confirmed_trial"] == chosen.number
    assert metrics["confirmed_val_accuracy_mean"] == pytest.approx(mean)
    assert metrics["confirmed_val_accuracy_std"] == pytest.approx(std)
    tests = [
        c.user_attrs[TEST_METRICS_ATTR]["test_accuracy"]
        for c in confirm
        if c.user_attrs[CONFIRMS_ATTR] == chosen.number
    ]
    assert metrics["best_test_accuracy_mean"] == pytest.approx(mean_std(tests)[0])
    assert study.user_attrs[STUDY_CONFIRMED]["trial"] == chosen.number
    assert f"confirmed best: trial {chosen.number}" in proc.stdout
    assert "| trial | search val_accuracy | mean ± std | per seed |" in parent.data.tags[NOTE_TAG]

    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    table = results["confirmation"]
    assert table["chosen_trial"] == chosen.number and table["search_best_trial"] == top[0].number
    assert [row["trial"] for row in table["trials"]] == [t.number for t in top]
    assert all(len(row["values"]) == 2 and row["seeds"] == [1, 2] for row in table["trials"])
    assert table["chosen_mean"] == pytest.approx(mean) and table["chosen_std"] == pytest.approx(std)
    # the best config, the servable model and nnexp best follow the confirmed choice
    assert results["best_trial"] == chosen.number
    best_cfg = yaml.safe_load((sweep_dir / "best_config.yaml").read_text())
    assert best_cfg["optimizer"]["lr"] == chosen.params["optimizer.lr"]
    best = subprocess.run(
        [NNEXP, "best", "--study", "digits"],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert best.returncode == 0 and f"best trial: {chosen.number}" in best.stdout, best.stdout + best.stderr
    assert f"confirmed: val_accuracy {mean:.4f} ± {std:.4f} over 2 new seed(s)" in best.stdout

    # nnexp reproduce --seeds 2 does the same for one trial: the same seeds, the same values
    other = top[1]
    rep = subprocess.run(
        [
            NNEXP,
            "reproduce",
            "--study",
            "digits",
            "--trial",
            str(other.number),
            "--seeds",
            "2",
            "--quiet",
        ],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert rep.returncode == 0, rep.stdout + rep.stderr
    values = [
        c.value
        for c in sorted(confirm, key=lambda c: c.user_attrs[CONFIRM_SEED_ATTR])
        if c.user_attrs[CONFIRMS_ATTR] == other.number
    ]
    m, sd = mean_std(values)
    assert f"val_accuracy {m:.4f} ± {sd:.4f} over 2 new seed(s) [1, 2]" in rep.stdout, rep.stdout
    client, _, _ = mlflow_runs(tmp_path)
    reruns = [
        r
        for r in client.search_runs([parent.info.experiment_id], max_results=100)
        if r.data.tags.get(ROLE_TAG) == ROLE_CONFIRMATION and r.data.tags[STUDY_TAG] == "digits"
    ]
    assert sorted(int(r.data.tags[CONFIRM_SEED_TAG]) for r in reruns) == [1, 2]
    assert all(r.data.tags[PARENT_RUN_TAG] == parent.info.run_id for r in reruns)
    assert all(int(r.data.tags[CONFIRMS_TAG]) == other.number for r in reruns)

    # nothing left to run: a rerun confirms nothing again
    again = sweep(tmp_path, *BASE, "trainer.epochs=3").stdout
    assert "2 new seed(s) each in study 'digits-confirm': 0 to run, 4 done before" in again
    assert len(study_of(tmp_path, "digits-confirm").trials) == 4


def test_a_sweep_killed_mid_confirmation_resumes_only_the_missing_ones(tmp_path):
    args = [*BASE, "trainer.epochs=12", "trainer.early_stopping.enabled=false", "hydra.sweeper.pruner=none"]
    proc = subprocess.Popen(
        [NNEXP_TRAIN, "-m", *args],
        cwd=tmp_path,
        env=cli_env(**FULL_ERRORS),
        stdout=(tmp_path / "first.log").open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    journal = tmp_path / "mlruns" / "optuna" / "journal.log"

    def one_confirmation_done() -> bool:
        if not journal.exists():
            return False
        try:
            trials = study_of(tmp_path, "digits-confirm").trials
        except Exception:  # noqa: BLE001 - the study may not exist yet
            return False
        return any(t.state.name == "COMPLETE" for t in trials)

    try:
        wait_for(
            one_confirmation_done, 180, "a confirmation trial COMPLETE", proc=proc, log=tmp_path / "first.log"
        )
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    before = study_of(tmp_path, "digits-confirm").trials
    finished = {
        (t.user_attrs[CONFIRMS_ATTR], t.user_attrs[CONFIRM_SEED_ATTR]): t.value
        for t in before
        if t.state.name == "COMPLETE"
    }
    assert 1 <= len(finished) < 4

    resumed = sweep(tmp_path, *args)
    out = resumed.stdout
    assert "0 to run" not in out
    ran = [line for line in out.splitlines() if line.startswith("[confirm-")]
    assert len(ran) == 4 - len(finished), out + resumed.stderr[-3000:]  # only the missing ones ran
    after = study_of(tmp_path, "digits-confirm").trials
    done = [t for t in after if t.state.name == "COMPLETE"]
    pairs = [(t.user_attrs[CONFIRMS_ATTR], t.user_attrs[CONFIRM_SEED_ATTR]) for t in done]
    assert len(pairs) == 4 and len(set(pairs)) == 4
    for t in done:  # the earlier ones kept as they were
        key = (t.user_attrs[CONFIRMS_ATTR], t.user_attrs[CONFIRM_SEED_ATTR])
        if key in finished:
            assert t.value == finished[key]
    assert all(t.state.name in ("COMPLETE", "FAIL") for t in after)
    _, parents, _ = mlflow_runs(tmp_path)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.metrics["confirmed_seeds"] == 2


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "hydra.sweeper.confirm={top_k: -1, seeds: 2}",
            "hydra.sweeper.confirm.top_k must be an integer >= 0",
        ),
        ("hydra.sweeper.confirm.seeds=x", "hydra.sweeper.confirm.seeds must be an integer >= 0"),
    ],
)
def test_bad_confirm_settings_fail_before_anything_is_created(tmp_path, setting, message):
    proc = sweep(tmp_path, "hparams_search=digits", setting, check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "multirun").exists()
