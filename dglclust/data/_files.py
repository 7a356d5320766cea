"""Raw dataset files: where they come from, how they are found, verified and downloaded.

Every file a dataset reads is listed in :data:`FILES` with its path relative to the data directory
(the layout of ``shared/datasets``, see its ``SOURCES.md``), the public URL of the original and its
sha256. :func:`fetch` resolves a relative path to a verified local file:

1. ``<data_dir>/<path>`` where ``data_dir`` is the ``data_dir`` argument, else ``$DGLCLUST_DATA``,
   else ``dglclust.utils.data_dir()`` (``../shared/datasets`` next to the checkout). This directory
   is treated as read-only: nothing is ever written there.
2. ``<cache>/raw/<path>`` (``dglclust.utils.cache_dir()``): earlier downloads.
3. a download of the URL into ``<cache>/raw/<path>`` (atomic write, sha256 checked), unless
   ``DGLCLUST_OFFLINE=1`` is set or the download fails; then :class:`MissingDatasetFileError`
   names the file, the URL and how to point ``DGLCLUST_DATA`` / ``data_dir`` at a local copy.

A file whose sha256 differs raises :class:`ChecksumMismatchError`. Successful verifications are
remembered (in memory and in ``<cache>/raw/.verified.json``) keyed by absolute path, size and
mtime, so reloading does not re-hash unchanged files.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..utils import atomic_write, cache_dir, data_dir as default_data_dir

__all__ = [
    "RemoteFile",
    "FILES",
    "fetch",
    "resolve_data_dir",
    "sha256_file",
    "MissingDatasetFileError",
    "ChecksumMismatchError",
    "register_file",
]

_SDCN = "https://raw.githubusercontent.com/bdy9527/SDCN/da6bb007b7d07362ac04db3e146b4944e2acb883"
_KIPF = (
    "https://raw.githubusercontent.com/tkipf/gcn/39a4089fe72ad9f055ed6fdb9746abdcfebc4d81/gcn/data"
)
_MAGNN = (
    "https://raw.githubusercontent.com/liuhao33/MSGNN2/3072db85b38c99e8cce15e8e64cf2a3af0ffabd4/"
    "data/DBLP_processed"
)
_O2MAC = (
    "https://raw.githubusercontent.com/googlebaba/WWW2020-O2MAC/"
    "f663628eddd253c23c5c60f5a098c1ad38e92e6d/data"
)
_NIUERS = (
    "https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
    "879a698b960e5867f7c2b11f8938fa89c3d21839/data"
)


@dataclass(frozen=True)
class RemoteFile:
    """One raw file: ``path`` relative to the data directory, public ``url``, ``sha256``, ``size``
    in bytes (informational)."""

    path: str
    url: str
    sha256: str
    size: int | None = None


FILES: dict[str, RemoteFile] = {}


def register_file(path, url, sha256, size=None) -> RemoteFile:
    """Add a raw file to :data:`FILES` (for datasets defined in other modules)."""
    rf = RemoteFile(path, url, sha256.lower(), size)
    FILES[path] = rf
    return rf


for _path, _url, _sha, _size in [
    # --- SDCN repository (labels, graphs) ---
    ("sdcn/data/acm_label.txt", f"{_SDCN}/data/acm_label.txt",
     "a1637c25de4e946d027f131cc02a2f8cae268ac8488fc12fa22e9b275603ead3", 9075),
    ("sdcn/data/cite_label.txt", f"{_SDCN}/data/cite_label.txt",
     "877820efe71f99632dffc43a74503ec84e26ad08c1f6df8bc7ae0ed7554c6cd5", 9981),
    ("sdcn/data/usps_label.txt", f"{_SDCN}/data/usps_label.txt",
     "40e1e201b590cff58953314463591499f72831426073a77483fee648b9c98e91", 18596),
    ("sdcn/graph/acm_graph.txt", f"{_SDCN}/graph/acm_graph.txt",
     "54529a64f7b2cd373b3cee450afec900bcf34de3dfb87fe436552efe48b15c87", 267598),
    ("sdcn/graph/cite_graph.txt", f"{_SDCN}/graph/cite_graph.txt",
     "29da9311f1b3060f564263ca6f15e98af459b45f13bee0a6979beb4c41ba6494", 93930),
    ("sdcn/graph/usps1_graph.txt", f"{_SDCN}/graph/usps1_graph.txt",
     "0330292f32d8fbaa104b4d494447684d9ba4715e7caf631e441f9695c37653bd", 90725),
    ("sdcn/graph/usps3_graph.txt", f"{_SDCN}/graph/usps3_graph.txt",
     "4bd79c7777ac7ce884794713feea3bd61e67d2581a8df218019182132ff77bb0", 272080),
    ("sdcn/graph/usps5_graph.txt", f"{_SDCN}/graph/usps5_graph.txt",
     "0c62cd6c8f8579d9a98f56281fefd724c0b4ac68b099f8c0aa006236151ef13c", 453565),
    ("sdcn/graph/usps10_graph.txt", f"{_SDCN}/graph/usps10_graph.txt",
     "db0b1f038f838c1cec153ba48127951a1465f3bf40c7a7a2033ffdc6ca581053", 907234),
    # --- ACM3025 (O2MAC) features ---
    ("raw/o2mac_ACM3025/ACM3025.mat", f"{_O2MAC}/ACM3025.mat",
     "b10e486a49892307a56a3d9ad48128a948d2bf2da19db9e6e7f79c6622529fdc", 1790625),
    # --- USPS (train 7291 + test 2007, 16x16 in [0, 1]) ---
    ("raw/niuers_usps/usps.h5", f"{_NIUERS}/usps.h5",
     "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36", 2913522),
    # --- DBLP (MAGNN preprocessing) ---
    ("dblp_magnn/original/features_0.npz", f"{_MAGNN}/features_0.npz",
     "03c7c5bf47e84d979f84bad06cb3c3cfe57cdcdc08de1c3772e9de17239ff0fe", 68650),
    ("dblp_magnn/original/labels.npy", f"{_MAGNN}/labels.npy",
     "817efdc3ebb9e96067b8770dad5894b06ecabde2ac95d4b17443985f0439fda7", 32584),
    ("dblp_magnn/original/adjM.npz", f"{_MAGNN}/adjM.npz",
     "22e0054e320508c38f3f65ff57dc6cbee231fe20e75a957b6f9de18f339b3c0d", 485523),
    ("dblp_magnn/original/node_types.npy", f"{_MAGNN}/node_types.npy",
     "a4fda13751620b2843502178dd0ffc666dd871eaac9314a042c1f340f610d41b", 104640),
    # --- DBLP in SDCN node order (DCRN repository; labels/graph identical to SDCN's files) ---
    ("dcrn/dblp.zip",
     "https://raw.githubusercontent.com/yueliu1999/DCRN/189f6f389a3e4f13d4b855b0d1035560238ecbf8/dataset/dblp.zip",
     "5aef3f949f3475f1b238d31a92103af3aa9a82f990b4adee44115527260c74d3", 207943),
    # --- CiteSeer, Planetoid raw files (Kipf's gcn repo), in DGL's raw layout ---
    ("dgl/citeseer_d6836239/ind.citeseer.x", f"{_KIPF}/ind.citeseer.x",
     "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6", 31087),
    ("dgl/citeseer_d6836239/ind.citeseer.y", f"{_KIPF}/ind.citeseer.y",
     "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924", 3014),
    ("dgl/citeseer_d6836239/ind.citeseer.tx", f"{_KIPF}/ind.citeseer.tx",
     "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21", 260321),
    ("dgl/citeseer_d6836239/ind.citeseer.ty", f"{_KIPF}/ind.citeseer.ty",
     "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce", 24135),
    ("dgl/citeseer_d6836239/ind.citeseer.allx", f"{_KIPF}/ind.citeseer.allx",
     "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668", 595021),
    ("dgl/citeseer_d6836239/ind.citeseer.ally", f"{_KIPF}/ind.citeseer.ally",
     "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95", 55623),
    ("dgl/citeseer_d6836239/ind.citeseer.graph", f"{_KIPF}/ind.citeseer.graph",
     "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7", 61987),
    ("dgl/citeseer_d6836239/ind.citeseer.test.index", f"{_KIPF}/ind.citeseer.test.index",
     "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4", 5000),
]:
    register_file(_path, _url, _sha, _size)


class MissingDatasetFileError(FileNotFoundError):
    """A raw dataset file is neither present locally nor downloadable."""


class ChecksumMismatchError(ValueError):
    """A raw dataset file's sha256 differs from the expected one."""


