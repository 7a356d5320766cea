"""Small shared utilities: atomic file writes, data/cache directories, local RNG handling."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "remove_stale_temp_files", "data_dir", "cache_dir", "torch_rng_scope",
           "jsonable"]

_PKG_ROOT = Path(__file__).resolve().parent


@contextlib.contextmanager
def atomic_write(path, mode="w", **kwargs):
    """Open a temporary file next to ``path`` and rename it over ``path`` only on success.

    A crash or exception mid-write leaves the previous file (or nothing) in place, never a
    half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def jsonable(obj):
    """``default=`` for ``json.dump``: numpy scalars and arrays, torch tensors, sets and tuples as
    plain JSON values; anything else as its ``str``."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "tolist"):  # numpy arrays, torch tensors
        return obj.tolist()
    return str(obj)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temp_files(path) -> int:
    """Delete temporary files :func:`atomic_write` left next to ``path`` when its process was
    killed (``.<name>.*.tmp``); returns how many were removed."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def data_dir(explicit=None) -> Path | None:
    """Directory holding local copies of the benchmark files.

    Order: the explicit argument, ``$DGLCLUST_DATA``, then ``../shared/datasets`` next to the source
    checkout or the current directory. ``None`` when none exists (datasets then download).
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("DGLCLUST_DATA")
    if env:
        return Path(env).expanduser()
    for base in (_PKG_ROOT.parent, Path.cwd()):
        cand = base.parent / "shared" / "datasets"
        if cand.is_dir():
            return cand
    return None


def cache_dir() -> Path:
    """Writable cache (processed datasets, pretrained AE weights): ``$DGLCLUST_CACHE`` or
    ``~/.cache/dglclust``."""
    env = os.environ.get("DGLCLUST_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "dglclust"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def torch_rng_scope(seed):
    """Seed torch's default CPU (and CUDA) generators for the block, then restore their state, so a
    fit with ``random_state`` is reproducible without changing the caller's global RNG."""
    import torch

    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
