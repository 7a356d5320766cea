"""Full-batch pretraining of graph modules (IGAE, DFCN's joint AE+IGAE phase), cached on disk.

The mini-batch AE pretraining lives in :mod:`dglclust.train.pretrain`; graph modules need the whole
graph per step, so they are trained here with full-batch Adam on any ``loss_fn() -> (loss, parts)``.
The cache key (same helpers: :func:`fingerprint`, :func:`dglclust.utils.atomic_write`,
:func:`dglclust.utils.cache_dir`) covers the data parts given by the caller (features, edges), the
module's **initial** state (so a different seed or an earlier phase's weights change the key), the
settings and ``tag``.
"""
from __future__ import annotations

import io
import pickle
import time
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..utils import atomic_write, cache_dir
from .pretrain import fingerprint

__all__ = ["graph_fingerprint_parts", "pretrain_full_batch"]

_VERSION = 1


def graph_fingerprint_parts(graph, x: torch.Tensor) -> list:
    """What identifies a graph dataset for caching: features and (src, dst) edge lists."""
    src, dst = graph.edges()
    return [x, src, dst]


def pretrain_full_batch(module: nn.Module, loss_fn: Callable, *, data: Sequence, epochs: int,
                        lr: float, tag: str, settings: dict | None = None, cache: bool = True,
                        verbose: bool = False, params=None) -> dict:
    """Train ``module`` for ``epochs`` full-batch Adam steps on ``loss_fn()`` (returns a scalar loss
    or ``(loss, parts)``), or load the cached result. ``params`` (default: all of ``module``'s)
    are optimized; the whole ``module`` state is cached in
    ``cache_dir()/pretrain/<tag>-<hash>.pt``. Returns ``{"loss", "seconds", "cached", "path"}``
    (``loss`` is the last epoch's)."""
    if epochs < 0:
        raise ValueError(f"pretraining epochs must be >= 0, got {epochs}")
    state0 = [(k, v) for k, v in module.state_dict().items()]
    key = fingerprint(*data, *(v for _, v in state0), [k for k, _ in state0],
                      {"epochs": int(epochs), "lr": float(lr), "tag": tag, "v": _VERSION, **(settings or {})})
    path = cache_dir() / "pretrain" / f"{tag}-{key[:24]}.pt"
    if cache and path.exists():
        try:
            blob = torch.load(path, map_location=next(iter(module.state_dict().values())).device,
                              weights_only=True)
            module.load_state_dict(blob["state"])
            return {"loss": float(blob["loss"]), "seconds": 0.0, "cached": True, "path": str(path)}
        except (OSError, RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            warnings.warn(f"unreadable pretraining cache entry {path} ({exc}); retraining", stacklevel=2)
    t0 = time.perf_counter()
    opt = torch.optim.Adam(module.parameters() if params is None else params, lr=lr)
    from tqdm.auto import tqdm

    loss_value = float("nan")
    bar = tqdm(range(int(epochs)), desc=f"pretrain {tag}", disable=not verbose, leave=False)
    for epoch in bar:
        out = loss_fn()
        loss = out[0] if isinstance(out, tuple) else out
        if not torch.isfinite(loss):
            raise FloatingPointError(f"pretraining {tag}: loss became {loss.item()} at epoch {epoch}; "
                                     "lower the pretraining learning rate or check the features")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_value = loss.item()
        bar.set_postfix(loss=loss_value)
    seconds = time.perf_counter() - t0
    if cache:
        buf = io.BytesIO()
        torch.save({"state": {k: v.detach().cpu() for k, v in module.state_dict().items()},
                    "loss": loss_value}, buf)
        with atomic_write(path, "wb") as fh:
            fh.write(buf.getvalue())
    return {"loss": loss_value, "seconds": seconds, "cached": False, "path": str(path)}
