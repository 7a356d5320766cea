r"""Graph attention layer of DAEGC (Wang et al., IJCAI 2019), on dglclust's sparse structure.

.. math::
    h_i = W x_i,\quad c_{ij} = \mathrm{LeakyReLU}\big(m_{ij}\,(a_s^T h_i + a_n^T h_j)\big),\quad
    \alpha_{ij} = \mathrm{softmax}_{j \in N(i) \cup \{i\}}(c_{ij}),\quad
    x'_i = \sigma\Big(\sum_j \alpha_{ij} h_j\Big)

with DAEGC's topological relevance :math:`M = (B + B^2 + \dots + B^t)/t`, :math:`B = D^{-1}(A + I)`
the transition matrix (``m_ij = 1`` gives the plain single-head GAT of Velickovic et al.).

Why not ``dgl.nn.GATConv``: PyPI DGL is CPU-only, and GATConv has no per-edge logit weights. Here
the scores, the edge softmax (a per-row max and sum over the edges) and the weights ``M`` live on
``E + n`` values in the CSR order of :func:`dglclust.ops.graph_csr` on any device; the aggregation
is :func:`dglclust.ops.normalized_spmm` with the attention as edge weights (its differentiable
path: DGL ``u_mul_e`` message passing on the CPU, ``torch.sparse`` elsewhere). No ``n x n`` or
``E x d`` tensor is built.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..ops import graph_csr, normalized_spmm

__all__ = ["AttentionStructure", "attention_structure", "GATLayer"]


@dataclass
class AttentionStructure:
    """CSR of :math:`A + I` (row ``i`` = the neighbours ``j`` that node ``i`` attends to, self
    included) with the row id of every entry and the topological weights ``m`` (``None``: ones)."""

    indptr: torch.Tensor
    indices: torch.Tensor
    rows: torch.Tensor
    m: torch.Tensor | None
    num_nodes: int


def _gather_at(mat: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, n: int) -> torch.Tensor:
    """Values of the coalesced sparse COO ``mat`` at the positions ``(rows, cols)`` (all present)."""
    idx = mat.indices()
    keys = idx[0] * n + idx[1]  # coalesced: sorted row-major
    want = rows * n + cols
    pos = torch.searchsorted(keys, want).clamp(max=keys.numel() - 1)
    found = keys[pos] == want
    return torch.where(found, mat.values()[pos], torch.zeros((), dtype=mat.dtype, device=mat.device))


def attention_structure(graph, order: int = 2, device=None) -> AttentionStructure:
    """The :class:`AttentionStructure` of a DGLGraph with ``m`` = DAEGC's
    :math:`M = \\frac1t \\sum_{s=1}^t B^s` at the entries of :math:`A + I` (``order`` = ``t``;
    ``order=0``: no weights, plain GAT). :math:`B^s` is formed with sparse products once per fit;
    its size is the number of ``s``-hop pairs."""
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    indptr, indices, _ = graph_csr(graph, "cpu")
    n = indptr.numel() - 1
    rows = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
    keep = rows != indices  # stored self-loops are replaced by the one added here
    rows, indices = rows[keep], indices[keep]
    deg = torch.bincount(rows, minlength=n)
    ar = torch.arange(n)
    # A + I in CSR order (the self-loop appended at the end of each row, then sorted by row)
    r_all = torch.cat([rows, ar])
    c_all = torch.cat([indices, ar])
    perm = torch.argsort(r_all * n + c_all)
    r_all, c_all = r_all[perm], c_all[perm]
    new_indptr = torch.zeros(n + 1, dtype=torch.int64)
    new_indptr[1:] = torch.cumsum(deg + 1, 0)
    m = None
    if order >= 1:
        b_vals = 1.0 / (deg + 1).double()[r_all]
        b = torch.sparse_coo_tensor(torch.stack([r_all, c_all]), b_vals, (n, n),
                                    check_invariants=False).coalesce()
        power, acc = b, b_vals.clone()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
            for _ in range(order - 1):
                power = torch.sparse.mm(power, b).coalesce()
                acc += _gather_at(power, r_all, c_all, n)
        m = (acc / order).float().to(device)
    return AttentionStructure(new_indptr.to(device), c_all.to(device), r_all.to(device), m, n)


def edge_softmax(scores: torch.Tensor, rows: torch.Tensor, n: int) -> torch.Tensor:
    """Softmax of per-edge ``scores`` over the entries of each row (``rows`` = row id per entry)."""
    with torch.no_grad():
        mx = torch.full((n,), float("-inf"), dtype=scores.dtype, device=scores.device)
        mx = mx.scatter_reduce(0, rows, scores, reduce="amax", include_self=True)
    e = torch.exp(scores - mx[rows])
    s = torch.zeros(n, dtype=e.dtype, device=e.device).index_add(0, rows, e)
    return e / s[rows]


class GATLayer(nn.Module):
    r"""DAEGC's graph attention layer (single head); see the module docstring.

    Parameters: ``in_feats``, ``out_feats``, ``negative_slope`` of the LeakyReLU on the scores
    (0.2), ``activation`` applied to the output (DAEGC: ELU on every layer; ``None``: linear).
    ``W``, ``a_s``, ``a_n`` use Xavier-uniform init with gain 1.414 (as in GAT).

    ``forward(structure, x)`` takes an :class:`AttentionStructure` (from
    :func:`attention_structure`, built once per graph).

    Example:
        >>> import dglclust, dgl
        >>> g = dgl.graph(([0, 1, 1, 2], [1, 0, 2, 1]))
        >>> s = attention_structure(g, order=2)
        >>> GATLayer(4, 3)(s, torch.randn(3, 4)).shape
        torch.Size([3, 3])
    """

    def __init__(self, in_feats: int, out_feats: int, negative_slope: float = 0.2,
                 activation: Callable | None = F.elu):
        super().__init__()
        if in_feats < 1 or out_feats < 1:
            raise ValueError(f"GATLayer dimensions must be positive, got {in_feats}, {out_feats}")
        self.in_feats, self.out_feats = int(in_feats), int(out_feats)
        self.negative_slope, self.activation = float(negative_slope), activation
        self.weight = nn.Parameter(torch.empty(self.in_feats, self.out_feats))
        self.attn_self = nn.Parameter(torch.empty(self.out_feats, 1))
        self.attn_neigh = nn.Parameter(torch.empty(self.out_feats, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.weight, self.attn_self, self.attn_neigh):
            nn.init.xavier_uniform_(p, gain=1.414)

    def attention(self, structure: AttentionStructure, h: torch.Tensor) -> torch.Tensor:
        """The attention coefficients :math:`\\alpha_{ij}` per entry of ``structure``."""
        rows, cols = structure.rows, structure.indices
        c = (h @ self.attn_self).squeeze(1)[rows] + (h @ self.attn_neigh).squeeze(1)[cols]
        if structure.m is not None:
            c = c * structure.m.to(c.dtype)
        return edge_softmax(F.leaky_relu(c, self.negative_slope), rows, structure.num_nodes)

    def forward(self, structure: AttentionStructure, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_feats:
            raise ValueError(f"GATLayer expects {self.in_feats} input features, got {x.shape[-1]}")
        if x.shape[0] != structure.num_nodes:
            raise ValueError(f"x has {x.shape[0]} rows but the structure has {structure.num_nodes} nodes")
        h = x @ self.weight
        h = h.to(torch.promote_types(h.dtype, torch.float32))  # fp32 under autocast
        alpha = self.attention(structure, h)
        out = normalized_spmm(structure.indptr, structure.indices, h, edge_weight=alpha,
                              add_self_loops=False, norm="none")
        return self.activation(out) if self.activation is not None else out

    def extra_repr(self) -> str:
        return f"in={self.in_feats}, out={self.out_feats}"
