"""Pure-torch reference implementations of dglclust's normalized propagation.

These define the semantics; the compiled kernels must match them (see tests/test_ops_spmm.py).
The propagation reference is DGL message passing (``update_all`` with ``u_mul_e`` / ``sum``),
which DGL differentiates itself (w.r.t. the features and the edge weights); on devices other than
the CPU (PyPI DGL is CPU-only) it is ``torch.sparse``. Inputs are not validated here: the public
wrappers in :mod:`dglclust.ops.spmm` validate every structure once.
"""
from __future__ import annotations

import torch

from .. import _compat

__all__ = ["normalized_spmm_ref", "csr_degrees", "edge_norm_values"]


def csr_degrees(indptr, indices, n_cols, edge_weight=None, add_self_loops=True,
                dtype=torch.float32):
    """``(rows, w, deg_r, deg_c)``: the row id and weight of every entry and the row / column sums
    of ``A (+ I)`` for a CSR matrix (int32 or int64 ``indptr`` / ``indices``)."""
    n_rows = indptr.numel() - 1
    dev = indptr.device
    rows = torch.repeat_interleave(torch.arange(n_rows, device=dev), indptr[1:] - indptr[:-1])
    if edge_weight is not None:
        w = edge_weight.to(dtype)
    else:
        w = torch.ones(indices.numel(), dtype=dtype, device=dev)
    deg_r = torch.zeros(n_rows, dtype=dtype, device=dev).index_add_(0, rows, w)
    deg_c = torch.zeros(n_cols, dtype=dtype, device=dev).index_add_(0, indices.long(), w)
    if add_self_loops:
        deg_r = deg_r + 1
        deg_c = deg_c + 1
    return rows, w, deg_r, deg_c


def _inv(x, power):
    out = x.pow(-power)
    return torch.where(x > 0, out, torch.zeros_like(out))


def edge_norm_values(indptr, indices, n, edge_weight=None, add_self_loops=True, norm="sym",
                     dtype=torch.float32):
    """COO ``(rows, cols, values)`` of the normalized matrix, self-loops appended last."""
    rows, w, deg_r, deg_c = csr_degrees(indptr, indices, n, edge_weight, add_self_loops, dtype)
    cols = indices.long()
    if add_self_loops:
        ar = torch.arange(n, device=indptr.device)
        rows = torch.cat([rows, ar])
        cols = torch.cat([cols, ar])
        w = torch.cat([w, torch.ones(n, dtype=dtype, device=indptr.device)])
    if norm == "sym":
        vals = w * _inv(deg_r, 0.5)[rows] * _inv(deg_c, 0.5)[cols]
    elif norm == "row":
        vals = w * _inv(deg_r, 1.0)[rows]
    elif norm == "none":
        vals = w
    else:
        raise ValueError(f"norm must be 'sym', 'row' or 'none', got {norm!r}")
    return rows, cols, vals


def normalized_spmm_ref(indptr, indices, x, edge_weight=None, add_self_loops=True, norm="sym"):
    """Y = N(A) X with N(A) = D_r^-1/2 (A + I) D_c^-1/2 ('sym'), D_r^-1 (A + I) ('row') or
    A + I ('none').

    ``A[i, j]`` is stored in CSR row ``i`` (``indices[indptr[i]:indptr[i+1]]`` are the columns
    ``j``). Degrees: ``D_r`` = row sums, ``D_c`` = column sums of ``A (+ I)`` (weighted; equal for
    symmetric graphs); rows or columns with a non-positive degree contribute zeros. Duplicate
    entries add up. Runs DGL message passing (``j -> i``) on the CPU, ``torch.sparse`` elsewhere.
    """
    dgl = _compat.import_dgl()
    import dgl.function as fn

    n = indptr.numel() - 1
    if x.shape[0] != n:
        raise ValueError(f"x has {x.shape[0]} rows but the graph has {n} nodes")
    rows, cols, vals = edge_norm_values(indptr, indices, n, edge_weight, add_self_loops, norm,
                                        x.dtype)
    if x.device.type != "cpu":
        # PyPI DGL is CPU-only; fall back to torch.sparse on other devices.
        a = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).coalesce()
        return torch.sparse.mm(a, x)
    g = dgl.graph((cols, rows), num_nodes=n)
    with g.local_scope():
        g.ndata["h"] = x
        g.edata["w"] = vals.unsqueeze(-1) if x.dim() == 2 else vals
        g.update_all(fn.u_mul_e("h", "w", "m"), fn.sum("m", "y"))
        return g.ndata["y"]
