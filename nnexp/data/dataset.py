"""The ``Dataset`` container, the loaders' ``RawData`` hand-off and dataset identity hashing."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("classification", "regression")


@dataclass
class RawData:
    """What a loader hands to the splitter: the full data before splitting, with provenance.

    ``X`` may be any numeric dtype (images stay uint8 until split, to keep memory low);
    ``y`` holds encoded labels ``0..K-1`` (classification) or float targets (regression).
    ``X_test``/``y_test`` are set when the dataset has a canonical test set (MNIST).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    source: str
    #: filename -> sha256 of decompressed content (a ``Future`` of it while it is computed)
    files: dict[str, str | Future[str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  #: content-defining loader options
    class_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    task_reason: str = ""  #: why ``task`` (shown at the start of a run); empty: the dataset's own
    #: a user's table (pandas DataFrame of the feature columns used, ``X`` then has no columns):
    #: encoded when split, by a ``ColumnTransform`` fitted on the training rows
    table: Any = None
    roles: Any = None  #: ``nnexp.data.columns.ColumnRoles`` of ``table``

    def __post_init__(self) -> None:
        if not self.task_reason:
            self.task_reason = f"{self.name} is a {self.task} dataset"

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        if self.task != "classification":
            return 0
        if self.class_names is not None:
            return len(self.class_names)
        ys = [self.y] + ([self.y_test] if self.y_test is not None else [])
        return int(max(int(a.max()) for a in ys if a.size) + 1)


@dataclass
class Dataset:
    """A loaded, split dataset. X arrays are float32 raw features; y is int64 (classification)
    or float32 (regression).

    ``identity`` (``name``, ``source``, ``files``, ``sha256``, ``options``) describes the data
    before splitting; ``split`` records how it was split (sizes, seed, an index checksum);
    ``info`` holds non-identity details (verification method per file, data directory).
    """

    name: str
    task: str
    n_classes: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    identity: dict[str, Any]
    class_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    split: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    task_reason: str = ""  #: why ``task``: inferred from the target column, or set in the config
    #: a table's transform (``nnexp.nn.columns.ColumnTransform``, fitted on the training rows) and
    #: its column roles; None for numeric datasets
    columns: Any = None
    roles: Any = None

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.X_train.shape[1])

    @property
    def sizes(self) -> dict[str, int]:
        """Row counts of the three splits."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def summary(self) -> str:
        """One line describing the dataset, for logs."""
        s = self.sizes
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        return (
            f"{self.name}: {kind}, {self.n_features} features, "
            f"train/val/test = {s['train']}/{s['val']}/{s['test']}, sha256 {self.identity['sha256'][:12]}"
        )

    def __repr__(self) -> str:
        return f"Dataset({self.summary()})"


def array_sha256(*arrays: np.ndarray) -> str:
    """sha256 over the dtype, shape and bytes of each array, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def make_identity(raw: RawData, content_sha256: str | None = None) -> dict[str, Any]:
    """Build a dataset's identity dict.

    The combined ``sha256`` covers the name, the per-file checksums (decompressed content), the
    content-defining options, and for generated data (no files) the generated arrays. It does not
    cover the source path, so moving the data directory keeps the identity.
    """
    if not raw.files and content_sha256 is None:
        content_sha256 = array_sha256(raw.X, raw.y)
    files = {k: v.result() if isinstance(v, Future) else v for k, v in sorted(raw.files.items())}
    payload = {
        "name": raw.name,
        "files": files,
        "options": _jsonable(raw.options),
        "content": content_sha256,
    }
    combined = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return {
        "name": raw.name,
        "source": raw.source,
        "files": files,
        "sha256": combined,
        "options": _jsonable(raw.options),
    }


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/paths/tuples inside options to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
