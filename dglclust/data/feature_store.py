"""Node features on disk: a float32 ``.npy`` file memory-mapped instead of read into memory.

At 10^8 nodes the features alone (128 float32 columns) are 51 GB; memory-mapped, the operating
system reads the rows a fit touches (the node batches, the chunked full passes) into its page
cache and drops them again under memory pressure, so they never count against the process's own
(anonymous) memory; processes that map the same file (``fit --nproc N``) read the same cached
pages (not measured).

* :func:`save_features` writes an ``(n, d)`` matrix as float32 ``.npy`` in blocks of rows, to a
  temporary file renamed at the end (never a half-written file).
* :func:`open_features` maps such a file copy-on-write (``np.load(..., mmap_mode="c")``): the
  tensor reads from the file; an in-place edit changes the process's private copy of the touched
  pages, never the file. Its values are checked (NaN/inf, scale) block by block.
* ``load_dataset(name, mmap_features=True)`` and ``dglclust fit --mmap-features`` use them.
* :func:`advise` / :func:`advised` tell the kernel how the mapping will be read (``madvise``):
  with the hyperparameter ``batch_order="rows"`` node batches are random runs of consecutive rows
  read page by page, for files larger than the memory (docs/scale.md).

The input check and the pretraining cache key stream the matrix. Every graph model gets the same
labels from mapped features as from features in memory (``tools/check_mmap_labels.py``); the
saving is measured for DEC at 1M nodes (docs/scale.md). ``input_pca`` streams as well
(scikit-learn's PCA picks its covariance solver for n >= 10 d and computes ``X^T X`` on the
mapping without a copy: 400,000 x 128 mapped, +4 MB of process memory while it fits). Not
streamed: DFCN's ``pca_dim``, which projects a float64 copy (its recorded results depend on it).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

__all__ = ["save_features", "open_features", "is_memory_mapped", "advise", "advised"]

#: rows written per block by :func:`save_features` (x 128 float32 columns = 32 MiB)
_WRITE_ROWS = 1 << 16


def save_features(path, x, *, block_rows: int = _WRITE_ROWS) -> Path:
    """Write ``x`` (an ``(n, d)`` array or tensor, any real dtype; a memory-mapped source is
    streamed) to ``path`` as a float32 C-order ``.npy`` file, block by block, through a temporary
    file in the same folder that is renamed at the end. Returns the path."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"feature files are .npy files; got {str(path)!r}")
    shape = tuple(x.shape)
    if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"features must be a non-empty 2-D (nodes x features) matrix, got shape "
                         f"{shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        for start in range(0, shape[0], block_rows):
            block = x[start:start + block_rows]
            if isinstance(block, torch.Tensor):
                block = block.detach().cpu().numpy()
            out[start:start + block_rows] = block
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


#: ``open_features(advice=...)``: the kernel's read-ahead for the mapping (``madvise``)
ADVICE = ("normal", "random", "sequential")


def open_features(path, *, check: bool = True, advice: str = "normal") -> torch.Tensor:
    """The ``(n, d)`` float32 matrix of the ``.npy`` file ``path``, memory-mapped copy-on-write
    (nothing is read until used; edits stay in this process). ``check`` streams the file once to
    reject NaN/inf and values the models cannot take, as for in-memory features. ``advice``
    tells the kernel how the rows will be read (``madvise``): ``"normal"`` (read ahead around
    each page fault), ``"random"`` (read only the page touched), ``"sequential"``.

    Raises ``ValueError`` for a file that is not a 2-D float32 C-order ``.npy`` matrix, with the
    conversion to run (:func:`save_features` writes one from any array)."""
    path = Path(path)
    _check_advice(advice)
    if not path.is_file():
        raise FileNotFoundError(f"feature file {str(path)!r} does not exist")
    try:
        arr = np.load(path, mmap_mode="c", allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} is not a .npy matrix that can be memory-mapped ({exc})"
                         ) from None
    if not isinstance(arr, np.memmap) or arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{str(path)!r} must hold a non-empty 2-D matrix (nodes x features) to be "
                         f"memory-mapped, got shape {getattr(arr, 'shape', None)}")
    if arr.dtype != np.float32 or not arr.flags.c_contiguous:
        order = "C" if arr.flags.c_contiguous else "Fortran"
        raise ValueError(f"{str(path)!r} holds {arr.dtype} ({order}-order); memory-mapped "
                         "features must be float32 in C order (the models' dtype, read without a "
                         "copy): write it with dglclust.data.save_features(path, np.load(old_path, "
                         "mmap_mode='r')), which converts in blocks")
    x = torch.from_numpy(arr)
    if advice != "normal":
        advise(x, advice)
    if check:
        from ..graph.build import check_feature_scale

        check_feature_scale(x, f"features in {str(path)!r}")
    return x


def is_memory_mapped(x: torch.Tensor) -> bool:
    """Whether the CPU tensor ``x`` reads its values from a file mapping (not from process
    memory); Linux only (``/proc/self/maps``), ``False`` elsewhere."""
    if not isinstance(x, torch.Tensor) or x.device.type != "cpu" or x.numel() == 0:
        return False
    ptr = x.data_ptr()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(maxsplit=5)
                lo, hi = (int(v, 16) for v in parts[0].split("-"))
                if lo <= ptr < hi:
                    return len(parts) == 6 and parts[5].strip().startswith("/")
    except OSError:
        return False
    return False


def _check_advice(advice):
    if advice not in ADVICE:
        raise ValueError(f"advice={advice!r} is invalid; use one of {', '.join(map(repr, ADVICE))}")


def advise(x: torch.Tensor, advice: str) -> bool:
    """Tell the kernel how the rows of the memory-mapped ``x`` will be read (``madvise`` on the
    pages of its storage): ``"normal"`` reads ahead around each page fault, ``"random"`` reads
    only the page touched, ``"sequential"`` reads far ahead. Returns ``False`` (nothing done) when
    ``x`` is not memory-mapped.

    Measured (``bench/bench_batch_order.py``): features of 0.48 GB with ~0.16 GB of page cache
    left to the process, node batches of 4096 read 9,777 times the bytes of the rows they use
    with ``"normal"`` (the read-ahead around each fault is evicted unused) and 6.55 times with
    ``"random"``, 1.03 times in runs of 128 consecutive rows (``batch_order="rows"``); a pass over
    the rows in order is 15 times slower with ``"random"`` (page by page) than with
    ``"normal"``."""
    _check_advice(advice)
    if not is_memory_mapped(x):
        return False
    import ctypes
    import mmap

    code = {"normal": mmap.MADV_NORMAL, "random": mmap.MADV_RANDOM,
            "sequential": mmap.MADV_SEQUENTIAL}[advice]
    storage = x.untyped_storage()
    start = storage.data_ptr() // mmap.PAGESIZE * mmap.PAGESIZE
    length = storage.data_ptr() + storage.nbytes() - start
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(length), ctypes.c_int(code)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"madvise({advice!r}) on the mapped features failed: {os.strerror(err)}")
    return True


@contextmanager
def advised(x: torch.Tensor, advice: str, then: str):
    """Within the block the memory-mapped ``x`` is read with ``advice`` (:func:`advise`), after it
    with ``then``; nothing happens for features in memory. E.g. the full pass over the rows in
    order (read-ahead: 0.7 s against 10 s page by page at 1M x 128, bench/bench_batch_order.py)
    between epochs of ``batch_order="rows"`` batches (page by page)."""
    changed = advise(x, advice)
    try:
        yield
    finally:
        if changed:
            advise(x, then)
