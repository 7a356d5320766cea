"""Mini-batch training: when to use it, the node batches, and chunked full passes.

One module for every model that trains on node mini-batches (the self-training loop of
:class:`dglclust.train.SelfTrainer` takes its batches from here):

* :func:`resolve_batching` decides from the hyperparameters ``minibatch`` (``"auto"``, ``True``,
  ``False``) and ``batch_size`` (``None`` or an int >= 1) and the graph size: ``"auto"`` trains
  full-batch up to :data:`AUTO_NODES` nodes (the papers' recipe, unchanged) and on batches of
  ``batch_size`` (default :data:`DEFAULT_BATCH_SIZE`) above it, whenever ``batch_size`` is set, and
  in a multi-process fit (:mod:`dglclust.train.distributed`: the batches are dealt to the ranks).
* :func:`node_batches` yields the shuffled index batches of one epoch from a local generator
  (reproducible; no global seeding).
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

__all__ = ["AUTO_NODES", "DEFAULT_BATCH_SIZE", "FULL_PASS_CHUNK", "resolve_batching",
           "node_batches", "chunked"]

#: ``minibatch="auto"`` trains on mini-batches above this many nodes
AUTO_NODES = 200_000
#: nodes per training step when ``batch_size`` is not set
DEFAULT_BATCH_SIZE = 4096
#: rows per chunk of a no-grad full pass
FULL_PASS_CHUNK = 65_536


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


def node_batches(n: int, batch_size: int, generator: torch.Generator,
                 device=None) -> Iterator[torch.Tensor]:
    """The int64 index batches of one epoch: a random permutation of ``0..n-1`` (drawn from
    ``generator`` on the CPU) cut into ``ceil(n / batch_size)`` batches."""
    perm = torch.randperm(n, generator=generator)
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
