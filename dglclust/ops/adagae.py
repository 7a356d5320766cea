"""AdaGAE's sparse connectivity distribution (Li et al., 2020, Eq. 19), without an n x n matrix.

For each point ``x_i`` let ``d_i(1) <= d_i(2) <= ...`` be its squared Euclidean distances to the
*other* points, ordered by ``(distance, index)``. Its ``k`` nearest neighbours ``N_i`` get

.. math::

    p_{ij} = \\frac{d_{i,(k+1)} - d_{ij}}{\\sum_{v \\in N_i} (d_{i,(k+1)} - d_{iv})}, \\qquad j \\in N_i,

the closed-form solution of the paper's l2-regularized problem with the sparsity-controlling
``gamma_i`` at its upper bound. :func:`adagae_graph` returns ``P`` (or ``W = (P + P^T) / 2``) as CSR.

Semantics (shared by the reference and the kernels, checked against a brute force in the tests):

* **Ties** are broken by column index: among equal distances the smaller index is nearer. Weights
  depend on distances only, so equal distances get equal weights; a neighbour tied with the
  ``(k+1)``-th distance gets weight 0 (it is still stored: every row of ``P`` has exactly ``k``
  entries, columns ascending).
* **All equal** (``d_{i,(k+1)} = d_{i,(1)}``, e.g. ``k+1`` duplicates of ``x_i``): the denominator is
  0 and the row is uniform, ``p_ij = 1/k`` -- the limit of the paper's solution when the
  regularization dominates. Nothing is ever divided by zero.
* ``k = n - 1``: there is no ``(k+1)``-th neighbour; ``d_{i,(k+1)} := d_{i,(k)}`` (as if the farthest
  point were duplicated), so the farthest neighbour gets weight 0 unless all distances are equal.
* Rows of ``P`` sum to 1; ``P`` has no self-loops. ``W`` has the union of the patterns of ``P`` and
  ``P^T`` (an entry present in both gets ``(p_ij + p_ji) / 2``).
* **Precision.** Neighbours are *selected* with ``d~ = ||x_i||^2 + ||x_j||^2 - 2 x_i.x_j`` in the
  input dtype on column-centered data, clamped at 0, keeping the ``k + 1 + 8`` best by
  ``(d~, index)``; these candidates then get exact float64 distances ``sum_t (x_it - x_jt)^2`` that
  decide the final order and the weights. Integer-valued inputs small enough for exact arithmetic
  (binary / count features) are not centered, so ``d~`` is exact and the result equals the exact
  definition. For real-valued data it can differ only if more than 8 points tie with the
  ``(k+1)``-th neighbour within float rounding (exact duplicate points get identical ``d~`` from
  the matrix products in practice, so they keep the index order; this is tested).
* **Memory**: ``O(n (k + d))`` plus one tile of distances (``tile_rows x n`` in the reference, a
  ``512 x 512`` block per thread in the CPU kernel, a row tile on CUDA); never ``n x n``.
* No gradient: the graph is a constant of the AdaGAE objective (recomputed from the embedding
  without gradient), so ``x`` is detached.

The compiled kernel (``torch.ops.dglclust.adagae_graph``, CPU and CUDA) is used when available for
``x``'s device and dtype (float32 / float64); ``DGLCLUST_NO_EXT=1`` forces the reference.
"""
from __future__ import annotations

import operator

import torch

from . import _ext

__all__ = ["adagae_graph", "adagae_graph_reference", "symmetrize_csr", "MARGIN"]

#: extra candidates per row that are re-ranked with exact float64 distances
MARGIN = 8
_KERNEL_DTYPES = (torch.float32, torch.float64)
_EXACT_LIMIT = {torch.float32: 2.0 ** 24, torch.float64: 2.0 ** 53}


