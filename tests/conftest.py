"""Session fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ../shared/data beside the repository (CI and the dev machines keep the real MNIST files there).
SHARED_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The shared data directory holding ``mnist/`` (real IDX files); skips the test if absent.

    Sets nothing globally: pass it as ``data_dir=`` (or set ``NNEXP_DATA_DIR`` with monkeypatch).
    """
    if not (SHARED_DATA_DIR / "mnist").is_dir():
        pytest.skip(f"shared MNIST data not found at {SHARED_DATA_DIR / 'mnist'} (expected beside the repo)")
    return SHARED_DATA_DIR


# --- nnexp.config / train / tracking / cli fixtures ---------------------------------------------


@pytest.fixture
def compose_cfg():
    """Compose ``conf/`` like ``nnexp-train`` does: ``compose_cfg("model.depth=3", ...)`` -> DictConfig."""
    from hydra import compose, initialize_config_dir

    from nnexp.cli.train import CONF_DIR

    def _compose(*overrides: str):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    return _compose


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """A fresh SQLite tracking URI inside the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"


@pytest.fixture(scope="session", autouse=True)
def _baseline_cache(tmp_path_factory):
    """Baseline scores are cached in a session directory, not the user's ~/.cache (subprocesses too)."""
    import os

    from nnexp.train.baseline import CACHE_DIR_ENV

    old = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("nnexp-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = old


@pytest.fixture
def wait_for_epoch():
    """``wait_for_epoch(proc, uri)`` -> the run id a running ``nnexp-train`` (stdout piped, text)
    announces, once the store holds an epoch metric of it. Polls the store only after the run
    exists, so the test never races the store's creation (its schema migration)."""

    def _wait(proc, uri: str, timeout: float = 180) -> str:
        from helpers import wait_for
        from mlflow.tracking import MlflowClient

        for line in proc.stdout:
            if line.startswith("MLflow run "):
                run_id = line.split()[2]
                break
        else:
            raise AssertionError(f"no run started: exit {proc.wait()}")
        client = MlflowClient(uri)
        wait_for(
            lambda: client.get_metric_history(run_id, "val_loss"), timeout, "an epoch in the store", proc=proc
        )
        return run_id

    return _wait


@pytest.fixture
def tmpfs():
    """``tmpfs(path, size="3m", read_only=False)`` mounts a small tmpfs at ``path`` (created),
    for disks that are full or read-only for real (root ignores chmod); every mount is
    unmounted at teardown, also when the test fails. Skips when mounting is not permitted."""
    import subprocess

    mounted: list[Path] = []

    def _mount(path: Path, size: str = "3m", read_only: bool = False) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {proc.stderr.strip()}")
        mounted.append(path)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
        return path

    yield _mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --- a user's table as it comes (tests/loans.py) -------------------------------------------------


@pytest.fixture
def loans_csv(tmp_path: Path) -> Path:
    """``tmp_path/loans.csv``: text categories, gaps, a boolean, row-number and name columns."""
    from loans import write_loans

    return write_loans(tmp_path / "loans.csv")
