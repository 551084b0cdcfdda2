"""MNIST and Fashion-MNIST from their original IDX files: file lists, checksums, mirrors, download.

Layout: ``<data_dir>/mnist/train-images-idx3-ubyte.gz`` (and ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), likewise ``<data_dir>/fashion_mnist/``.
Uncompressed copies (no ``.gz``) are accepted too.

Verification:

* MNIST: sha256 of the *decompressed* content against the canonical values (a recompressed copy
  has different ``.gz`` bytes but the same content).
* Fashion-MNIST: only the md5 of the published ``.gz`` files is known (zalandoresearch/fashion-mnist
  README, torchvision). A ``.gz`` whose md5 matches is verified by it; otherwise (recompressed or
  uncompressed copies) the IDX structure is checked strictly: magic numbers, exact shapes
  60000/10000 x 28 x 28 uint8, labels 0..9 -- a structurally valid but altered file would pass.
  The decompressed sha256 still goes into the dataset identity, so a change is caught on reproduction.

Measured cost of a full MNIST load here: gunzip ~0.16 s + sha256 of the 47 MB ~0.035 s; parsed
files are cached in memory per process (see :func:`nnexp.data.idx.read_idx`), so no sidecar cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnexp.data.dataset import RawData
from nnexp.data.idx import IdxFile, decompress, parse_idx, read_idx
from nnexp.data.paths import DATA_DIR_ENV, resolve_data_dir

#: Seconds per download attempt (connect + each read); offline, DNS failure returns at once.
DOWNLOAD_TIMEOUT = 10.0


@dataclass(frozen=True)
class IdxResource:
    """One IDX file of a collection: its decompressed name, role, expected shape and checksums."""

    filename: str  #: decompressed name, e.g. "train-images-idx3-ubyte"
    role: str  #: "train_images" | "train_labels" | "test_images" | "test_labels"
    shape: tuple[int, ...]
    sha256: str | None = None  #: of the decompressed content
    gz_md5: str | None = None  #: of the published .gz file


@dataclass(frozen=True)
class IdxCollection:
    """A four-file IDX dataset (train/test images and labels) and where it lives and comes from."""

    name: str  #: dataset name and subdirectory of the data dir
    title: str
    resources: tuple[IdxResource, ...]
    class_names: tuple[str, ...]
    homepage: str


MNIST = IdxCollection(
    name="mnist",
    title="MNIST",
    resources=(
        IdxResource(
            "train-images-idx3-ubyte",
            "train_images",
            (60000, 28, 28),
            sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        IdxResource(
            "train-labels-idx1-ubyte",
            "train_labels",
            (60000,),
            sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            gz_md5="d53e105ee54ea40749a09fcbcd1e9432",
        ),
        IdxResource(
            "t10k-images-idx3-ubyte",
            "test_images",
            (10000, 28, 28),
            sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            gz_md5="9fb629c4189551a2d022fa330f9573f3",
        ),
        IdxResource(
            "t10k-labels-idx1-ubyte",
            "test_labels",
            (10000,),
            sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            gz_md5="ec29112dd5afa0611ce80d1b7f02629c",
        ),
    ),
    class_names=tuple(str(i) for i in range(10)),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

FASHION_MNIST = IdxCollection(
    name="fashion_mnist",
    title="Fashion-MNIST",
    resources=(
        IdxResource(
            "train-images-idx3-ubyte",
            "train_images",
            (60000, 28, 28),
            gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        IdxResource(
            "train-labels-idx1-ubyte", "train_labels", (60000,), gz_md5="25c81989df183df01b3e8a0aad5dffbe"
        ),
        IdxResource(
            "t10k-images-idx3-ubyte",
            "test_images",
            (10000, 28, 28),
            gz_md5="bef4ecab320f06d8554ea6380940ec79",
        ),
        IdxResource(
            "t10k-labels-idx1-ubyte", "test_labels", (10000,), gz_md5="bb300cfdad3c16e7a12a480ee83cd310"
        ),
    ),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

#: Download base URLs per collection, tried in order (module-level so tests can replace them).
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion_mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}


def _find(directory: Path, res: IdxResource) -> Path | None:
    """The ``.gz`` file if present, else the uncompressed one, else None."""
    for candidate in (directory / f"{res.filename}.gz", directory / res.filename):
        if candidate.is_file():
            return candidate
    return None


def _verify(coll: IdxCollection, res: IdxResource, f: IdxFile) -> str:
    """Check checksum and structure of a parsed file; return the verification method used."""
    arr = f.array
    if res.sha256 is not None and f.sha256 != res.sha256:
        raise ValueError(
            f"{f.path}: checksum mismatch for {coll.title} {res.filename}: sha256 of the decompressed "
            f"content is {f.sha256}, expected {res.sha256}. The file is corrupt or not the canonical "
            "one; delete it and download it again."
        )
    if arr.dtype != np.uint8 or arr.shape != res.shape:
        raise ValueError(
            f"{f.path}: {coll.title} {res.filename} should hold {res.shape} uint8, "
            f"found {arr.shape} {arr.dtype}"
        )
    if res.role.endswith("labels") and arr.size and int(arr.max()) >= len(coll.class_names):
        raise ValueError(f"{f.path}: label {int(arr.max())} out of range 0..{len(coll.class_names) - 1}")
    if res.sha256 is not None:
        return "sha256 (decompressed)"
    if f.gz_md5 is not None and res.gz_md5 is not None and f.gz_md5 == res.gz_md5:
        return "md5 (published .gz)"
    return "structure (IDX magic, shape, dtype, label range)"


def _download_one(
    coll: IdxCollection, res: IdxResource, directory: Path, timeout: float, dead: set[str]
) -> tuple[Path | None, str]:
    """Try each live mirror for one file; return (path, "") or (None, why it failed).

    A mirror that cannot be reached at all (DNS, refused, timeout) is added to ``dead`` and not
    tried again for the other files, so an offline machine fails after one attempt per mirror.
    """
    errors: list[str] = []
    for base in MIRRORS.get(coll.name, []):
        if base in dead:
            continue
        url = f"{base}{res.filename}.gz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:  # reachable, but no such file there
            errors.append(f"{url}: HTTP {exc.code} {exc.reason}")
            continue
        except (urllib.error.URLError, OSError, ValueError) as exc:
            dead.add(base)
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        try:
            content = decompress(payload, url)
            arr = parse_idx(content, url)
            if arr.shape != res.shape:
                raise ValueError(f"{url}: shape {arr.shape}, expected {res.shape}")
            if res.sha256 is not None:
                got = hashlib.sha256(content).hexdigest()
                if got != res.sha256:
                    raise ValueError(f"{url}: downloaded content sha256 {got} != expected {res.sha256}")
        except ValueError as exc:
            errors.append(str(exc))
            continue
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{res.filename}.", suffix=".part", dir=directory)
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
            target = directory / f"{res.filename}.gz"
            os.replace(tmp, target)
        except OSError as exc:
            return None, f"downloaded {url} but could not write it into {directory}: {exc}"
        return target, ""
    return None, "; ".join(errors) if errors else "no reachable download mirror"


def locate_files(
    coll: IdxCollection,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    timeout: float | None = None,
) -> dict[str, Path]:
    """Return {role: path} for the collection's four files, downloading missing ones if allowed.

    Raises ``FileNotFoundError`` naming the missing files, the directory searched and the fix.
    """
    directory = resolve_data_dir(data_dir) / coll.name
    found: dict[str, Path] = {}
    missing: list[IdxResource] = []
    for res in coll.resources:
        p = _find(directory, res)
        if p is None:
            missing.append(res)
        else:
            found[res.role] = p
    if not missing:
        return found
    failures: list[str] = []
    dead: set[str] = set()
    if download:
        for res in list(missing):
            p, why = _download_one(
                coll, res, directory, DOWNLOAD_TIMEOUT if timeout is None else timeout, dead
            )
            if p is not None:
                found[res.role] = p
                missing.remove(res)
            else:
                failures.append(f"{res.filename}.gz: {why}")
    if missing:
        names = ", ".join(f"{r.filename}.gz" for r in missing)
        how = f"download failed: {failures[0]}" if failures else "downloads disabled (download=False)"
        raise FileNotFoundError(
            f"{coll.title} files missing: {names} not found in {directory}; {how}. "
            f"Fix: put the IDX .gz files in {directory}/ (from {coll.homepage}), or point "
            f"${DATA_DIR_ENV} / the data_dir argument (data.dir in the config) at a directory "
            f"that contains {coll.name}/."
        )
    return found


def load_idx_collection(
    coll: IdxCollection,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float | None = None,
) -> RawData:
    """Load and verify a four-file IDX collection; images stay uint8 (N, 28, 28), labels int64."""
    paths = locate_files(coll, data_dir, download=download, timeout=timeout)
    arrays: dict[str, np.ndarray] = {}
    files: dict[str, str] = {}
    verification: dict[str, str] = {}
    for res in coll.resources:
        f = read_idx(paths[res.role], gz_md5=res.sha256 is None and res.gz_md5 is not None)
        verification[res.filename] = _verify(coll, res, f)
        arrays[res.role] = f.array
        files[res.filename] = f.sha256
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise ValueError(f"{coll.title}: {split} images and labels differ in length")
    directory = resolve_data_dir(data_dir) / coll.name
    return RawData(
        name=coll.name,
        X=arrays["train_images"],
        y=arrays["train_labels"].astype(np.int64),
        X_test=arrays["test_images"],
        y_test=arrays["test_labels"].astype(np.int64),
        task="classification",
        source=f"idx:{directory}",
        files=files,
        class_names=coll.class_names,
        feature_names=None,
        info={"data_dir": str(directory), "verification": verification},
    )


def load_mnist(
    *,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float | None = None,
) -> RawData:
    """MNIST handwritten digits: 60k train (validation is carved from it) + canonical 10k test."""
    del seed
    return load_idx_collection(MNIST, data_dir=data_dir, download=download, timeout=timeout)


def load_fashion_mnist(
    *,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float | None = None,
) -> RawData:
    """Fashion-MNIST (Zalando): 60k train (validation is carved from it) + canonical 10k test."""
    del seed
    return load_idx_collection(FASHION_MNIST, data_dir=data_dir, download=download, timeout=timeout)
