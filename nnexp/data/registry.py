"""The dataset registry (``DATASETS``) and :func:`load_dataset`, the one entry point."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nnexp.data.dataset import Dataset, RawData
from nnexp.data.mnist import load_fashion_mnist, load_mnist
from nnexp.data.splits import split_raw
from nnexp.data.synthetic import load_moons, load_xor
from nnexp.data.tabular import load_csv, load_digits

#: Options consumed by the splitter rather than the loader (valid for every dataset).
SPLIT_OPTIONS = ("max_train_samples", "subsample", "stratify")


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its loader and a one-line description."""

    name: str
    loader: Callable[..., RawData]
    description: str

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword options the loader accepts (besides ``seed``/``data_dir``), plus split options."""
        params = inspect.signature(self.loader).parameters
        own = tuple(p for p in params if p not in ("seed", "data_dir"))
        return own + SPLIT_OPTIONS

    @property
    def uses_data_dir(self) -> bool:
        """Whether the loader reads files from the data directory."""
        return "data_dir" in inspect.signature(self.loader).parameters


_SPECS = (
    DatasetSpec("xor", load_xor, "noisy XOR, 2 features, 2 classes (n_samples, noise, data_seed)"),
    DatasetSpec(
        "moons", load_moons, "sklearn make_moons, 2 features, 2 classes (n_samples, noise, data_seed)"
    ),
    DatasetSpec("digits", load_digits, "scikit-learn's bundled 8x8 digits, 64 features, 10 classes"),
    DatasetSpec("mnist", load_mnist, "MNIST IDX files from <data_dir>/mnist, 784 features, 10 classes"),
    DatasetSpec(
        "fashion_mnist",
        load_fashion_mnist,
        "Fashion-MNIST IDX files from <data_dir>/fashion_mnist, 784 features, 10 classes",
    ),
    DatasetSpec(
        "csv",
        load_csv,
        "a CSV file (path, target, task, sep, encoding, features, drop, max_categories, impute_*)",
    ),
)

#: Valid dataset names -> spec (read-only).
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({s.name: s for s in _SPECS})


def get_spec(name: str) -> DatasetSpec:
    """Look up a dataset by name (case-insensitive, ``-`` and ``_`` interchangeable)."""
    key = str(name).strip().lower().replace("-", "_")
    try:
        return DATASETS[key]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}") from None


def load_raw(
    name: str, data_dir: str | os.PathLike[str] | None = None, seed: int = 0, **options: Any
) -> RawData:
    """Run a dataset's loader (no splitting); options with value ``None`` count as not given."""
    spec = get_spec(name)
    options = {k: v for k, v in options.items() if v is not None}
    loader_opts = {k: v for k, v in options.items() if k not in SPLIT_OPTIONS}
    unknown = sorted(set(loader_opts) - set(spec.options))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for dataset {spec.name!r}; accepted: {list(spec.options)}"
        )
    kwargs: dict[str, Any] = dict(loader_opts, seed=seed)
    if spec.uses_data_dir:
        kwargs["data_dir"] = data_dir
    return spec.loader(**kwargs)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    val_size: float | None = None,
    test_size: float | None = None,
    **options: Any,
) -> Dataset:
    """Load dataset ``name`` and split it into train/validation/test (seeded, stratified).

    ``val_size``/``test_size``: fraction (float in [0, 1)) or row count (int). ``None`` means the
    dataset default: 0.2 and 0.2 of all rows; for MNIST/Fashion-MNIST, 10,000 validation rows
    carved from the 60k training file and the canonical 10k test set (``test_size`` ignored).
    ``options``: loader options (see ``DATASETS[name].options``; e.g. ``n_samples``, ``noise`` for
    moons; ``path``, ``target``, ``task`` for csv; ``download`` for MNIST) and split options
    ``max_train_samples`` (int), ``subsample`` (fraction of the train split), ``stratify`` (bool).
    Options whose value is ``None`` are ignored, so a config can pass every key.
    ``data_dir`` falls back to ``$NNEXP_DATA_DIR``, then ``./data``.
    ``data_seed`` (default ``seed``) seeds the data itself: what a generator draws (xor, moons)
    and which rows are test rows; ``seed`` seeds the validation split. Pinning ``data_seed``
    while changing ``seed`` keeps the test rows and re-draws the train/validation partition
    (a sweep's confirmation runs do this).
    """
    options = {k: v for k, v in options.items() if v is not None}
    split_opts = {k: options.pop(k) for k in SPLIT_OPTIONS if k in options}
    data_seed = options.pop("data_seed", None)
    if data_seed is not None and "data_seed" in get_spec(name).options:
        options["data_seed"] = data_seed
    raw = load_raw(name, data_dir=data_dir, seed=seed, **options)
    return split_raw(
        raw, seed=seed, test_seed=data_seed, val_size=val_size, test_size=test_size, **split_opts
    )