def resolve_data_dir(explicit=None) -> Path | None:
    """The local data directory: ``explicit``, else ``$DGLCLUST_DATA``, else the default."""
    return default_data_dir(explicit)


def _offline() -> bool:
    return os.environ.get("DGLCLUST_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def sha256_file(path, chunk=1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


# ---- verification cache ---------------------------------------------------------------------
_lock = threading.Lock()
_verified_mem: dict[str, tuple[int, int, str]] = {}


def _verified_db_path() -> Path:
    return cache_dir() / "raw" / ".verified.json"


def _read_db() -> dict:
    try:
        with open(_verified_db_path()) as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _cached_sha(path: Path, st: os.stat_result) -> str | None:
    key = str(path)
    hit = _verified_mem.get(key)
    if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
        return hit[2]
    rec = _read_db().get(key)
    if (
        isinstance(rec, dict)
        and rec.get("size") == st.st_size
        and rec.get("mtime_ns") == st.st_mtime_ns
        and isinstance(rec.get("sha256"), str)
    ):
        _verified_mem[key] = (st.st_size, st.st_mtime_ns, rec["sha256"])
        return rec["sha256"]
    return None


def _remember_sha(path: Path, st: os.stat_result, sha: str) -> None:
    key = str(path)
    _verified_mem[key] = (st.st_size, st.st_mtime_ns, sha)
    with _lock:
        db = _read_db()
        db[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
        try:
            with atomic_write(_verified_db_path(), "w") as fh:
                json.dump(db, fh, indent=0, sort_keys=True)
        except OSError:
            pass  # a read-only cache only costs re-hashing next time


def verify_file(path, rf: RemoteFile, rehash: bool = False) -> Path:
    """Check ``path`` against ``rf.sha256`` and return the path. The result is cached by path,
    size and mtime; ``rehash=True`` always reads the whole file (done whenever a processed
    dataset is built from it, so an edit that keeps size and mtime is caught there)."""
    path = Path(path).resolve()
    st = path.stat()
    actual = None if rehash else _cached_sha(path, st)
    if actual is None:
        actual = sha256_file(path)
        if actual == rf.sha256:
            _remember_sha(path, st, actual)
    if actual != rf.sha256:
        raise ChecksumMismatchError(
            f"Checksum mismatch for dataset file {path} ('{rf.path}'): expected sha256 "
            f"{rf.sha256}, got {actual}. The file is corrupt or a different version; replace it "
            f"with the original from {rf.url} (or delete it to re-download)."
        )
    return path


def _download(rf: RemoteFile, dest: Path, timeout=60) -> None:
    req = urllib.request.Request(rf.url, headers={"User-Agent": "dglclust"})
    h = hashlib.sha256()
    with urllib.request.urlopen(req, timeout=timeout) as resp, atomic_write(dest, "wb") as out:
        for block in iter(lambda: resp.read(1 << 20), b""):
            h.update(block)
            out.write(block)
        actual = h.hexdigest()
        if actual != rf.sha256:
            # raising inside atomic_write discards the temporary file
            raise ChecksumMismatchError(
                f"Checksum mismatch for downloaded dataset file '{rf.path}' from {rf.url}: "
                f"expected sha256 {rf.sha256}, got {actual}. The remote file changed or the "
                "download was corrupted; retry, or place a verified copy under DGLCLUST_DATA."
            )


def fetch(path: str, data_dir=None) -> Path:
    """Return a verified local path for the raw file ``path`` (a key of :data:`FILES`), looking in
    the data directory, then the download cache, then downloading (see the module docstring)."""
    try:
        rf = FILES[path]
    except KeyError:
        raise KeyError(
            f"'{path}' is not a registered dataset file; known files: {sorted(FILES)}"
        ) from None
    root = resolve_data_dir(data_dir)
    if root is not None:
        local = root / rf.path
        if local.is_file():
            return verify_file(local, rf)
    cached = cache_dir() / "raw" / rf.path
    if cached.is_file():
        return verify_file(cached, rf)

    if _offline():
        reason = "downloading is disabled (DGLCLUST_OFFLINE is set)"
    else:
        try:
            _download(rf, cached)
            return verify_file(cached, rf)
        except ChecksumMismatchError:
            raise
        except Exception as exc:  # network errors, HTTP errors, timeouts
            reason = f"the download failed ({type(exc).__name__}: {exc})"
    where = (
        f"not found at {root / rf.path}"
        if root is not None
        else "not found (no data directory: DGLCLUST_DATA is unset and ../shared/datasets "
        "does not exist)"
    )
    target = root if root is not None else Path("<data dir>")
    raise MissingDatasetFileError(
        f"Dataset file '{rf.path}' is missing: {where} nor in the download cache {cached}, and "
        f"{reason}. Download it from {rf.url} (sha256 {rf.sha256}) and save it as "
        f"{target / rf.path}, then set the DGLCLUST_DATA environment variable to that data "
        f"directory or pass data_dir=... (or unset DGLCLUST_OFFLINE to download automatically)."
    )
