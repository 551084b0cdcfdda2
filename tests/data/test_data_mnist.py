"""MNIST / Fashion-MNIST: real files from ../shared/data, corruption, offline failure, download."""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nnexp.data.mnist as mnist_mod
from nnexp.data import MIRRORS, load_dataset
from nnexp.data.idx import clear_cache

MNIST_FILES = [
    f"{n}.gz"
    for n in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
]


@pytest.fixture
def mnist_copy(tmp_path: Path, shared_data_dir: Path) -> Path:
    """A data dir whose mnist/ links to the shared files (cheap; corrupt one by replacing it)."""
    d = tmp_path / "data" / "mnist"
    d.mkdir(parents=True)
    for name in MNIST_FILES:
        os.symlink(shared_data_dir / "mnist" / name, d / name)
    return tmp_path / "data"


def test_mnist_loads(shared_data_dir: Path) -> None:
    ds = load_dataset("mnist", data_dir=shared_data_dir, seed=0)
    assert ds.task == "classification" and ds.n_classes == 10
    assert ds.X_train.shape == (50_000, 784) and ds.X_val.shape == (10_000, 784)
    assert ds.X_test.shape == (10_000, 784)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.X_test.min() == 0.0 and ds.X_test.max() == 255.0  # raw pixel values
    assert ds.identity["files"]["t10k-labels-idx1-ubyte"] == mnist_mod.MNIST.resources[3].sha256
    assert set(ds.info["verification"].values()) == {"sha256 (decompressed)"}
    # stratified validation carve-out from the 60k training file; canonical test set kept
    full = np.bincount(np.concatenate([ds.y_train, ds.y_val])) / 60_000
    assert np.abs(np.bincount(ds.y_val) / 10_000 - full).max() < 0.002
    np.testing.assert_array_equal(
        np.bincount(ds.y_test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )


def test_mnist_caps_and_env_var(shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNEXP_DATA_DIR", str(shared_data_dir))
    ds = load_dataset("mnist", val_size=5000, max_train_samples=1000, seed=1)
    assert ds.sizes == {"train": 1000, "val": 5000, "test": 10_000}
    assert len(np.unique(ds.y_train)) == 10
    again = load_dataset("mnist", val_size=5000, max_train_samples=1000, seed=1)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    assert ds.identity == again.identity


def test_checksum_mismatch_names_file(mnist_copy: Path) -> None:
    lab = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(lab.read_bytes()))
    content[100] = (content[100] + 1) % 10  # still a valid label: only the checksum can tell
    lab.unlink()
    lab.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: checksum mismatch"):
        load_dataset("mnist", data_dir=mnist_copy, download=False)


def test_truncated_file_names_file(mnist_copy: Path) -> None:
    img = mnist_copy / "mnist" / "t10k-images-idx3-ubyte.gz"
    content = gzip.decompress(img.read_bytes())
    img.unlink()
    img.write_bytes(gzip.compress(content[:-784], compresslevel=1))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: truncated IDX file"):
        load_dataset("mnist", data_dir=mnist_copy, download=False)


def test_recompressed_copy_accepted(mnist_copy: Path) -> None:
    lab = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = gzip.decompress(lab.read_bytes())
    lab.unlink()
    lab.write_bytes(gzip.compress(content, compresslevel=1, mtime=1))  # other .gz bytes, same content
    (mnist_copy / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(content)  # uncompressed ignored: .gz first
    ds = load_dataset("mnist", data_dir=mnist_copy, download=False, max_train_samples=100)
    assert ds.sizes["test"] == 10_000


def test_missing_files_offline_downloads_disabled(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert str(tmp_path / "mnist") in msg and "NNEXP_DATA_DIR" in msg and "downloads disabled" in msg


def test_missing_files_unreachable_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MIRRORS, "fashion_mnist", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(mnist_mod, "DOWNLOAD_TIMEOUT", 2.0)
    with pytest.raises(
        FileNotFoundError, match=r"Fashion-MNIST files missing: .*download failed.*127\.0\.0\.1:9"
    ):
        load_dataset("fashion_mnist", data_dir=tmp_path)


@pytest.fixture
def local_mirror(shared_data_dir: Path) -> Iterator[str]:
    """Serve ../shared/data/mnist over HTTP on 127.0.0.1 (no network involved)."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(shared_data_dir / "mnist")
    )
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_from_mirror(tmp_path: Path, local_mirror: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MIRRORS, "mnist", ["http://127.0.0.1:9/", local_mirror])  # first one fails
    ds = load_dataset("mnist", data_dir=tmp_path, max_train_samples=100)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(MNIST_FILES)
    assert ds.sizes["test"] == 10_000


def _write_idx_gz(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes(), compresslevel=1))


def test_fashion_mnist_structure_verified(tmp_path: Path) -> None:
    """No Fashion-MNIST here: fabricate structurally valid files (only .gz md5s are published)."""
    d = tmp_path / "fashion_mnist"
    d.mkdir()
    rng = np.random.default_rng(0)
    _write_idx_gz(d / "train-images-idx3-ubyte.gz", np.zeros((60_000, 28, 28), np.uint8))
    _write_idx_gz(d / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 60_000).astype(np.uint8))
    _write_idx_gz(d / "t10k-images-idx3-ubyte.gz", np.zeros((10_000, 28, 28), np.uint8))
    _write_idx_gz(d / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 10_000).astype(np.uint8))
    ds = load_dataset("fashion_mnist", data_dir=tmp_path, download=False, max_train_samples=500)
    assert ds.class_names is not None and ds.class_names[9] == "Ankle boot"
    assert ds.X_train.shape == (500, 784) and ds.X_test.shape == (10_000, 784)
    assert set(ds.info["verification"].values()) == {"structure (IDX magic, shape, dtype, label range)"}
    # wrong shape (a truncated-but-consistent copy) is refused, naming the file
    clear_cache()
    _write_idx_gz(d / "t10k-labels-idx1-ubyte.gz", np.zeros(9_999, np.uint8))
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte\.gz: Fashion-MNIST .* should hold \(10000,\)"
    ):
        load_dataset("fashion_mnist", data_dir=tmp_path, download=False)
    shutil.rmtree(d)
