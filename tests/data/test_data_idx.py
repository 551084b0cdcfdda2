"""IDX parsing and checksums on small synthetic files."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from nnexp.data import parse_idx, read_idx


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """Encode ``array`` as IDX (big-endian) with dtype ``code``."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"),
    [
        (np.uint8, 0x08),
        (np.int8, 0x09),
        (np.int16, 0x0B),
        (np.int32, 0x0C),
        (np.float32, 0x0D),
        (np.float64, 0x0E),
    ],
)
def test_roundtrip(dtype: type, code: int) -> None:
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype is np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(a, code))
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and out.dtype.isnative


def test_wrong_magic() -> None:
    with pytest.raises(ValueError, match="foo.idx: bad IDX magic number 0x1f8b0800"):
        parse_idx(b"\x1f\x8b\x08\x00" + b"\x00" * 20, "foo.idx")
    with pytest.raises(ValueError, match="unknown dtype code 0x07"):
        parse_idx(b"\x00\x00\x07\x01" + b"\x00" * 8, "x")


def test_truncated_and_trailing() -> None:
    data = idx_bytes(np.zeros((10, 5), np.uint8), 0x08)
    with pytest.raises(ValueError, match="bar: truncated IDX file"):
        parse_idx(data[:-1], "bar")
    with pytest.raises(ValueError, match="truncated IDX file"):
        parse_idx(data[:6], "bar")
    with pytest.raises(ValueError, match="1 trailing bytes"):
        parse_idx(data + b"\x00", "bar")


def test_read_idx_gz_checksum_of_content(tmp_path: Path) -> None:
    a = np.arange(60, dtype=np.uint8).reshape(3, 20)
    content = idx_bytes(a, 0x08)
    p1, p2 = tmp_path / "a.gz", tmp_path / "b.gz"
    p1.write_bytes(gzip.compress(content, mtime=0))
    p2.write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    assert p1.read_bytes() != p2.read_bytes()
    f1, f2 = read_idx(p1, gz_md5=True), read_idx(p2)
    assert f1.sha256 == f2.sha256 == hashlib.sha256(content).hexdigest()
    assert f1.gz_md5 == hashlib.md5(p1.read_bytes()).hexdigest()
    np.testing.assert_array_equal(f1.array, a)
    assert not f1.array.flags.writeable  # cached arrays are shared, so read-only


def test_corrupt_gzip_names_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8), 0x08))[:-10])
    with pytest.raises(ValueError, match=r"broken\.gz: corrupt or truncated gzip"):
        read_idx(p, use_cache=False)
