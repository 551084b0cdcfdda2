"""Where the code came from: nnexp version and git commit of the source tree (when available)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Dict

import nnexp


@functools.lru_cache(maxsize=1)
def git_info() -> Dict[str, str]:
    """``{"commit": sha, "dirty": "true"|"false"}`` of the checkout holding nnexp, else ``{}``."""
    root = Path(nnexp.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=3, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=3, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": "true" if status else "false"} if commit else {}


def version_tags() -> Dict[str, str]:
    """Tags naming the code version: ``nnexp.version``, ``git.commit``, ``git.dirty`` and
    MLflow's own ``mlflow.source.git.commit`` (shown in the UI)."""
    tags = {"nnexp.version": nnexp.__version__}
    info = git_info()
    if info:
        tags["git.commit"] = info["commit"]
        tags["git.dirty"] = info["dirty"]
        tags["mlflow.source.git.commit"] = info["commit"]
    return tags
