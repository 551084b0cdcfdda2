"""``nnexp`` subcommands in-process: argument checks, refusals, studies table, best from a trial dir."""

from __future__ import annotations

import socket
from pathlib import Path

import optuna
import pytest
import yaml
from omegaconf import OmegaConf
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from nnexp.cli.main import main
from nnexp.repro.studies import storage_url
from nnexp.search.storage import open_storage


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _study(cwd: Path, trial_dir: Path | None = None) -> optuna.Study:
    st = open_storage(storage_url(None, cwd), create=True)
    study = optuna.create_study(storage=st, study_name="digits", direction="maximize")
    attrs = {"trial_dir": str(trial_dir)} if trial_dir else {}
    dist = {"model.depth": IntDistribution(1, 3)}
    study.add_trial(create_trial(value=0.9, params={"model.depth": 2}, distributions=dist, user_attrs=attrs))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"model.depth": 1}, distributions=dist))
    return study


def test_refusals_exit_2_with_a_message(cwd, capsys):
    assert main(["studies"]) == 2
    assert "no Optuna storage at journal:" in capsys.readouterr().err
    assert main(["reproduce"]) == 2
    assert "say what to reproduce" in capsys.readouterr().err
    assert main(["reproduce", "--study", "digits", "--tolerance", "-1"]) == 2
    _study(cwd)
    assert main(["best", "--study", "mnist"]) == 2
    assert "study 'mnist' does not exist" in capsys.readouterr().err
    assert main(["reproduce", "--study", "digits"]) == 2
    assert "no MLflow store at sqlite:///" in capsys.readouterr().err


def test_trial_and_run_id_exclude_each_other(cwd):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--study", "digits", "--trial", "1", "--run-id", "abc"])
    assert exc.value.code == 2


def test_studies_table(cwd, capsys):
    _study(cwd)
    assert main(["studies"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:8] == [
        "study",
        "direction",
        "trials",
        "complete",
        "pruned",
        "fail",
        "running",
        "waiting",
    ]
    assert out[2].split()[:10] == ["digits", "maximize", "2", "1", "0", "1", "0", "0", "0.9", "0"]


def test_best_without_mlflow_uses_the_trial_directory(cwd, capsys, compose_cfg):
    trial_dir = cwd / "multirun" / "trial_0"
    trial_dir.mkdir(parents=True)
    cfg = compose_cfg("model.depth=2", "trainer.save_dir=/elsewhere")
    (trial_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    _study(cwd, trial_dir)
    assert main(["best", "--study", "digits", "--out", "cfgs", "--name", "mine"]) == 0
    out = capsys.readouterr().out
    assert f"nnexp-train --config-path {cwd / 'cfgs'} --config-name mine" in out
    written = yaml.safe_load((cwd / "cfgs" / "mine.yaml").read_text())
    assert written["defaults"] == ["base_config", "_self_"]
    assert written["model"]["depth"] == 2 and written["trainer"]["save_dir"] is None


def test_ui_refuses_a_busy_port(cwd, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["ui", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
