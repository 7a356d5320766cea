r"""The graph auto-encoder family: GAE / VGAE (Kipf & Welling 2016) and DAEGC (Wang et al. 2019).

All decode with the inner product :math:`\hat A = \mathrm{sigmoid}(Z Z^T)` and are trained with a
binary cross-entropy against :math:`A + I` that is computed exactly without the ``n x n`` matrix
(:func:`dglclust.nn.recon.gram_bce`).

* **GAE**: GCN encoder (:math:`\hat A = D^{-1/2}(A+I)D^{-1/2}`, ReLU hidden layers, linear
  output), loss ``norm * BCE_w`` with the positives weighted by ``pos_weight = (n^2 - |E|) / |E|``
  and ``norm = n^2 / (2 (n^2 - |E|))`` (``|E|`` = entries of the target), as in Kipf & Welling.
* **VGAE**: two linear GCN heads :math:`\mu, \log\sigma` on the shared hidden layers,
  :math:`Z = \mu + \sigma \odot \epsilon`, loss ``norm * BCE_w - (1/n) * ELBO-KL`` as in the paper's
  reference implementation (``KL = -0.5/n * mean_i sum_d (1 + 2 log sigma - mu^2 - sigma^2)``);
  the embedding used for clustering is :math:`\mu`.
* **DAEGC**: graph attention encoder (:class:`dglclust.nn.gat.GATLayer`, topological relevance
  :math:`M = (B + B^2)/2`, ELU), the embedding L2-normalized, unweighted BCE reconstruction,
  then self-training: ``loss = BCE + gamma * KL(P || Q)`` with Student's t ``Q`` on the embedding.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import GCNLayer
from ..nn.gat import GATLayer
from ..nn.recon import gram_bce
from ..ops import student_t

__all__ = ["GAEModule", "DAEGCModule", "gae_loss", "vgae_kl", "bce_weights"]


class GAEModule(nn.Module):
    """GCN encoder ``in -> hidden... -> latent``; ``variational=True`` adds the ``log sigma`` head.

    ``forward(graph, x)`` returns ``{"z", "mu"}`` (+ ``"logstd"`` for VGAE; ``z`` is then a sample
    while training and ``mu`` in eval mode).

    Example:
        >>> import dglclust, dgl
        >>> g = dgl.graph(([0, 1, 1, 2], [1, 0, 2, 1]))
        >>> GAEModule(5, hidden=(8,), latent=2)(g, torch.randn(3, 5))["z"].shape
        torch.Size([3, 2])
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (32,), latent: int = 16,
                 variational: bool = False, norm: str = "sym"):
        super().__init__()
        dims = [int(in_dim), *(int(h) for h in hidden)]
        self.layers = nn.ModuleList(GCNLayer(a, b, norm=norm, activation=torch.relu)
                                    for a, b in zip(dims[:-1], dims[1:]))
        self.mu = GCNLayer(dims[-1], latent, norm=norm)
        self.logstd = GCNLayer(dims[-1], latent, norm=norm) if variational else None
        self.variational = bool(variational)

    def forward(self, graph, x: torch.Tensor) -> dict:
        h = x
        for layer in self.layers:
            h = layer(graph, h)
        mu = self.mu(graph, h).float()
        if self.logstd is None:
            return {"z": mu, "mu": mu}
        logstd = self.logstd(graph, h).float()
        z = mu + torch.randn_like(mu) * torch.exp(logstd) if self.training else mu
        return {"z": z, "mu": mu, "logstd": logstd}


def bce_weights(n: int, n_pos: int) -> tuple[float, float]:
    """Kipf & Welling's ``(pos_weight, norm)`` for ``n_pos`` positive entries among ``n^2``."""
    neg = float(n) * n - n_pos
    if n_pos <= 0 or neg <= 0:
        raise ValueError(f"the reconstruction target needs positive and negative entries "
                         f"(n={n}, positives={n_pos})")
    return neg / n_pos, float(n) * n / (2.0 * neg)


def vgae_kl(mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
    """VGAE's KL term as added to the loss: ``-0.5/n * mean_i sum_d (1 + 2 ls - mu^2 - e^{2 ls})``."""
    n = mu.shape[0]
    return -0.5 / n * torch.mean(torch.sum(1 + 2 * logstd - mu.square() - torch.exp(logstd).square(), 1))


def gae_loss(out: dict, target, pos_weight: float, norm: float, tile: int = 2048,
             pairs: int | None = None, generator=None):
    """GAE / VGAE loss -> ``(loss, parts)``; ``pairs``: the all-pairs term of the BCE estimated
    from that many sampled pairs (:func:`dglclust.nn.recon.gram_bce`)."""
    rec = norm * gram_bce(out["z"], target, pos_weight=pos_weight, reduction="mean", tile=tile,
                          pairs=pairs, generator=generator)
    parts = {"rec": rec.detach()}
    loss = rec
    if "logstd" in out:
        kl = vgae_kl(out["mu"], out["logstd"])
        parts["kl"] = kl.detach()
        loss = loss + kl
    return loss, parts


class DAEGCModule(nn.Module):
    """DAEGC: GAT encoder ``in -> hidden... -> latent`` (ELU on every layer, as in DAEGC), the
    embedding L2-normalized, plus Student's t cluster centers.

    ``forward(structure, x)`` (an :class:`dglclust.nn.gat.AttentionStructure`) returns
    ``{"z", "q"}``.
    """

    def __init__(self, in_dim: int, n_clusters: int, hidden: Sequence[int] = (256,), latent: int = 16,
                 negative_slope: float = 0.2, alpha: float = 1.0):
        super().__init__()
        dims = [int(in_dim), *(int(h) for h in hidden), int(latent)]
        self.layers = nn.ModuleList(GATLayer(a, b, negative_slope) for a, b in zip(dims[:-1], dims[1:]))
        self.centers = nn.Parameter(torch.zeros(n_clusters, int(latent)))
        self.alpha = float(alpha)

    def embed(self, structure, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = layer(structure, h)
        return F.normalize(h.float(), p=2, dim=1)

    def forward(self, structure, x: torch.Tensor) -> dict:
        z = self.embed(structure, x)
        with torch.autocast(device_type=z.device.type, enabled=False):
            q = student_t(z, self.centers, self.alpha)
        return {"z": z, "q": q}
