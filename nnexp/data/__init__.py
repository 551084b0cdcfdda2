"""Datasets for nnexp: ``load_dataset(name, ...)`` -> a split :class:`Dataset`.

Names (``DATASETS``): xor, moons, digits, mnist, fashion_mnist, csv. X is float32 with raw
(unscaled) values -- images are 0..255 -- because the MLP scales inputs inside ``fit`` (``data.scaling``); y is int64
labels 0..K-1 (classification) or float32 (regression).
"""

from nnexp.data.dataset import Dataset, RawData, array_sha256, make_identity
from nnexp.data.idx import IdxFile, parse_idx, read_idx
from nnexp.data.mnist import FASHION_MNIST, MIRRORS, MNIST, IdxCollection, IdxResource, locate_files
from nnexp.data.paths import DATA_DIR_ENV, resolve_data_dir
from nnexp.data.registry import DATASETS, SPLIT_OPTIONS, DatasetSpec, get_spec, load_dataset, load_raw
from nnexp.data.splits import split_raw

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "FASHION_MNIST",
    "MIRRORS",
    "MNIST",
    "SPLIT_OPTIONS",
    "Dataset",
    "DatasetSpec",
    "IdxCollection",
    "IdxFile",
    "IdxResource",
    "RawData",
    "array_sha256",
    "get_spec",
    "load_dataset",
    "load_raw",
    "locate_files",
    "make_identity",
    "parse_idx",
    "read_idx",
    "resolve_data_dir",
    "split_raw",
]