def _check(x, k):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"adagae_graph expects a tensor x (n, d), got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"adagae_graph: x must be a 2-D (n, d) feature matrix, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"adagae_graph: x must be floating point, got {x.dtype}; use x.float()")
    n = x.shape[0]
    if x.shape[1] < 1:
        raise ValueError(f"adagae_graph: x has no features (shape {tuple(x.shape)})")
    if n < 2:
        raise ValueError(f"adagae_graph: need at least 2 points, got n = {n}")
    try:
        if isinstance(k, bool):
            raise TypeError
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"adagae_graph: k must be an int, got {type(k).__name__}") from None
    if not 1 <= k < n:
        raise ValueError(f"adagae_graph: k must satisfy 1 <= k < n (k neighbours besides the point "
                         f"itself), got k = {k} with n = {n}")
    # (data-dependent: skipped while torch.compile traces; the kernel repeats this check)
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(x).all()):
        raise ValueError("adagae_graph: x contains NaN or Inf; clean the features (e.g. "
                         "torch.nan_to_num) before building the graph")
    return k


def adagae_graph(x, k, symmetrize=False):
    """AdaGAE's k-sparse connectivity distribution as a CSR matrix.

    Args:
        x: ``(n, d)`` features or embeddings (float32 / float64 use the kernels; other floating
            dtypes run the reference in float32).
        k: neighbours per point, ``1 <= k < n``.
        symmetrize: return ``W = (P + P^T) / 2`` instead of ``P``.

    Returns:
        ``(indptr, indices, values)``: int64 row pointers ``(n + 1,)``, int64 column indices sorted
        within each row, values in ``x``'s dtype. ``P`` has exactly ``k`` entries per row summing
        to 1. See the module docstring for ties, ``k = n - 1`` and precision.

    Example:
        >>> import torch
        >>> from dglclust.ops import adagae_graph
        >>> x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
        >>> indptr, indices, values = adagae_graph(x, k=2)
        >>> indptr, indices
        (tensor([0, 2, 4, 6, 8]), tensor([1, 2, 0, 2, 0, 1, 1, 2]))
        >>> values
        tensor([0.5455, 0.4545, 0.5224, 0.4776, 0.3684, 0.6316, 0.2826, 0.7174])
    """
    k = _check(x, k)
    x = x.detach()
    symmetrize = bool(symmetrize)
    if x.dtype in _KERNEL_DTYPES and _kernel_for("adagae_graph", x.device.type):
        return torch.ops.dglclust.adagae_graph(x, k, symmetrize)
    if x.dtype not in _KERNEL_DTYPES:
        out = adagae_graph_reference(x.float(), k, symmetrize)
        return out[0], out[1], out[2].to(x.dtype)
    return adagae_graph_reference(x, k, symmetrize)


@torch.compiler.assume_constant_result
def _kernel_for(op: str, device_type: str) -> bool:
    return _ext.has_kernel(op, device_type)


# --------------------------------------------------------------------------------------------------
# reference
# --------------------------------------------------------------------------------------------------
def _selection_data(x):
    """(xs, sq): the data the candidate selection works on, and its squared row norms."""
    x64 = x.to(torch.float64)
    max_abs = float(x64.abs().max())
    exact = bool(torch.equal(x64, x64.round())) and 4.0 * x.shape[1] * max_abs * max_abs < _EXACT_LIMIT[x.dtype]
    xs = (x64 if exact else x64 - x64.mean(0, keepdim=True)).to(x.dtype)
    return xs, xs.to(torch.float64).pow(2).sum(1).to(x.dtype)


def _lexicographic_smallest(dist, c):
    """Column indices (sorted ascending) of the c smallest entries of each row of ``dist``, ties
    at the c-th value broken by column index."""
    vals, cand = dist.topk(c, dim=1, largest=False)
    vth = vals[:, -1:]
    # rows where entries equal to the c-th value do not all fit: topk's choice among them is
    # arbitrary, so redo those rows taking the smallest indices first
    ambiguous = ((dist <= vth).sum(1) > c).nonzero().squeeze(1)
    if ambiguous.numel():
        sub, v = dist[ambiguous], vth[ambiguous]
        below = sub < v
        equal = sub == v
        need = c - below.sum(1, keepdim=True)
        take = below | (equal & (torch.cumsum(equal, dim=1) <= need))
        cand[ambiguous] = take.nonzero()[:, 1].view(-1, c)
    return cand.sort(dim=1).values


