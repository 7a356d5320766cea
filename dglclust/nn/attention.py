r"""CaEGCN's cross-attention fusion: multi-head softmax attention over *all* nodes, never an
``n x n`` matrix in memory.

For the fused input :math:`Y = \gamma Z_l + (1 - \gamma) H_l` (GAE and content-AE features of
layer ``l``), head ``m`` computes

.. math::
    R^m = \mathrm{softmax}\big(s\, Q_m K_m^T\big) V_m,\qquad
    Q_m = Y W^q_m,\; K_m = Y W^k_m,\; V_m = Y W^v_m,

and the heads are concatenated and projected back: :math:`R = [R^1 \| \dots \| R^M] W^o`
(CaEGCN eqs. 5-11). The paper's two-stage projections (:math:`Q = W^q Y`, then
:math:`Q_m = W^q_m Q`) compose to one linear map per head, which is what is stored.

All heads run in one :func:`torch.nn.functional.scaled_dot_product_attention` call (heads as the
batch dimension, so the CPU flash kernel parallelizes over them): memory O(n) -- the forward keeps
the output and a per-row log-sum-exp, the backward recomputes the scores in blocks. The attention
product runs in fp32 even under bf16 autocast (unscaled logits are large).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["multihead_attention", "multihead_attention_dense", "kernel_head_dim", "CrossAttentionFusion"]


def _split_heads(t: torch.Tensor, heads: int, pad: int = 0) -> torch.Tensor:
    n = t.shape[0]
    t = t.reshape(n, heads, -1)
    if pad:
        t = F.pad(t, (0, pad))
    return t.transpose(0, 1).unsqueeze(0)  # (1, heads, n, d_head + pad)


def kernel_head_dim(d: int) -> int:
    """The per-head width the attention kernel runs at for a head width ``d``: ``d`` padded with
    zero columns to 16 when smaller, or to the next power of two when that adds at most 1/8.

    Zero columns change nothing (they add 0 to every ``q . k`` and give output columns that are
    cut off), but the CPU flash kernel is much faster at these widths: fwd + bwd at n = 3,025,
    8 heads, one thread, 1.30 s at d = 63 vs 0.85 s padded to 64, 0.48 s at d = 2 vs 0.32 s
    padded to 16 (a width that pays for a larger pad, 100 -> 128, was slower: 1.49 vs 1.85 s).
    """
    if d < 16:
        return 16
    p2 = 1 << (d - 1).bit_length()
    return p2 if 8 * (p2 - d) <= d else d


def multihead_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                        scale: float) -> torch.Tensor:
    r"""``concat_m softmax(scale * Q_m K_m^T) V_m`` for ``q, k`` of shape (n, heads * d_k) and ``v``
    of shape (n, heads * d_v) (head ``m`` = columns ``m*d : (m+1)*d``); returns (n, heads * d_v).
    Memory O(n) (``scaled_dot_product_attention``), fp32."""
    if q.dim() != 2 or q.shape != k.shape or v.shape[0] != q.shape[0]:
        raise ValueError(f"q, k must be (n, heads*d_k) of equal shape and v (n, heads*d_v), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[1] % heads or v.shape[1] % heads:
        raise ValueError(f"the widths {q.shape[1]} and {v.shape[1]} must be multiples of heads={heads}")
    n = q.shape[0]
    dt = torch.promote_types(q.dtype, torch.float32)  # fp32 (fp64 stays fp64, for gradcheck)
    dk, dv = q.shape[1] // heads, v.shape[1] // heads
    pk, pv = kernel_head_dim(dk) - dk, kernel_head_dim(dv) - dv
    with torch.autocast(device_type=q.device.type, enabled=False):
        out = F.scaled_dot_product_attention(_split_heads(q.to(dt), heads, pk), _split_heads(k.to(dt), heads, pk),
                                             _split_heads(v.to(dt), heads, pv), scale=float(scale))
    if pv:
        out = out[..., :dv]
    return out[0].transpose(0, 1).reshape(n, -1)


def multihead_attention_dense(q, k, v, heads: int, scale: float) -> torch.Tensor:
    """The same product with explicit ``n x n`` score matrices (for tests on small n)."""
    dt = torch.promote_types(q.dtype, torch.float32)
    outs = []
    for qm, km, vm in zip(q.to(dt).chunk(heads, 1), k.to(dt).chunk(heads, 1), v.to(dt).chunk(heads, 1)):
        outs.append(torch.softmax(scale * qm @ km.T, dim=1) @ vm)
    return torch.cat(outs, dim=1)


class CrossAttentionFusion(nn.Module):
    r"""CaEGCN's cross-attention fusion module :math:`R_l = F_{att}(\gamma Z_l + (1 - \gamma) H_l)`.

    Parameters:
        dim: width ``D_l`` of ``Z_l`` and ``H_l`` (and of the output ``R_l``).
        heads: number of heads ``M`` (paper: 8).
        head_dim: per-head width of queries/keys/values. ``None``: ``ceil(D_l / heads)`` (the
            usual transformer split, total width ~``D_l``); ``"full"``: ``D_l`` per head (the
            paper's :math:`W^q_m \in \mathbb{R}^{D_l \times D_l}`, 8x the cost); or an int.
        scale: multiplies the logits. ``None``: ``1 / sqrt(head_dim)`` (Vaswani et al.);
            ``1.0``: the paper's plain dot product (eq. 7).
        gamma: the trade-off :math:`\gamma` (paper: 0.5).
        residual: return ``Y + F_att(Y)`` instead of ``F_att(Y)`` (not in the paper; an option).
        checkpoint: recompute the projections and the attention in the backward pass instead of
            storing them (saves ~5 (n x D_l) tensors per module; costs one extra attention forward).

    Projections have no bias, the output projection has one; all weights are Xavier-uniform.

    Example:
        >>> fuse = CrossAttentionFusion(16, heads=4)
        >>> fuse(torch.randn(10, 16), torch.randn(10, 16)).shape
        torch.Size([10, 16])
    """

    def __init__(self, dim: int, heads: int = 8, head_dim=None, scale=None, gamma: float = 0.5,
                 residual: bool = False, checkpoint: bool = False):
        super().__init__()
        if dim < 1 or heads < 1:
            raise ValueError(f"dim and heads must be positive, got dim={dim}, heads={heads}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        if head_dim is None:
            hd = math.ceil(dim / heads)
        elif head_dim == "full":
            hd = dim
        elif isinstance(head_dim, int) and head_dim >= 1:
            hd = head_dim
        else:
            raise ValueError(f"head_dim must be None, 'full' or a positive int, got {head_dim!r}")
        self.dim, self.heads, self.head_dim = int(dim), int(heads), int(hd)
        self.scale = float(scale) if scale is not None else 1.0 / math.sqrt(hd)
        self.gamma, self.residual, self.checkpoint = float(gamma), bool(residual), bool(checkpoint)
        width = self.heads * self.head_dim
        self.query = nn.Linear(self.dim, width, bias=False)
        self.key = nn.Linear(self.dim, width, bias=False)
        self.value = nn.Linear(self.dim, width, bias=False)
        self.out = nn.Linear(width, self.dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.query, self.key, self.value, self.out):
            nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(self.out.bias)

    def fuse(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The raw fusion :math:`Y = \\gamma Z + (1 - \\gamma) H` (eq. 6)."""
        if z.shape != h.shape or z.shape[-1] != self.dim:
            raise ValueError(f"Z and H must both be (n, {self.dim}), got {tuple(z.shape)} and {tuple(h.shape)}")
        return self.gamma * z + (1.0 - self.gamma) * h

    def attend(self, y: torch.Tensor, dense: bool = False) -> torch.Tensor:
        """:math:`F_{att}(Y)`; ``dense=True`` uses explicit score matrices (testing only)."""
        fn = multihead_attention_dense if dense else multihead_attention
        return self.out(fn(self.query(y), self.key(y), self.value(y), self.heads, self.scale))

    def _attend_head(self, y: torch.Tensor, m: int) -> torch.Tensor:
        """Head ``m``'s share of :math:`F_{att}(Y)` without the bias: ``softmax(s Q_m K_m^T) V_m``
        times its rows of ``W^o`` (the heads' shares sum to the output projection)."""
        cols = slice(m * self.head_dim, (m + 1) * self.head_dim)
        q = F.linear(y, self.query.weight[cols])
        k = F.linear(y, self.key.weight[cols])
        v = F.linear(y, self.value.weight[cols])
        return F.linear(multihead_attention(q, k, v, 1, self.scale), self.out.weight[:, cols])

    def _attend_checkpointed(self, y: torch.Tensor) -> torch.Tensor:
        """:math:`F_{att}(Y)` with one activation checkpoint per head: the backward recomputes one
        head's projections and attention at a time, so besides ``Y`` only one head's ``(n x d_head)``
        tensors are alive (the whole-module checkpoint held all heads' at once: ~1.6 GB at
        n = 100,000, width 504)."""
        from torch.utils.checkpoint import checkpoint

        r = self.out.bias
        for m in range(self.heads):
            r = r + checkpoint(self._attend_head, y, m, use_reentrant=False)
        return r

    def forward(self, z: torch.Tensor, h: torch.Tensor, dense: bool = False) -> torch.Tensor:
        y = self.fuse(z, h)
        if self.checkpoint and torch.is_grad_enabled() and not dense:
            r = self._attend_checkpointed(y)
        else:
            r = self.attend(y, dense)
        return y + r if self.residual else r

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, heads={self.heads}, head_dim={self.head_dim}, scale={self.scale:.4g}, "
                f"gamma={self.gamma}, residual={self.residual}")
