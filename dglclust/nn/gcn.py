"""GCN layer in ``dgl.nn`` style on dglclust's fused normalized propagation."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..ops import graph_spmm

__all__ = ["GCNLayer"]

_NORMS = ("sym", "row", "none")


def _upcast(t: torch.Tensor) -> torch.Tensor:
    """Propagation runs in fp32 (or fp64): half-precision products from autocast are upcast."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


class GCNLayer(nn.Module):
    r"""Graph convolution :math:`H' = \sigma(\hat A H W)`.

    :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` for ``norm="sym"`` (Kipf & Welling) or
    :math:`D^{-1}(A + I)` for ``norm="row"`` (SDCN). The self-loops are added by the propagation op,
    so the graph must not store them (dglclust datasets never do). The product is computed as
    :math:`\hat A (H W)` when that is narrower. Weights use Xavier-uniform init; no bias by default
    (as in SDCN/AGCN/DFCN). The propagation always runs in fp32 (under bf16 autocast only the
    dense product with the weight is bf16).

    Parameters: ``in_feats``, ``out_feats``, ``norm`` in {"sym", "row", "none"}, ``activation``
    (callable or None), ``bias``, ``add_self_loops``.

    Example:
        >>> import dglclust, dgl, torch
        >>> g = dgl.graph(([0, 1], [1, 0]), num_nodes=3)
        >>> layer = GCNLayer(4, 2, norm="sym", activation=torch.relu)
        >>> layer(g, torch.randn(3, 4)).shape
        torch.Size([3, 2])
    """

    def __init__(self, in_feats: int, out_feats: int, norm: str = "sym",
                 activation: Callable | None = None, bias: bool = False, add_self_loops: bool = True):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"Invalid norm value. Must be one of {_NORMS}. But got {norm!r}.")
        self.in_feats, self.out_feats = int(in_feats), int(out_feats)
        self.norm, self.activation, self.add_self_loops = norm, activation, add_self_loops
        self.weight = nn.Parameter(torch.empty(self.in_feats, self.out_feats))
        self.bias = nn.Parameter(torch.empty(self.out_feats)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def propagate(self, graph, feat: torch.Tensor) -> torch.Tensor:
        r""":math:`\hat A H` in fp32 (no weight, no activation)."""
        return graph_spmm(graph, _upcast(feat), add_self_loops=self.add_self_loops, norm=self.norm)

    def forward(self, graph, feat: torch.Tensor, return_propagated: bool = False):
        r"""``return_propagated=True`` (only for ``in_feats <= out_feats``, where the product is
        :math:`(\hat A H) W`): also return :math:`\hat A H`, as ``(output, propagated)``."""
        if feat.shape[-1] != self.in_feats:
            raise ValueError(f"GCNLayer expects {self.in_feats} input features, got {feat.shape[-1]}")
        m = None
        if hasattr(graph, "propagate_rows"):
            # a node batch of dglclust.train.history.HistoryGraph: the batch's rows of A_hat H
            m = graph.propagate_rows(_upcast(feat), self.norm, self.add_self_loops)
            h = m @ self.weight
        elif self.in_feats > self.out_feats:
            if return_propagated:
                raise ValueError("return_propagated needs in_feats <= out_feats (the layer propagates "
                                 "H W, not H, when it narrows)")
            h = graph_spmm(graph, _upcast(feat @ self.weight), add_self_loops=self.add_self_loops, norm=self.norm)
        else:
            m = self.propagate(graph, feat)
            h = m @ self.weight
        if self.bias is not None:
            h = h + self.bias
        h = self.activation(h) if self.activation is not None else h
        return (h, m) if return_propagated else h

    def extra_repr(self) -> str:
        return f"in={self.in_feats}, out={self.out_feats}, norm={self.norm}"