def _finalize(x64_rows, x64, cand, k):
    """Exact float64 distances to the candidates, order by (distance, index), closed-form weights.
    Returns (indices sorted ascending, values float64) of shape (rows, k)."""
    rows, c = cand.shape
    dist = (x64_rows.unsqueeze(1) - x64[cand]).pow(2).sum(-1)  # rows x c, float64
    # cand is sorted by index within each row, so a stable sort by distance breaks ties by index
    dist, perm = torch.sort(dist, dim=1, stable=True)
    cand = torch.gather(cand, 1, perm)
    t = dist[:, k:k + 1] if c > k else dist[:, k - 1:k]
    gap = t - dist[:, :k]
    denom = gap.sum(1, keepdim=True)
    uniform = torch.full_like(gap, 1.0 / k)
    w = torch.where(denom > 0, gap / torch.where(denom > 0, denom, torch.ones_like(denom)), uniform)
    idx, order = torch.sort(cand[:, :k], dim=1)
    return idx, torch.gather(w, 1, order)


def adagae_graph_reference(x, k, symmetrize=False, tile_elements=1 << 23):
    """Pure-torch :func:`adagae_graph` (any device): row tiles of ``tile_rows x n`` distances with
    ``tile_rows * n <= tile_elements``, exact lexicographic top-(k+1+MARGIN) candidates per row,
    then the float64 re-ranking. Same semantics as the kernels."""
    n, d = x.shape
    k = int(k)
    c = min(n - 1, k + 1 + MARGIN)
    xs, sq = _selection_data(x)
    x64 = x.to(torch.float64)
    tile_rows = max(1, min(n, tile_elements // n))
    indices = torch.empty(n, k, dtype=torch.int64, device=x.device)
    values = torch.empty(n, k, dtype=x.dtype, device=x.device)
    for r0 in range(0, n, tile_rows):
        r1 = min(n, r0 + tile_rows)
        rows = torch.arange(r0, r1, device=x.device)
        dist = torch.addmm(sq[None, :], xs[r0:r1], xs.T, beta=1.0, alpha=-2.0)
        dist.add_(sq[r0:r1, None]).clamp_min_(0)
        dist[rows - r0, rows] = float("inf")  # never select the point itself
        cand = _lexicographic_smallest(dist, c)
        del dist
        idx, w = _finalize(x64[r0:r1], x64, cand, k)
        indices[r0:r1] = idx
        values[r0:r1] = w.to(x.dtype)
    indptr = torch.arange(0, n * k + 1, k, dtype=torch.int64, device=x.device)
    indices, values = indices.view(-1), values.view(-1)
    if symmetrize:
        return symmetrize_csr(indptr, indices, values, n)
    return indptr, indices, values


def symmetrize_csr(indptr, indices, values, n=None):
    """``W = (A + A^T) / 2`` of a square CSR matrix; rows of ``W`` sorted by column, union pattern."""
    n = indptr.numel() - 1 if n is None else n
    rows = torch.repeat_interleave(torch.arange(n, device=indptr.device), indptr[1:] - indptr[:-1])
    r = torch.cat([rows, indices])
    c = torch.cat([indices, rows])
    v = torch.cat([values, values]) / 2
    key, perm = torch.sort(r * n + c, stable=True)
    uniq, inverse = torch.unique_consecutive(key, return_inverse=True)
    w = torch.zeros(uniq.numel(), dtype=values.dtype, device=values.device).index_add_(0, inverse, v[perm])
    wr = torch.div(uniq, n, rounding_mode="floor")
    wptr = torch.zeros(n + 1, dtype=torch.int64, device=indptr.device)
    wptr[1:] = torch.cumsum(torch.bincount(wr, minlength=n), 0)
    return wptr, uniq - wr * n, w


# --------------------------------------------------------------------------------------------------
# torch.library registrations (only when the compiled op exists)
# --------------------------------------------------------------------------------------------------
def _register():
    if not _ext.extension_loaded() or not _ext.op_defined("adagae_graph"):
        return

    @torch.library.register_fake("dglclust::adagae_graph")
    def _(x, k, symmetrize=False):
        n = x.shape[0]
        indptr = x.new_empty((n + 1,), dtype=torch.int64)
        if symmetrize:
            nnz = torch.library.get_ctx().new_dynamic_size()
        else:
            nnz = n * k
        return indptr, x.new_empty((nnz,), dtype=torch.int64), x.new_empty((nnz,))


_register()
