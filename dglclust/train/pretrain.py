"""Autoencoder pretraining, part of the library (no shipped .pkl weights) and cached on disk.

The cache key is a hash of the data, the architecture, the pretraining config and the seed, so a
second fit with the same settings reuses the weights and any change retrains.
"""
from __future__ import annotations

import hashlib
import io
import json
import time
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from ..data.feature_store import advised
from ..utils import atomic_write, cache_dir
from .minibatch import node_batches

__all__ = ["pretrain_autoencoder", "fingerprint"]

_VERSION = 1


def _bytes_view(arr: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array without copying them (the same bytes as ``tobytes()``:
    a memory-mapped matrix is hashed as it streams, not duplicated in memory)."""
    return memoryview(arr.reshape(-1)).cast("B")


def fingerprint(*parts) -> str:
    """sha256 over tensors/arrays (by bytes) and JSON-able objects."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, torch.Tensor):
            t = p.detach().to("cpu").contiguous()
            h.update(str((tuple(t.shape), str(t.dtype))).encode())
            h.update(_bytes_view(t.numpy() if t.dtype != torch.bfloat16 else t.float().numpy()))
        elif isinstance(p, np.ndarray):
            h.update(str((p.shape, str(p.dtype))).encode())
            h.update(_bytes_view(np.ascontiguousarray(p)))
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _loss_fn(module: nn.Module, loss: str, precision: str = "fp32"):
    from .precision import autocast

    if loss == "mse":
        def f(xb):
            with autocast(xb.device, precision):
                out = module(xb)
            x_hat = out[0] if isinstance(out, tuple) else out
            return torch.nn.functional.mse_loss(x_hat.float(), xb)
        return f
    raise ValueError(f"unknown pretraining loss {loss!r}")


def _train_once(module, x, epochs, batch_size, lr, seed, verbose, desc, precision, run=1):
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    # parameters re-initialized from the local generator: reproducible without global seeding
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound_w = 1.0 / np.sqrt(m.in_features)
                # same family as torch's default (kaiming-uniform a=sqrt(5)) init
                m.weight.copy_(torch.empty_like(m.weight, device="cpu").uniform_(-bound_w, bound_w, generator=gen))
                if m.bias is not None:
                    m.bias.copy_(torch.empty_like(m.bias, device="cpu").uniform_(-bound_w, bound_w, generator=gen))
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    step = _loss_fn(module, "mse", precision)
    n = x.shape[0]
    from tqdm.auto import tqdm

    bar = tqdm(range(epochs), desc=desc, disable=not verbose, leave=False)
    # runs of rows from a mapped file: page by page during the batches, read-ahead after them
    with advised(x, "random", then="normal") if run > 1 else nullcontext():
        for _ in bar:
            total = 0.0
            for idx in node_batches(n, batch_size, gen, x.device, run):
                xb = x[idx]
                loss = step(xb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * idx.numel()
            bar.set_postfix(loss=total / n)
    with torch.no_grad():
        full = sum(step(x[s:s + 4096]).item() * min(4096, n - s) for s in range(0, n, 4096)) / n
    return full


def pretrain_autoencoder(module: nn.Module, x: torch.Tensor, *, epochs: int = 30, batch_size: int = 256,
                         lr: float = 1e-3, seed: int = 0, restarts: int = 1, cache: bool = True,
                         tag: str = "ae", verbose: bool = False,
                         precision: str = "fp32", select=None, select_by: str = "loss",
                         run: int = 1) -> dict:
    """Pretrain ``module`` (``module(x)`` returns ``x_hat`` or ``(x_hat, ...)``) with MSE, Adam,
    shuffled mini-batches. With ``restarts > 1`` it trains from several seeds and keeps the run with
    the best value of ``select_by`` (:data:`dglclust.train.select.HIGHER_IS_BETTER`): ``"loss"``, the
    full-data reconstruction loss, or a score that ``select(module) -> dict`` computes from the
    trained module (e.g. the silhouette of KMeans on its embedding); all are label-free. The
    scores of every restart are returned in ``"restarts"``. Weights are cached in
    ``cache_dir()/pretrain/<hash>.pt``. ``precision="bf16"`` runs the products under bf16 autocast
    (fp32 master weights). ``run > 1`` draws the batches as random runs of ``run`` consecutive rows
    (:func:`dglclust.train.minibatch.node_batches`; part of the cache key). Returns ``{"loss",
    "seconds", "cached", "path"}``."""
    from .select import HIGHER_IS_BETTER

    if epochs < 0 or batch_size < 1 or restarts < 1:
        raise ValueError(f"invalid pretraining settings: epochs={epochs}, batch_size={batch_size}, restarts={restarts}")
    if select_by not in HIGHER_IS_BETTER:
        raise ValueError(f"select_by must be one of {sorted(HIGHER_IS_BETTER)}, got {select_by!r}")
    if select_by != "loss" and select is None and restarts > 1:
        raise ValueError(f"select_by={select_by!r} needs a select(module) function that computes it")
    if restarts == 1:
        select_by = "loss"  # nothing to choose from
    arch = [(n, tuple(p.shape)) for n, p in module.state_dict().items()]
    key = fingerprint(x, arch, {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": int(seed),
                                "restarts": restarts, "tag": tag, "v": _VERSION, "dtype": str(x.dtype),
                                "precision": precision, "select_by": select_by,
                                **({"run": int(run)} if run > 1 else {})})
    path = cache_dir() / "pretrain" / f"{tag}-{key[:24]}.pt"
    if cache and path.exists():
        try:
            blob = torch.load(path, map_location=x.device, weights_only=True)
            module.load_state_dict(blob["state"])
            return {"loss": float(blob["loss"]), "seconds": 0.0, "cached": True, "path": str(path),
                    "restarts": list(blob.get("restarts", [])), "chosen": int(blob.get("chosen", 0))}
        except Exception:
            pass  # unreadable cache entry: retrain and overwrite
    t0 = time.perf_counter()
    best, scores, sign = None, [], 1.0 if HIGHER_IS_BETTER[select_by] else -1.0
    for r in range(restarts):
        loss = _train_once(module, x, epochs, batch_size, lr, int(seed) * 1000 + r, verbose,
                           desc=f"pretrain {tag} ({r + 1}/{restarts})", precision=precision,
                           run=run)
        row = {"restart": r, "loss": float(loss)}
        if select is not None and restarts > 1:
            with torch.no_grad():
                row.update(select(module))
        scores.append(row)
        value = sign * row[select_by]
        if best is None or value > best[0]:
            best = (value, r, {k: v.detach().clone() for k, v in module.state_dict().items()})
    _, chosen, state = best
    module.load_state_dict(state)
    seconds = time.perf_counter() - t0
    loss = scores[chosen]["loss"]
    if cache:
        buf = io.BytesIO()
        torch.save({"state": {k: v.cpu() for k, v in state.items()}, "loss": loss, "restarts": scores,
                    "chosen": chosen}, buf)
        with atomic_write(path, "wb") as fh:
            fh.write(buf.getvalue())
    return {"loss": loss, "seconds": seconds, "cached": False, "path": str(path), "restarts": scores,
            "chosen": chosen}
