"""The Ray launcher's settings and refusals, fast (no cluster): the config group, the stores that
workers on other machines cannot reach, Ray's death errors, a trial reaped by a death on another
host, the status line's workers per node. The faults on a real cluster: tests/scale/test_ray.py."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import NNEXP_TRAIN

from hydra_plugins.nnexp_sweeper.nnexp_ray_launcher import (
    NnexpRayLauncher,
    context_files,
    unquote,
    unshared_store,
)
from nnexp.contract import HEARTBEAT_ATTR, HOST_ATTR, NODE_ATTR, PID_ATTR
from nnexp.errors import SweepSettingError
from nnexp.search.launch import _quote
from nnexp.search.stale import stale_reason
from nnexp.search.status import workers_per_node

REMOTE = "ray://203.0.113.7:10001"  # TEST-NET-3: never reachable, never connected to


def test_the_launcher_config_group_composes() -> None:
    out = subprocess.run(
        [
            NNEXP_TRAIN,
            "hparams_search=digits",
            "hydra/launcher=nnexp_ray",
            "hydra.launcher.address=auto",
            "hydra.launcher.num_gpus=1",
            "hydra.launcher.memory=2000000000",
            "hydra.launcher.runtime_env={env_vars: {OMP_NUM_THREADS: '1'}}",
            "--cfg",
            "hydra",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "nnexp_ray_launcher.NnexpRayLauncher" in out
    assert "address: auto" in out and "num_gpus: 1" in out and "memory: 2000000000" in out
    assert "OMP_NUM_THREADS: '1'" in out


def test_unshared_stores() -> None:
    assert "file /x/journal.log" in unshared_store("journal:/x/journal.log", None)
    assert "file /x/o.db" in unshared_store("sqlite:////x/o.db", "http://m:5000")
    assert "sqlite:////x/m.db" in unshared_store("postgresql://u@db/o", "sqlite:////x/m.db")
    assert unshared_store("postgresql://u@db/o", "http://m:5000") is None
    assert unshared_store("postgresql://u@db/o", None) is None  # tracking off


def test_remote_cluster_needs_shared_stores() -> None:
    remote = NnexpRayLauncher(address=REMOTE)
    with pytest.raises(SweepSettingError, match="nodes on other machines.*journal.log.*PostgreSQL"):
        remote.check_places("journal:/x/journal.log", "http://m:5000")
    with pytest.raises(SweepSettingError, match="MLflow records to sqlite"):
        remote.check_places("postgresql://u@db/o", "sqlite:////x/m.db")
    remote.check_places("postgresql://u@db/o", "https://m")  # servers: fine
    NnexpRayLauncher(address=None).check_places("journal:/x/journal.log", "sqlite:////x/m.db")


def test_remote_cluster_with_journal_exits_2_before_anything_is_created(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    proc = subprocess.run(
        [
            NNEXP_TRAIN,
            "-m",
            "hparams_search=digits",
            "hydra/launcher=nnexp_ray",
            f"hydra.launcher.address={REMOTE}",
            f"hydra.sweep.dir={tmp_path / 's'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "nodes on other machines (203.0.113.7)" in proc.stderr and "PostgreSQL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "mlruns" / "optuna" / "journal.log").exists()
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()


def test_ray_death_errors_count_once_ray_is_imported() -> None:
    ray_exceptions = pytest.importorskip("ray.exceptions")
    from nnexp.search.respawn import worker_death_errors

    deaths = worker_death_errors()
    for cls in (
        "ActorDiedError",
        "ActorUnavailableError",
        "WorkerCrashedError",
        "NodeDiedError",
        "OwnerDiedError",
    ):
        assert issubclass(getattr(ray_exceptions, cls), deaths), cls
    assert not issubclass(ray_exceptions.RayTaskError, deaths)  # an error inside the job: no death


def _running(host: str, pid: int, node: str | None) -> SimpleNamespace:
    attrs = {HOST_ATTR: host, PID_ATTR: pid, HEARTBEAT_ATTR: time.time()}
    if node:
        attrs[NODE_ATTR] = node
    return SimpleNamespace(user_attrs=attrs, datetime_start=None, state=SimpleNamespace(name="RUNNING"))


def test_a_death_on_another_host_reaps_at_once_naming_the_node() -> None:
    node = "eab7bc23b6084e0f4c2870e4ac081e029318ae353822dfd6b20ad81b"
    trial = _running("other-host", 4242, node)
    assert stale_reason(trial, 300.0) is None  # fresh heartbeat, another host: alive
    reason = stale_reason(trial, 300.0, dead={("other-host", 4242)})
    assert reason == "worker process 4242 on node eab7bc23b608 (other-host) died while the trial was running"
    assert stale_reason(trial, 300.0, dead={("other-host", 4243)}) is None


def test_status_counts_workers_per_node() -> None:
    trials = [_running("h", 1, "aaaaaaaa11"), _running("h", 2, "aaaaaaaa11"), _running("h", 3, "bbbbbbbb22")]
    assert workers_per_node(trials) == " on nodes aaaaaaaa 2, bbbbbbbb 1"
    assert workers_per_node([_running("h", 1, None)]) == ""


def test_the_context_file_travels_to_nodes_without_it(tmp_path: Path) -> None:
    path = tmp_path / "it's here" / ".nnexp_sweep.json"
    path.parent.mkdir()
    path.write_text("{}")
    override = f"hydra.sweeper.worker_context={_quote(str(path))}"
    assert unquote(_quote(str(path))) == str(path)
    assert context_files([(0, ["a=1", override]), (1, ["a=1", override])]) == {str(path): b"{}"}


def test_settings_reach_ray_as_plain_values() -> None:
    from omegaconf import OmegaConf

    launcher = NnexpRayLauncher(
        address="local", num_cpus=2, memory=10**9, runtime_env=OmegaConf.create({"env_vars": {"A": "1"}})
    )
    assert launcher.address is None  # a Ray instance started here
    assert launcher.resources == {"num_cpus": 2.0, "num_gpus": 0.0, "memory": 10**9}
    assert launcher.runtime_env == {"env_vars": {"A": "1"}} and type(launcher.runtime_env["env_vars"]) is dict


def test_ray_stays_optional() -> None:
    """Hydra's plugin scan imports the launcher module and a sweep asks for the death errors:
    neither imports Ray (seconds of start-up; the extra may be missing)."""
    code = (
        "import sys, hydra_plugins.nnexp_sweeper.nnexp_ray_launcher\n"
        "from nnexp.search.respawn import worker_death_errors\n"
        "worker_death_errors()\n"
        "assert 'ray' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
