"""IDX file parsing (the MNIST format) and content checksums.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimension sizes, then the values in big-endian C order. Files may be gzip-compressed
(``.gz``); checksums are always taken over the *decompressed* bytes, because gzip headers carry
time stamps and names that differ between otherwise identical copies.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: IDX dtype codes (third byte of the magic number) -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_CACHE_MAX_ENTRIES = 8
_cache: OrderedDict[tuple[str, int, int, bool], IdxFile] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class IdxFile:
    """A parsed IDX file: its (read-only) array and checksums."""

    path: Path
    array: np.ndarray
    sha256: str  #: sha256 of the decompressed content
    gz_md5: str | None = None  #: md5 of the compressed file bytes (``.gz`` only, when requested)


def parse_idx(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a read-only array in native byte order.

    Raises ``ValueError`` naming ``name`` for a wrong magic number, an unknown dtype code,
    or a size that does not match the header (truncated file or trailing bytes).
    """
    size = len(data)
    if size < 4:
        raise ValueError(f"{name}: not an IDX file: {size} bytes, too short for the magic number")
    zero0, zero1, code, ndim = bytes(data[:4])
    magic = int.from_bytes(bytes(data[:4]), "big")
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x} (first two bytes must be zero); "
            "not an IDX file, or still compressed"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: unknown dtype code 0x{code:02x} (known: {known})"
        )
    if ndim == 0:
        raise ValueError(f"{name}: bad IDX magic number 0x{magic:08x}: zero dimensions")
    header = 4 + 4 * ndim
    if size < header:
        raise ValueError(f"{name}: truncated IDX file: {size} bytes, header alone needs {header}")
    dims = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    dtype = IDX_DTYPES[code]
    count = math.prod(dims)
    expected = header + count * dtype.itemsize
    if size < expected:
        raise ValueError(
            f"{name}: truncated IDX file: header declares shape {dims} of {dtype.name} "
            f"({expected} bytes) but the content has {size} bytes"
        )
    if size > expected:
        raise ValueError(
            f"{name}: corrupt IDX file: {size - expected} trailing bytes after the declared shape {dims}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
        array.flags.writeable = False
    return array


def decompress(raw: bytes, name: str) -> bytes:
    """gunzip ``raw``; a corrupt or truncated stream raises ``ValueError`` naming ``name``."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{name}: corrupt or truncated gzip file: {exc}") from exc


def read_idx(path: str | Path, *, gz_md5: bool = False, use_cache: bool = True) -> IdxFile:
    """Read, decompress (``.gz``) and parse an IDX file; also hash its decompressed content.

    Results are cached in memory keyed on (absolute path, size, mtime), so a process that loads
    the same dataset repeatedly (a sweep) pays for decompression and hashing once. ``gz_md5``
    additionally returns the md5 of the compressed bytes (for published ``.gz`` checksums).
    """
    path = Path(path).absolute()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, gz_md5)
    if use_cache:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit
    raw = path.read_bytes()
    compressed = path.suffix == ".gz"
    content = decompress(raw, str(path)) if compressed else raw
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest() if (gz_md5 and compressed) else None
    sha = hashlib.sha256(content).hexdigest()
    array = parse_idx(content, str(path))
    result = IdxFile(path=path, array=array, sha256=sha, gz_md5=md5)
    if use_cache:
        with _cache_lock:
            _cache[key] = result
            while len(_cache) > _CACHE_MAX_ENTRIES:
                _cache.popitem(last=False)
    return result


def clear_cache() -> None:
    """Forget every cached parsed IDX file."""
    with _cache_lock:
        _cache.clear()


def sha256_of_content(path: str | Path) -> str:
    """sha256 of a file's content, decompressed first when it ends in ``.gz``."""
    path = Path(path)
    raw = path.read_bytes()
    return hashlib.sha256(decompress(raw, str(path)) if path.suffix == ".gz" else raw).hexdigest()
