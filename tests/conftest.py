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
