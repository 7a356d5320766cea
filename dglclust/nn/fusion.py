r"""Attention-driven feature fusion layers.

* AGCN (Peng et al., ACM MM 2021): :class:`HeterogeneityFusion` (AGCN-H) weighs the GCN feature
  :math:`Z_i` against the autoencoder feature :math:`H_i` of the same layer per node;
  :class:`ScaleFusion` (AGCN-S) weighs and concatenates the features of all scales.
  Both use the "softmax-l2" attention :func:`softmax_l2_attention`.
* DFCN (Tu et al., AAAI 2021): :class:`SAIF`, the structure and attribute information fusion
  module, whose global self-correlation step :func:`global_self_attention` runs as
  ``scaled_dot_product_attention`` so no ``n x n`` matrix is ever stored.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..ops import graph_spmm

__all__ = ["SAIF", "AttentionWeights", "HeterogeneityFusion", "ScaleFusion", "global_self_attention"]


class AttentionWeights(nn.Module):
    r"""Per-node attention over ``m`` inputs:
    :math:`M = \ell_2(\mathrm{softmax}(\mathrm{LeakyReLU}([F_1 \| \dots \| F_m] W)))`, shape (n, m).

    Rows are soft-maxed, then scaled to unit l2 norm (the paper's "softmax-l2" normalization), so
    the weights are positive and comparable across nodes. ``W`` is a linear layer with bias.

    Example:
        >>> att = AttentionWeights(in_feats=6, n_inputs=2)
        >>> att([torch.randn(4, 3), torch.randn(4, 3)]).shape
        torch.Size([4, 2])
    """

    def __init__(self, in_feats: int, n_inputs: int, negative_slope: float = 0.2):
        super().__init__()
        if in_feats < 1 or n_inputs < 1:
            raise ValueError(f"in_feats and n_inputs must be positive, got {in_feats}, {n_inputs}")
        self.linear = nn.Linear(in_feats, n_inputs)
        self.negative_slope = float(negative_slope)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        h = torch.cat(list(feats), dim=1)
        if h.shape[1] != self.linear.in_features:
            raise ValueError(f"attention expects {self.linear.in_features} concatenated features, "
                             f"got {h.shape[1]}")
        logits = F.leaky_relu(self.linear(h), self.negative_slope).float()
        return F.normalize(torch.softmax(logits, dim=1), p=2, dim=1)


class HeterogeneityFusion(nn.Module):
    r"""AGCN-H: :math:`Z'_i = m_{i,1} \odot Z_i + m_{i,2} \odot H_i` with
    :math:`[m_{i,1} \| m_{i,2}] = \ell_2(\mathrm{softmax}(\mathrm{LeakyReLU}([Z_i \| H_i] W^a_i)))`.

    ``forward(z, h)`` returns ``(fused, weights)``; ``weights`` is (n, 2).

    Example:
        >>> fuse = HeterogeneityFusion(8)
        >>> out, m = fuse(torch.randn(5, 8), torch.randn(5, 8))
        >>> out.shape, m.shape
        (torch.Size([5, 8]), torch.Size([5, 2]))
    """

    def __init__(self, feats: int, negative_slope: float = 0.2):
        super().__init__()
        self.feats = int(feats)
        self.attention = AttentionWeights(2 * self.feats, 2, negative_slope)

    def forward(self, z: torch.Tensor, h: torch.Tensor):
        if z.shape != h.shape:
            raise ValueError(f"Z and H must have the same shape, got {tuple(z.shape)} and {tuple(h.shape)}")
        m = self.attention([z, h])
        return m[:, :1] * z + m[:, 1:] * h, m


class ScaleFusion(nn.Module):
    r"""AGCN-S: :math:`Z' = [u_1 \odot Z_1 \| \dots \| u_{l+1} \odot Z_{l+1}]` with
    :math:`U = \ell_2(\mathrm{softmax}(\mathrm{LeakyReLU}([Z_1 \| \dots \| Z_{l+1}] W^s)))`.

    ``attention=False`` gives the unweighted concatenation (the paper's AGCN-S[S] ablation).
    ``forward(feats)`` returns ``(fused, weights)``; ``weights`` is (n, len(feats)).

    Example:
        >>> fuse = ScaleFusion([4, 4, 2])
        >>> out, u = fuse([torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 2)])
        >>> out.shape, u.shape
        (torch.Size([3, 10]), torch.Size([3, 3]))
    """

    def __init__(self, dims: Sequence[int], attention: bool = True, negative_slope: float = 0.2):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        self.out_feats = sum(self.dims)
        self.attention = AttentionWeights(self.out_feats, len(self.dims), negative_slope) if attention else None

    def forward(self, feats: Sequence[torch.Tensor]):
        feats = list(feats)
        if tuple(f.shape[1] for f in feats) != self.dims:
            raise ValueError(f"ScaleFusion expects features of widths {self.dims}, "
                             f"got {tuple(f.shape[1] for f in feats)}")
        if self.attention is None:
            u = feats[0].new_ones((feats[0].shape[0], len(feats)), dtype=torch.float32)
            return torch.cat(feats, dim=1), u
        u = self.attention(feats)
        return torch.cat([u[:, i:i + 1] * f for i, f in enumerate(feats)], dim=1), u


def global_self_attention(z: torch.Tensor, chunks: int = 16, keys: int | None = None,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`\mathrm{softmax}(Z Z^T) Z` (row softmax) as attention with ``Q = K = V = Z`` and
    ``scale=1``: memory O(n) (flash/memory-efficient kernels), never an ``n x n`` matrix.

    The queries are split into ``chunks`` batch entries that share ``K = V = Z`` (a broadcast view):
    with a single (batch, head) the CPU flash-attention backward runs serially and is ~20x slower.
    The backward then holds ``chunks`` partial ``dK``/``dV`` (``chunks * n * d``), still O(n).
    Runs in fp32 (autocast disabled): the logits are unscaled dot products.

    ``keys``: attend to that many keys drawn uniformly (with replacement, indices from
    ``generator`` on the CPU) instead of all ``n``: row ``i`` is then the softmax-weighted mean of
    the sampled ``z_j`` (a ratio estimate of the exact row, consistent as ``keys`` grows), in
    O(n keys d) time instead of O(n^2 d). ``None`` or ``keys >= n``: exact."""
    if z.dim() != 2:
        raise ValueError(f"z must be 2-D (n x d), got shape {tuple(z.shape)}")
    if keys is not None and (isinstance(keys, bool) or int(keys) < 1):
        raise ValueError(f"keys must be a positive int or None, got {keys!r}")
    n, d = z.shape
    c = max(1, min(int(chunks), n))
    with torch.autocast(device_type=z.device.type, enabled=False):
        z = z.float()
        pad = (-n) % c
        q = (F.pad(z, (0, 0, 0, pad)) if pad else z).reshape(c, 1, (n + pad) // c, d)
        if keys is not None and int(keys) < n:
            idx = torch.randint(0, n, (int(keys),), generator=generator).to(z.device)
            kv = z[idx][None, None].expand(c, 1, int(keys), d)
        else:
            kv = z[None, None].expand(c, 1, n, d)
        return F.scaled_dot_product_attention(q, kv, kv, scale=1.0).reshape(n + pad, d)[:n]


class SAIF(nn.Module):
    r"""DFCN's structure and attribute information fusion.

    .. math::
        Z_I = a Z_{AE} + (1 - a) Z_{IGAE},\quad Z_L = \hat A Z_I,\quad
        Z_G = \mathrm{softmax}(Z_L Z_L^T) Z_L,\quad \tilde Z = b Z_G + Z_L

    ``b`` is learned, initialized at 0. ``a`` is 0.5 and fixed by default (as in the official
    code); ``learn_alpha=True`` learns it as a scalar (the paper describes it as learnable).
    ``norm`` is the propagation's normalization (``"row"``: :math:`D^{-1}(A + I)` as in DFCN).
    ``keys`` (attribute, default ``None`` = exact): the self-correlation attends to that many
    uniformly sampled nodes per forward pass (:func:`global_self_attention`), drawn from the
    ``generator`` attribute; DFCN sets both in its large-graph mode.

    Example:
        >>> import dgl
        >>> g = dgl.graph(([0, 1, 1, 2], [1, 0, 2, 1]))
        >>> SAIF()(g, torch.randn(3, 4), torch.randn(3, 4)).shape
        torch.Size([3, 4])
    """

    def __init__(self, alpha: float = 0.5, learn_alpha: bool = False, norm: str = "row"):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.norm = norm
        self.keys: int | None = None
        self.generator: torch.Generator | None = None
        self.beta = nn.Parameter(torch.zeros(1))
        if learn_alpha:
            self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        else:
            self.register_buffer("alpha", torch.tensor(float(alpha)))

    def forward(self, graph, z_ae: torch.Tensor, z_igae: torch.Tensor) -> torch.Tensor:
        if z_ae.shape != z_igae.shape:
            raise ValueError(f"Z_AE and Z_IGAE must have the same shape, got {tuple(z_ae.shape)} "
                             f"and {tuple(z_igae.shape)}")
        z_i = self.alpha * z_ae.float() + (1.0 - self.alpha) * z_igae.float()
        z_l = graph_spmm(graph, z_i, norm=self.norm)
        return self.beta * global_self_attention(z_l, keys=self.keys, generator=self.generator) + z_l
