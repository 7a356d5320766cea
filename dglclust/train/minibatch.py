"""Mini-batch training: when to use it, the node batches, and chunked full passes.

One module for every model that trains on node mini-batches (the self-training loop of
:class:`dglclust.train.SelfTrainer` takes its batches from here):

* :func:`resolve_batching` decides from the hyperparameters ``minibatch`` (``"auto"``, ``True``,
  ``False``) and ``batch_size`` (``None`` or an int >= 1) and the graph size: ``"auto"`` trains
  full-batch up to :data:`AUTO_NODES` nodes (the papers' recipe, unchanged) and on batches of
  ``batch_size`` (default :data:`DEFAULT_BATCH_SIZE`) above it, whenever ``batch_size`` is set, and
  in a multi-process fit (:mod:`dglclust.train.distributed`: the batches are dealt to the ranks).
* :func:`node_batches` yields the shuffled index batches of one epoch from a local generator
  (reproducible; no global seeding): random rows, or with ``batch_order="rows"``
  (:func:`row_run`) random runs of consecutive rows, so that features memory-mapped from a file
  larger than the memory are read in runs of pages instead of one scattered row per page.
* :func:`chunked` runs a forward function over all nodes in chunks without gradients and
  concatenates its outputs: the full passes that refresh the target distribution P and give the
  labels, in O(chunk x width) memory instead of O(n x width).

Memory of a mini-batch epoch is O(batch x widest layer) for the activations plus the O(n k)
target P and O(n latent) embedding of the full pass; time is that of one full-batch epoch plus one
forward-only full pass.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

__all__ = ["AUTO_NODES", "DEFAULT_BATCH_SIZE", "FULL_PASS_CHUNK", "RUN_BYTES", "MIN_RUNS",
           "resolve_batching", "row_run", "batch_run", "node_batches", "chunked"]

#: ``minibatch="auto"`` trains on mini-batches above this many nodes
AUTO_NODES = 200_000
#: nodes per training step when ``batch_size`` is not set
DEFAULT_BATCH_SIZE = 4096
#: rows per chunk of a no-grad full pass
FULL_PASS_CHUNK = 65_536
#: ``batch_order="rows"``: a run of consecutive rows spans at most this many bytes of features
RUN_BYTES = 1 << 16
#: ``batch_order="rows"``: and a batch holds at least this many runs
MIN_RUNS = 16


def resolve_batching(n: int, params: dict, owner: str = "fit") -> int | None:
    """The batch size to train with, or ``None`` for full-batch training.

    Raises ``ValueError`` for a ``minibatch`` that is not ``"auto"``/``True``/``False`` or a
    ``batch_size`` that is not a positive int (``None`` means the default)."""
    mode = params.get("minibatch", "auto")
    bs = params.get("batch_size")
    if mode not in ("auto", True, False):
        raise ValueError(f"{owner}: minibatch={mode!r} is invalid; use 'auto', True or False")
    if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int) or bs < 1):
        raise ValueError(f"{owner}: batch_size={bs!r} is invalid; batch_size must be a positive int "
                         f"(nodes per step) or None (full-batch up to {AUTO_NODES:,} nodes, then "
                         f"{DEFAULT_BATCH_SIZE})")
    if mode is False:
        return None
    from .distributed import world_size

    if mode is True or bs is not None or n > AUTO_NODES or world_size() > 1:
        return min(int(bs or DEFAULT_BATCH_SIZE), n)
    return None


def row_run(params: dict, batch_size: int, row_bytes: int, owner: str = "fit") -> int:
    """Rows per run of :func:`node_batches` for the hyperparameter ``batch_order``: 1 for
    ``"random"`` (every row drawn independently: the papers' batches), and for ``"rows"`` as many
    consecutive rows as fit :data:`RUN_BYTES` of features (``row_bytes`` per row), at most
    ``batch_size // MIN_RUNS`` (a batch keeps at least :data:`MIN_RUNS` runs from across the
    graph), at least 1. At 128 float32 features: runs of 128 rows in batches of 4096, of 16 rows
    in the AE pretraining's batches of 256. Raises ``ValueError`` for another ``batch_order``."""
    order = params.get("batch_order", "random")
    if order not in ("random", "rows"):
        raise ValueError(f"{owner}: batch_order={order!r} is invalid; use 'random' (rows drawn "
                         f"independently) or 'rows' (runs of consecutive rows, for features "
                         f"memory-mapped from a file larger than the memory)")
    if order == "random" or row_bytes <= 0:
        return 1
    return max(1, min(RUN_BYTES // int(row_bytes), int(batch_size) // MIN_RUNS))


def batch_run(params: dict, batch_size: int, x, owner: str = "fit") -> int:
    """:func:`row_run` for the features ``x`` (``None``: 1). With the papers' random batches over
    memory-mapped features larger than the available memory it warns once per mapping that
    ``batch_order="rows"`` exists. The read advice for runs (page by page, not read-ahead) is set
    where the batches are read (:func:`dglclust.data.feature_store.advised`)."""
    row_bytes = 0 if x is None or x.dim() != 2 else int(x.shape[1]) * x.element_size()
    run = row_run(params, batch_size, row_bytes, owner)
    from ..data.feature_store import is_memory_mapped

    if run == 1 and x is not None and params.get("batch_order", "random") == "random" and \
            is_memory_mapped(x):
        size, free = x.numel() * x.element_size(), available_memory()
        if free is not None and size > free and x.data_ptr() not in _WARNED:
            _WARNED.add(x.data_ptr())  # once per mapping (pretraining, then the node batches)
            import warnings

            warnings.warn(f"{owner}: the memory-mapped features ({size / 2**30:.1f} GB) are larger "
                          f"than the memory available ({free / 2**30:.1f} GB): random node batches "
                          f"will read the file again and again; set batch_order='rows' (--set "
                          f"batch_order=rows) to read runs of consecutive rows (docs/scale.md)",
                          RuntimeWarning, stacklevel=3)
    return run


_WARNED: set[int] = set()


def available_memory() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (``None`` where there is none)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def node_batches(n: int, batch_size: int, generator: torch.Generator,
                 device=None, run: int = 1) -> Iterator[torch.Tensor]:
    """The int64 index batches of one epoch: a random permutation of ``0..n-1`` (drawn from
    ``generator`` on the CPU) cut into ``ceil(n / batch_size)`` batches. With ``run > 1`` the
    permutation is of runs of ``run`` consecutive rows (``0..run-1``, ``run..2 run-1``, ...; the
    last may be shorter), each kept in order (:func:`row_run`)."""
    if run <= 1:
        perm = torch.randperm(n, generator=generator)
    else:
        run = int(run)
        starts = torch.randperm(-(-n // run), generator=generator) * run
        perm = (starts[:, None] + torch.arange(run)).reshape(-1)
        perm = perm[perm < n]
    if device is not None:
        perm = perm.to(device)
    yield from perm.split(int(batch_size))


def chunked(fn: Callable[[torch.Tensor], dict], n: int, device=None,
            chunk: int = FULL_PASS_CHUNK, keys=None, start: int = 0) -> dict:
    """``fn(idx)`` over ``idx = start..n-1`` in chunks, without gradients; the tensors it returns
    (a dict) are concatenated along dimension 0. ``keys`` limits what is kept (saves memory)."""
    parts: dict[str, list] = {}
    with torch.no_grad():
        for s in range(int(start), n, int(chunk)):
            idx = torch.arange(s, min(n, s + int(chunk)), device=device)
            out = fn(idx)
            for k, v in out.items():
                if (keys is None or k in keys) and isinstance(v, torch.Tensor) and v.dim() >= 1 \
                        and v.shape[0] == idx.numel():
                    parts.setdefault(k, []).append(v)
    return {k: torch.cat(v) for k, v in parts.items()}
