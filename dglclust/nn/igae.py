r"""DFCN's improved graph autoencoder (IGAE).

Encoder and decoder are stacks of :class:`IGAELayer`, :math:`H' = \hat A\, \sigma(H W)` (the
activation acts on :math:`HW` *before* the propagation, as in DFCN), with
:math:`\hat A = D^{-1}(A + I)` by default. The decoder mirrors the encoder and reconstructs the
*weighted* attributes :math:`\hat A X`; the adjacency is reconstructed from both levels,
:math:`\hat A' = \mathrm{sigmoid}(Z Z^T) + \mathrm{sigmoid}(\hat Z \hat Z^T)`. The loss
(:func:`igae_loss`)

.. math::
    L_{IGAE} = \frac{1}{nd}\|\hat A X - \hat Z\|_F^2 + \gamma \frac{1}{n^2}\|\hat A - \hat A'\|_F^2

is computed without any ``n x n`` matrix (:func:`dglclust.nn.recon.gram_mse`).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..ops import graph_spmm
from .gcn import GCNLayer, _upcast
from .recon import gram_mse, target_coo

__all__ = ["ACTIVATIONS", "IGAE", "IGAELayer", "igae_loss", "igae_targets"]

ACTIVATIONS = {
    "tanh": torch.tanh,
    "leaky_relu": lambda h: F.leaky_relu(h, 0.2),
    "relu": torch.relu,
    "none": None,
}


def _activation(name):
    try:
        return ACTIVATIONS[name if name is not None else "none"]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


class IGAELayer(GCNLayer):
    r"""Graph convolution with the activation before the propagation:
    :math:`H' = \hat A\, \sigma(H W)` (:class:`GCNLayer` computes :math:`\sigma(\hat A H W)`).
    Same parameters as :class:`GCNLayer`."""

    def forward(self, graph, feat: torch.Tensor) -> torch.Tensor:
        if feat.shape[-1] != self.in_feats:
            raise ValueError(f"IGAELayer expects {self.in_feats} input features, got {feat.shape[-1]}")
        h = feat @ self.weight
        if self.bias is not None:
            h = h + self.bias
        if self.activation is not None:
            h = self.activation(h)
        return graph_spmm(graph, _upcast(h), add_self_loops=self.add_self_loops, norm=self.norm)


class IGAE(nn.Module):
    r"""Improved graph autoencoder ``in -> hidden -> latent -> reversed(hidden) -> in``.

    Encoder layers use ``activation`` except the last (linear); all decoder layers use it (DFCN:
    tanh; ``"leaky_relu"`` for Reuters, ``"none"`` for HHAR). ``forward(graph, x)`` returns
    ``(z, z_hat)``.

    Example:
        >>> import dgl
        >>> g = dgl.graph(([0, 1, 1, 2], [1, 0, 2, 1]))
        >>> z, z_hat = IGAE(6, hidden=(8, 8), latent=4)(g, torch.randn(3, 6))
        >>> z.shape, z_hat.shape
        (torch.Size([3, 4]), torch.Size([3, 6]))
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (128, 256), latent: int = 20,
                 norm: str = "row", activation: str = "tanh"):
        super().__init__()
        dims = [int(in_dim), *(int(h) for h in hidden), int(latent)]
        if any(d < 1 for d in dims):
            raise ValueError(f"IGAE dimensions must be positive, got {dims}")
        act = _activation(activation)
        self.in_dim, self.latent = dims[0], dims[-1]
        self.encoder = nn.ModuleList(
            IGAELayer(a, b, norm=norm, activation=act if i < len(dims) - 2 else None)
            for i, (a, b) in enumerate(itertools.pairwise(dims)))
        rdims = dims[::-1]
        self.decoder = nn.ModuleList(IGAELayer(a, b, norm=norm, activation=act)
                                     for a, b in itertools.pairwise(rdims))

    @staticmethod
    def _run(layers, graph, h):
        for layer in layers:
            h = layer(graph, h)
        return h

    def encode(self, graph, x: torch.Tensor) -> torch.Tensor:
        return self._run(self.encoder, graph, x)

    def decode(self, graph, z: torch.Tensor) -> torch.Tensor:
        return self._run(self.decoder, graph, z)

    def forward(self, graph, x: torch.Tensor):
        z = self.encode(graph, x)
        return z, self.decode(graph, z)


def igae_targets(graph, x: torch.Tensor, norm: str = "row"):
    """``(A_hat X, target_coo(A_hat))``: the weighted attributes and the sparse normalized adjacency
    (self-loops included) that IGAE reconstructs."""
    ax = graph_spmm(graph, _upcast(x), norm=norm)
    return ax, target_coo(graph, add_self_loops=True, norm=norm, device=x.device)


def igae_loss(z: torch.Tensor, z_hat: torch.Tensor, ax: torch.Tensor, adj_target, gamma: float = 0.1,
              tile: int = 512, mm_dtype: torch.dtype | None = None, pairs: int | None = None,
              generator: torch.Generator | None = None):
    """``(L_IGAE, parts)`` with ``L_w = mse(z_hat, A_hat X)`` and
    ``L_a = mean (A_hat - sigmoid(z z^T) - sigmoid(z_hat z_hat^T))^2`` (exact, in ``tile`` blocks;
    ``mm_dtype=torch.bfloat16`` runs the block products in bf16, sums in fp32). ``pairs``: the
    all-pairs part of ``L_a`` estimated from that many sampled pairs (:func:`gram_mse`)."""
    loss_w = F.mse_loss(_upcast(z_hat), ax)
    with torch.autocast(device_type=z.device.type, enabled=False):
        loss_a = gram_mse([_upcast(z), _upcast(z_hat)], adj_target, sigmoid=True, tile=tile,
                          mm_dtype=mm_dtype, pairs=pairs, generator=generator)
    return loss_w + gamma * loss_a, {"igae_w": loss_w.detach(), "igae_a": loss_a.detach()}
