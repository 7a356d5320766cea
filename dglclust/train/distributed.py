"""Data-parallel mini-batch training on ``torch.distributed`` (gloo on CPU, nccl on CUDA).

A fit runs in ``world`` processes (``dglclust fit --nproc N``, or ``torchrun`` with the usual
``RANK`` / ``WORLD_SIZE`` / ``MASTER_ADDR`` / ``MASTER_PORT`` variables). Every process holds the
graph and the model; in mini-batch mode (:mod:`dglclust.train.minibatch`):

* the node batches of an epoch (one permutation, the same on every rank) are dealt round-robin,
  ``batch r, r + world, ...`` to rank ``r``; ranks with one batch fewer wrap around to the first
  ones, so every rank takes the same number of steps;
* after each backward pass the gradients are averaged over the ranks with ``all_reduce`` (what
  ``DistributedDataParallel`` does), so the replicas stay equal; the parameters are broadcast from
  rank 0 when training starts;
* the forward-only full pass (target P, labels, stop rule) is split into ``world`` row ranges and
  assembled with ``all_gather``, so every rank sees the same P and the same labels;
* pretraining and KMeans run on every rank with the same seed (the same result; not sharded yet),
  the KMeans centres are then broadcast from rank 0; the result is written by rank 0 only.

Outside a process group every helper is the identity, so single-process fits are unchanged.
"""
from __future__ import annotations

import os

import torch

__all__ = ["active", "rank", "world_size", "shard_batches", "average_gradients", "broadcast",
           "gather_rows", "init_from_env", "launch"]


def active() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def rank() -> int:
    return torch.distributed.get_rank() if active() else 0


def world_size() -> int:
    return torch.distributed.get_world_size() if active() else 1


def shard_batches(batches: list) -> list:
    """This rank's share of an epoch's batches (round-robin, wrapped to equal counts)."""
    w = world_size()
    if w == 1:
        return list(batches)
    nb, r = len(batches), rank()
    steps = -(-nb // w)
    return [batches[(r + w * i) % nb] for i in range(steps)]


def average_gradients(params) -> None:
    """All-reduce (mean) the gradients of ``params`` over the ranks."""
    w = world_size()
    if w == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        torch.distributed.all_reduce(p.grad)
        p.grad.div_(w)


def broadcast(tensors, src: int = 0) -> None:
    """Copy ``tensors`` (in place) from rank ``src`` to every rank."""
    if world_size() == 1:
        return
    with torch.no_grad():
        for t in tensors:
            torch.distributed.broadcast(t.data if isinstance(t, torch.nn.Parameter) else t, src)


def gather_rows(fn, n: int, chunked_fn) -> dict:
    """The full pass over ``n`` rows split into ``world`` contiguous ranges: this rank computes
    ``chunked_fn(fn, its range)`` and the pieces are assembled with ``all_gather``."""
    w = world_size()
    if w == 1:
        return chunked_fn(fn, 0, n)
    per = -(-n // w)
    lo, hi = min(n, rank() * per), min(n, (rank() + 1) * per)
    mine = chunked_fn(fn, lo, hi)
    out = {}
    for k in sorted(mine):
        v = mine[k]
        pad = torch.zeros((per, *v.shape[1:]), dtype=v.dtype, device=v.device)
        pad[: v.shape[0]] = v
        parts = [torch.empty_like(pad) for _ in range(w)]
        torch.distributed.all_gather(parts, pad)
        out[k] = torch.cat(parts)[:n]
    return out


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group described by ``WORLD_SIZE`` / ``RANK`` (torchrun's variables) when
    ``WORLD_SIZE > 1``; returns whether this process is part of one."""
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    if ws <= 1 or active():
        return active()
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    backend = "nccl" if str(device).startswith("cuda") else "gloo"
    torch.distributed.init_process_group(backend, rank=int(os.environ["RANK"]), world_size=ws)
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(r, nproc, port, threads, target, args):
    os.environ.update({"RANK": str(r), "WORLD_SIZE": str(nproc), "LOCAL_RANK": str(r),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(threads)
    init_from_env()
    try:
        target(*args)
    finally:
        torch.distributed.destroy_process_group()


def launch(nproc: int, target, args=()) -> None:
    """Run ``target(*args)`` in ``nproc`` processes joined in a gloo group on 127.0.0.1 (each with
    ``cores // nproc`` threads). A rank that fails ends the others, and the error is raised here
    (``torch.multiprocessing.ProcessRaisedException`` / ``ProcessExitedException``)."""
    cores = os.cpu_count() or 1
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive int, got {nproc!r}")
    if nproc > cores:
        raise ValueError(f"nproc={nproc} is more than the {cores} CPU cores of this machine; use at "
                         f"most {cores} processes (each needs a core)")
    import torch.multiprocessing as mp

    mp.spawn(_child, args=(nproc, _free_port(), max(1, cores // nproc), target, tuple(args)),
             nprocs=nproc, join=True)
