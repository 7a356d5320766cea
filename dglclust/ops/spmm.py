"""Normalized sparse propagation ``Y = D^-1/2 (A + I) D^-1/2 X`` (or ``D^-1 (A + I) X``)."""
from __future__ import annotations

import torch

from . import _ext
from ._reference import normalized_spmm_ref

__all__ = ["normalized_spmm", "graph_spmm", "graph_csr"]

_NORMS = ("sym", "row", "none")


def normalized_spmm(indptr, indices, x, edge_weight=None, add_self_loops=True, norm="sym"):
    """Normalized sparse-dense product for a CSR graph.

    Computes ``Y = D_r^{-1/2} (A + I) D_c^{-1/2} X`` for ``norm="sym"`` or ``Y = D_r^{-1} (A + I) X``
    for ``norm="row"`` (SDCN), with degrees computed on the fly; ``add_self_loops=False`` drops the
    ``I``. Differentiable in ``x`` (the backward multiplies by the transpose).

    Example:
        >>> import torch
        >>> from dglclust.ops import normalized_spmm
        >>> indptr, indices = torch.tensor([0, 1, 2]), torch.tensor([1, 0])
        >>> normalized_spmm(indptr, indices, torch.eye(2))
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
    if x.dim() != 2:
        raise ValueError(f"x must be 2-D (nodes x features), got shape {tuple(x.shape)}")
    return normalized_spmm_ref(indptr, indices, x, edge_weight, add_self_loops, norm)


def graph_csr(g, device=None):
    """``(indptr, indices, edge_ids)`` of a DGLGraph's in-edge CSR (row = destination), cached
    per graph and device. Row ``i`` lists the sources ``j`` of edges ``j -> i``."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    cache = getattr(g, "_dglclust_csr", None)
    if cache is None:
        cache = {}
        try:
            g._dglclust_csr = cache
        except AttributeError:
            pass
    key = str(device)
    if key not in cache:
        # adj_tensors("csr") is the out-edge CSR (row = source); the transpose of a graph
        # equals the in-edge CSR. For our symmetrized graphs the two coincide.
        indptr, indices, eids = g.reverse().adj_tensors("csr")
        cache[key] = (indptr.to(device), indices.to(device), eids.to(device))
    return cache[key]


def graph_spmm(g, x, edge_weight=None, add_self_loops=True, norm="sym"):
    """:func:`normalized_spmm` on a DGLGraph (messages flow along edges ``src -> dst``).

    ``edge_weight`` is per edge in DGL edge-id order. The structure is cached on the graph per
    device, so on CUDA the graph itself stays on the CPU (PyPI DGL is CPU-only).
    """
    if x.shape[0] != g.num_nodes():
        raise ValueError(f"x has {x.shape[0]} rows but the graph has {g.num_nodes()} nodes")
    indptr, indices, eids = graph_csr(g, x.device)
    if edge_weight is not None:
        edge_weight = edge_weight.to(x.device)[eids]
    return normalized_spmm(indptr, indices, x, edge_weight, add_self_loops, norm)
