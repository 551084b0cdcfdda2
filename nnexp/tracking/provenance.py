"""What a run needs to be reproduced: code version, environment, dataset files, final weights.

Everything is recorded as run tags (cheap to read back, no artifact download):

* code: ``nnexp.version``, ``git.commit``, ``git.dirty`` (and MLflow's ``mlflow.source.git.commit``);
* environment (``env.*``): Python, machine, CPU model, BLAS library and the BLAS thread count in
  effect while the model trained, and the versions of the packages that shape the numbers;
* dataset: ``dataset.files`` (JSON ``{file name: sha256 of its content}``) and ``dataset.source``
  beside the ``dataset`` / ``dataset.sha256`` tags the recorder sets;
* the final model: ``nnexp.weights_sha256`` (``MLP.weights_checksum()``).

The seed and the resolved config are the run's params and its ``config.yaml`` artifact.
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nnexp

#: Tag of the final weights' checksum (``MLP.weights_checksum()``).
WEIGHTS_TAG = "nnexp.weights_sha256"
#: Tag holding ``{file name: sha256}`` of the dataset's files (JSON).
DATA_FILES_TAG = "dataset.files"
DATA_SOURCE_TAG = "dataset.source"
DATA_SHA_TAG = "dataset.sha256"
#: Prefix of the environment tags.
ENV_PREFIX = "env."
BLAS_THREADS_TAG = "env.blas_threads"
#: Distributions whose versions are recorded (those that can change a run's numbers or its data).
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "threadpoolctl",
    "optuna",
    "mlflow",
    "hydra-core",
    "omegaconf",
)
#: Tags that tell which code ran (compared by ``nnexp reproduce`` with the environment).
CODE_TAGS = ("nnexp.version", "git.commit", "git.dirty")


@functools.lru_cache(maxsize=1)
def git_info() -> dict[str, str]:
    """``{"commit": sha, "dirty": "true"|"false"}`` of the checkout holding nnexp, else ``{}``."""
    root = Path(nnexp.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=3,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=3,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": "true" if status else "false"} if commit else {}


def version_tags() -> dict[str, str]:
    """Tags naming the code version: ``nnexp.version``, ``git.commit``, ``git.dirty`` and
    MLflow's own ``mlflow.source.git.commit`` (shown in the UI)."""
    tags = {"nnexp.version": nnexp.__version__}
    info = git_info()
    if info:
        tags["git.commit"] = info["commit"]
        tags["git.dirty"] = info["dirty"]
        tags["mlflow.source.git.commit"] = info["commit"]
    return tags


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """``{distribution: version}`` of :data:`PACKAGES` (``"absent"`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in PACKAGES:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_state() -> dict[str, str]:
    """The BLAS libraries loaded now and their thread count *in effect now* (threadpoolctl).

    Call it inside the training's thread limits: that count is the one the run used.
    """
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return {"blas": "none", "blas_threads": "0"}
    names = sorted(
        {
            " ".join(str(p) for p in (i.get("internal_api"), i.get("version"), i.get("architecture")) if p)
            for i in libs
        }
    )
    return {"blas": "; ".join(names), "blas_threads": str(max(int(i.get("num_threads") or 1) for i in libs))}


def environment_tags() -> dict[str, str]:
    """``env.*`` tags: Python, machine, CPU, BLAS (library, threads now), package versions."""
    tags = {
        "env.python": platform.python_version(),
        "env.machine": f"{sys.platform}-{platform.machine()}",
        "env.cpu": cpu_model(),
    }
    tags.update({f"{ENV_PREFIX}{k}": v for k, v in blas_state().items()})
    tags.update({f"{ENV_PREFIX}pkg.{k}": v for k, v in package_versions().items()})
    return tags


def dataset_tags(identity: Mapping[str, Any]) -> dict[str, str]:
    """``dataset.files`` (JSON name -> sha256) and ``dataset.source`` from a dataset's identity."""
    return {
        DATA_FILES_TAG: json.dumps(dict(identity.get("files") or {}), sort_keys=True),
        DATA_SOURCE_TAG: str(identity.get("source", "")),
    }


def run_provenance_tags(dataset: Any) -> dict[str, str]:
    """Environment and dataset-file tags of a run (call inside its BLAS thread limits); a table's
    column roles (``nnexp.contract.COLUMN_TAGS``)."""
    roles = getattr(dataset, "roles", None)
    return {
        **environment_tags(),
        **dataset_tags(dataset.identity),
        **(roles.tags() if roles is not None else {}),
    }


def weights_tags(model: Any) -> dict[str, str]:
    """``{WEIGHTS_TAG: model.weights_checksum()}`` (empty when the model cannot say)."""
    try:
        return {WEIGHTS_TAG: str(model.weights_checksum())}
    except Exception:  # noqa: BLE001 - an unfitted or broken model has no checksum to record
        return {}
