"""A password given in a URL (by override or by environment) is written to no file nnexp, Hydra
or MLflow writes and to no terminal line, and the sweep still works (issue 13, point 5).

Against a real ``mlflow server`` on 127.0.0.1 (the password in its ``http://user:pw@`` URL; the
server has no auth, what matters is that the password does not leak) and, where PostgreSQL's
binaries are installed, an Optuna storage on a throwaway PostgreSQL cluster with the password in
its URL. Every file under the launch directory, the server's backend store and artifact root,
and the captured stdout/stderr are searched for the password.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import FULL_ERRORS, NNEXP, NNEXP_TRAIN, MlflowServer, cli_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
from scale_servers import PostgresCluster, postgres_bin  # noqa: E402
from test_sweep_cli import SAFE  # noqa: E402

from nnexp.cli.credentials import move_credentials  # noqa: E402
from nnexp.contract import CONTEXT_FILE  # noqa: E402
from nnexp.search.context import SweepContext  # noqa: E402

PASSWORD = "S3cret-do-not-leak"
SMALL = ["trainer.epochs=2", "model.depth=1", "model.width=16", *SAFE]


def test_url_overrides_with_credentials_move_to_the_environment():
    env: dict[str, str] = {}
    args = move_credentials(
        [
            "-m",
            f"tracking.uri=http://u:{PASSWORD}@h:5000",
            f"hydra.sweeper.storage='postgresql://u:{PASSWORD}@h/db'",
            "tracking.experiment=x",
            "+tracking.uri=sqlite:///plain.db",
        ],
        env,
    )
    assert args == [
        "-m",
        "tracking.uri=null",
        "hydra.sweeper.storage=null",
        "tracking.experiment=x",
        "+tracking.uri=sqlite:///plain.db",
    ]
    assert env["MLFLOW_TRACKING_URI"] == f"http://u:{PASSWORD}@h:5000"
    assert env["NNEXP_OPTUNA_STORAGE"] == f"postgresql://u:{PASSWORD}@h/db"
    assert env["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"


def test_context_file_is_private_and_holds_no_password(tmp_path, monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "NNEXP_OPTUNA_STORAGE"):  # save sets them: undo after
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    ctx = SweepContext(
        study_name="s",
        storage_url=f"postgresql://u:{PASSWORD}@h/db",
        n_trials=1,
        metric="val_loss",
        direction="minimize",
        space_json="{}",
        tracking_uri=f"http://u:{PASSWORD}@h:5000",
    )
    path = ctx.save(tmp_path / CONTEXT_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()
    assert os.environ["MLFLOW_TRACKING_URI"] == ctx.tracking_uri  # what workers inherit
    assert SweepContext.load(path).tracking_uri == ctx.tracking_uri


# -- slow: real servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[MlflowServer, PostgresCluster | None, Path]]:
    root = tmp_path_factory.mktemp("servers")
    pg = PostgresCluster().start() if postgres_bin() is not None else None
    server = MlflowServer(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", {}).start()
    try:
        yield server, pg, root
    finally:
        server.stop()
        if pg is not None:
            pg.stop()


def _auth_url(server: MlflowServer) -> str:
    return server.url.replace("http://", f"http://nnexp:{PASSWORD}@")


def _leaks(secrets: list[str], *roots: Path, texts: dict[str, str]) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path} holds {s!r}" for s in secrets if s.encode() in data]
    for name, text in texts.items():
        found += [f"{name} holds {s!r}" for s in secrets if s in text]
    return found


def _run(cwd: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [NNEXP_TRAIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("given", ["override", "environment"])
def test_no_password_is_written_anywhere(servers, tmp_path, given):
    server, pg, root = servers
    secrets = [PASSWORD]
    env = cli_env(**FULL_ERRORS)
    tracking = _auth_url(server)
    storage = None
    if pg is not None:
        pg.create_database(f"optuna_{given}")
        storage = pg.url(f"optuna_{given}", password=True)
        secrets.append(pg.password)
    args = [
        "-m",
        "hparams_search=digits",
        *SMALL,
        "hydra.sweeper.n_trials=2",
        f"tracking.experiment=secrets-{given}",
    ]
    run_args = ["trainer.epochs=1", "model.width=16", f"tracking.experiment=secrets-{given}"]
    if given == "override":
        args.append(f"tracking.uri={tracking}")
        run_args.append(f"tracking.uri={tracking}")
        if storage:
            args.append(f"hydra.sweeper.storage={storage}")
    else:
        env["MLFLOW_TRACKING_URI"] = tracking
        if storage:
            env["NNEXP_OPTUNA_STORAGE"] = storage
    sweep = _run(tmp_path, args, env)
    single = _run(tmp_path, run_args, env)
    assert sweep.stdout.count("COMPLETE") >= 2
    (ctx_file,) = (tmp_path / "multirun").rglob(CONTEXT_FILE)
    assert stat.S_IMODE(ctx_file.stat().st_mode) == 0o600
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(server.url).get_experiment_by_name(f"secrets-{given}")
    runs = MlflowClient(server.url).search_runs([exp.experiment_id])
    assert len(runs) >= 4 and {r.info.status for r in runs} == {"FINISHED"}
    leaks = _leaks(
        secrets,
        tmp_path,
        root,
        texts={
            "sweep stdout": sweep.stdout,
            "sweep stderr": sweep.stderr,
            "run stdout": single.stdout,
            "run stderr": single.stderr,
        },
    )
    assert not leaks, "\n".join(leaks)


def _nnexp(cwd: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    nnexp = NNEXP
    proc = subprocess.run(
        [nnexp, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"nnexp {args}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_no_nnexp_command_prints_the_tracking_password(servers, tmp_path):
    """A sweep that prunes and confirms, then ``nnexp studies``, ``best``, ``reproduce`` and
    ``audit`` against the server reached by a URL with a password (issue 23, point 2): MLflow's
    own ``View run ... at <url>`` lines are silenced in every command, as in ``nnexp-train``."""
    server, _, root = servers
    env = cli_env(**FULL_ERRORS)
    env["MLFLOW_TRACKING_URI"] = _auth_url(server)
    env.pop("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", None)
    experiment = ["tracking.experiment=secrets-commands"]
    sweep = _run(
        tmp_path,
        [
            "-m",
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
            "hydra.sweeper.confirm={top_k: 1, seeds: 1}",
            *experiment,
        ],
        env,
    )
    assert "PRUNED" in sweep.stdout, sweep.stdout
    outputs = {"sweep": sweep}
    for command in (
        ["studies"],
        ["best", "--study", "digits"],
        ["reproduce", "--study", "digits"],
        ["audit", "--study", "digits", "--sample", "1"],
    ):
        outputs[command[0]] = _nnexp(tmp_path, command, env)
    texts = {
        f"{name} {stream}": getattr(proc, stream)
        for name, proc in outputs.items()
        for stream in ("stdout", "stderr")
    }
    assert "verdict: identical" in outputs["reproduce"].stdout, outputs["reproduce"].stdout
    leaks = _leaks([PASSWORD], tmp_path, root, texts=texts)
    assert not leaks, "\n".join(leaks)
