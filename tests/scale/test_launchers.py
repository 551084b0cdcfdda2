"""Hydra's submitit launcher (``submitit_local``, the local twin of ``nnexp_slurm``): each sweep
worker is its own submitit job pulling trials from the shared study."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from scale_sweeps import check_invariants, load, start_sweep, trial_runs, wait_all

from nnexp.contract import PID_ATTR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_submitit_local_workers_complete_the_study(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    study, n_trials = "submitit", 6
    proc, log = start_sweep(
        tmp_path,
        "s",
        "hydra/launcher=nnexp_local",
        "hydra.sweeper.n_jobs=2",
        f"hydra.sweeper.n_trials={n_trials}",
        f"hydra.sweeper.study_name={study}",
    )
    wait_all([proc], [log])
    st = load(f"journal:{tmp_path / 'mlruns/optuna/journal.log'}", study)
    client, runs = trial_runs(f"sqlite:///{tmp_path / 'mlruns/mlflow.db'}", study)
    states = check_invariants(st, client, runs, n_trials)
    assert states.get("COMPLETE") == n_trials
    # which worker takes how many trials is a race (one may finish all six before the other has
    # imported), so the check is that both submitit jobs ran their worker loop to the end, that
    # together they ran every trial, and that no trial ran in the sweeper's own process
    results = [pickle.loads(f.read_bytes()) for f in (tmp_path / "s/.submitit").glob("*/*_result.pkl")]
    assert [status for status, _ in results] == ["success", "success"], results
    ran = sorted(n for _, job in results for n in job.return_value["trials"])
    assert ran == list(range(n_trials)), f"the two jobs ran trials {ran}"
    assert proc.pid not in {t.user_attrs[PID_ATTR] for t in st.trials}


def test_slurm_launcher_config_composes() -> None:
    from hydra import compose, initialize_config_dir

    from nnexp.cli.train import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose(
            config_name="config",
            overrides=["hparams_search=digits", "hydra/launcher=nnexp_slurm"],
            return_hydra_config=True,
        )
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.cpus_per_task == 2
