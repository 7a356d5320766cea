r"""AdaGAE (Li, Zhang & Zhang, "Adaptive Graph Auto-Encoder for General Data Clustering"):
graph construction, GCN encoder and the distance-softmax decoder loss, never dense in n x n.

**Graph.** For each point the closed-form solution of the paper's l2-regularized problem (Eq. 19)
puts weight on its nearest points. In the paper the point itself is its nearest point (``d_ii = 0``,
"p(v_i|v_i) in (0, 1) if k > 1": an *adaptive self-loop*, which is why ``A~ = W`` carries no extra
identity). :func:`connectivity` builds that ``P``: with ``k`` neighbours besides the point itself,

.. math::

    p_{ij} = \frac{e_{i,(k+1)} - d_{ij}}{(k+1)\, e_{i,(k+1)} - \sum_{v \le k} e_{i,(v)}},
    \qquad j \in \{i\} \cup N_k(i),

``e_{i,(v)}`` the sorted squared distances to the *other* points (the official code's
``num_neighbors = k + 1``). The expensive part, the top-``(k+1)`` search over all points, is
:func:`dglclust.ops.adagae_graph` (which solves the same problem without the point itself); the
``k + 1`` winners get exact float64 distances here. ``self_loop=False`` returns the op's ``P`` as is.
Then ``W = (P + P^T) / 2`` and :math:`\hat A = D^{-1/2} W D^{-1/2}` (``normalized_spmm``,
``add_self_loops=False``).

**Encoder.** Two GCN layers ``Z = \hat A\, \mathrm{ReLU}(\hat A X \Theta_1) \Theta_2`` (no bias,
Xavier-uniform init); ``\hat A X`` is constant between graph updates and computed once per graph.

**Loss** (Eq. 10, averaged over the nodes as in the official code):

.. math::

    \frac{1}{n}\Big[\sum_{ij} p_{ij} \log\frac{1}{q_{ij}} + \lambda\, \mathrm{tr}(Z^T L_W Z)\Big],
    \quad q_{ij} = \mathrm{softmax}_j(-\lVert z_i - z_j\rVert^2),\quad L_W = D_W - W.

With ``-log q_ij = d_ij + LSE_i`` (``LSE_i = log sum_j exp(-d_ij)``), the cross-entropy is
``sum_ij p_ij d_ij + sum_i r_i LSE_i`` (``r_i`` = row sums of ``P`` = 1). ``LSE`` is computed in row
tiles by :class:`_TiledLSE`, whose backward recomputes each tile (memory ``O(n * tile)``); the
``p``-weighted distances and the trace use only the sparse entries, through ``P Z`` and ``W Z``
(``normalized_spmm`` with ``norm="none"``). Everything equals the dense formulas
(:func:`adagae_loss_dense`) up to float rounding.

``normalizer="sampled"`` replaces the exact ``LSE_i`` by ``log(1 + n/m sum_{s in S, s != i} exp(-d_is))``
over ``m`` points ``S`` drawn uniformly per step (shared by all rows; the self term stays exact):
an approximation for very large ``n`` where the exact ``O(n^2 d)`` normalizer per step is too slow.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..nn import GCNLayer
from ..ops import normalized_spmm

__all__ = [
    "AdaGAEModule",
    "CSRGCNLayer",
    "connectivity",
    "symmetrize",
    "propagate",
    "neighbor_schedule",
    "resolve_k_max",
    "given_connectivity",
    "pairwise_logsumexp",
    "adagae_loss",
    "adagae_loss_dense",
    "connectivity_dense",
]

#: default number of fp32 elements of one distance tile (rows x n) in the loss: 2**24 = 64 MiB
TILE_ELEMENTS = 1 << 24


# --------------------------------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------------------------------
def _ops_graph():
    from ..ops.adagae import adagae_graph, symmetrize_csr

    return adagae_graph, symmetrize_csr


def symmetrize(p):
    """``W = (P + P^T) / 2`` of a CSR triple ``(indptr, indices, values)`` (union pattern, rows sorted
    by column); :func:`dglclust.ops.adagae.symmetrize_csr`."""
    _, symmetrize_csr = _ops_graph()
    indptr, indices, values = p
    return symmetrize_csr(indptr, indices, values, indptr.numel() - 1)


def _exact_sqdist(x64, rows, cols, budget=1 << 24):
    """float64 ``||x_rows[r] - x_cols[r, j]||^2`` for an ``(r, m)`` index matrix, chunked."""
    r, m = cols.shape
    d = x64.shape[1]
    out = torch.empty(r, m, dtype=torch.float64, device=x64.device)
    step = max(1, budget // max(1, m * d))
    for s in range(0, r, step):
        e = min(r, s + step)
        out[s:e] = (x64[rows[s:e]].unsqueeze(1) - x64[cols[s:e]]).pow(2).sum(-1)
    return out


def connectivity(x, k, self_loop=True, search="exact", seed=0):
    """AdaGAE's connectivity distribution ``P`` (CSR, rows sum to 1) from features/embedding ``x``.

    ``k`` neighbours besides the point itself; with ``self_loop=True`` (the paper) each row holds
    the point itself plus its ``k`` nearest other points (``k + 1`` entries, the self weight the
    largest of the row), else exactly the ``k`` nearest other points (:func:`dglclust.ops.adagae_graph`).
    Requires ``1 <= k <= n - 2`` with a self-loop (the ``(k+1)``-th other point sets the threshold),
    ``1 <= k <= n - 1`` without. ``x`` is detached; returns int64 ``indptr``, ``indices`` (sorted
    within rows) and ``values`` in float32.

    ``search="approximate"`` takes the ``k + 1`` candidates from
    :func:`dglclust.graph.approximate_knn` (faiss IVF, ``O(n (sqrt(n) + 4096) d)`` instead of ``O(n^2 d)``,
    ``seed`` seeds its cells) and weights them with exact float64 distances as the exact search
    does; a true neighbour in an unprobed cell is replaced by the next candidate.
    """
    x = x.detach()
    n = x.shape[0]
    k = int(k)
    if search not in ("exact", "approximate"):
        raise ValueError(f"search must be 'exact' or 'approximate', got {search!r}")
    if search == "exact" and not self_loop:
        adagae_graph, _ = _ops_graph()
        indptr, indices, values = adagae_graph(x, k)
        return indptr, indices, values.float()
    limit = n - 2 if self_loop else n - 1
    if not 1 <= k <= limit:
        raise ValueError(f"AdaGAE graph: k (neighbours besides the point itself) must satisfy "
                         f"1 <= k <= n - {n - limit} = {limit}, got k = {k}; lower k_max / k0 or use "
                         "more points")
    wanted = k + 1 if self_loop else min(k + 1, n - 1)
    if search == "exact":  # the op's top-(k+1) other points (exact float64 order, ties by index)
        adagae_graph, _ = _ops_graph()
        cand = adagae_graph(x, wanted)[1].view(n, wanted)
    else:
        from ..graph.ann import approximate_knn

        cand = torch.sort(approximate_knn(x, wanted, seed=seed), dim=1).values.to(x.device)
    x64 = x.to(torch.float64)
    rows = torch.arange(n, device=x.device)
    e = _exact_sqdist(x64, rows, cand)
    e, perm = torch.sort(e, dim=1, stable=True)  # cand ascending by index: ties stay index-ordered
    cand = torch.gather(cand, 1, perm)
    t = e[:, [min(k, wanted - 1)]]  # (k+1)-th nearest other point: the threshold
    if self_loop:  # the point itself (distance 0), then k neighbours
        gaps, idx = torch.cat([t, t - e[:, :k]], dim=1), torch.cat([rows.unsqueeze(1), cand[:, :k]], 1)
    else:
        gaps, idx = t - e[:, :k], cand[:, :k]
    denom = gaps.sum(1, keepdim=True)
    w = torch.where(denom > 0, gaps / denom.clamp_min(torch.finfo(torch.float64).tiny),
                    torch.full_like(gaps, 1.0 / gaps.shape[1]))
    idx, order = torch.sort(idx, dim=1)
    w = torch.gather(w, 1, order)
    per_row = idx.shape[1]
    indptr = torch.arange(0, n * per_row + 1, per_row, dtype=torch.int64, device=x.device)
    return indptr, idx.reshape(-1).contiguous(), w.reshape(-1).float()


def given_connectivity(graph, self_loop=True, device=None):
    """``P = D^-1 (A + I)`` (``D^-1 A`` without ``self_loop``; isolated nodes keep a self-loop) of a
    DGLGraph's adjacency: the starting graph of ``init_graph="given"``."""
    from ..ops.spmm import graph_csr

    indptr, indices, _ = graph_csr(graph, device)
    n = indptr.numel() - 1
    indptr, indices = indptr.to(torch.int64), indices.to(torch.int64)
    rows = torch.repeat_interleave(torch.arange(n, device=indptr.device), indptr[1:] - indptr[:-1])
    deg = indptr[1:] - indptr[:-1]
    keep = rows != indices
    rows, cols = rows[keep], indices[keep]
    loops = torch.arange(n, device=indptr.device)
    if not self_loop:
        loops = loops[torch.bincount(rows, minlength=n) == 0]
    rows = torch.cat([rows, loops])
    cols = torch.cat([cols, loops])
    key, perm = torch.sort(rows * n + cols)
    rows, cols = rows[perm], cols[perm]
    deg = torch.bincount(rows, minlength=n)
    vals = 1.0 / deg[rows].to(torch.float32)
    new_ptr = torch.zeros(n + 1, dtype=torch.int64, device=indptr.device)
    new_ptr[1:] = torch.cumsum(deg, 0)
    return new_ptr, cols, vals


def connectivity_dense(x, k, self_loop=True):
    """Dense ``n x n`` reference of :func:`connectivity` (tests, small n only)."""
    x64 = x.detach().to(torch.float64)
    n = x64.shape[0]
    d = torch.cdist(x64, x64).pow(2)
    d.fill_diagonal_(float("inf"))
    e, idx = torch.sort(d, dim=1, stable=True)
    t = e[:, k:k + 1]
    p = torch.zeros(n, n, dtype=torch.float64)
    if self_loop:
        gaps = torch.cat([t, t - e[:, :k]], 1)
        cols = torch.cat([torch.arange(n).unsqueeze(1), idx[:, :k]], 1)
    else:
        gaps, cols = t - e[:, :k], idx[:, :k]
    p.scatter_(1, cols, gaps / gaps.sum(1, keepdim=True))
    return p


def resolve_k_max(k_max, n, n_clusters):
    """``k_max`` as an int: ``"n/c"`` -> ``floor(n / c)``, ``"n/2c"`` -> ``floor(n / (2 c))``, or an
    int (the paper searches the two fractions)."""
    if isinstance(k_max, str):
        key = k_max.replace(" ", "").lower()
        if key == "n/c":
            return n // n_clusters
        if key in ("n/2c", "n/(2c)"):
            return n // (2 * n_clusters)
        raise ValueError(f"k_max must be 'n/c', 'n/2c' or a positive int, got {k_max!r}")
    if isinstance(k_max, bool) or not isinstance(k_max, (int,)) and not hasattr(k_max, "__index__"):
        raise ValueError(f"k_max must be 'n/c', 'n/2c' or a positive int, got {k_max!r}")
    return int(k_max)


def neighbor_schedule(k0, k_max, n_updates, k_step=None):
    """Sparsity of each graph, ``[k_0, ..., k_L]``: graph ``i < L`` is trained on, graph ``L`` (built
    from the final embedding) is clustered.

    * ``k_step=None`` (the paper, Sec. 3.3): ``L = n_updates`` and
      ``k_i = k0 + floor(i (k_max - k0) / n_updates)``, so ``k_L = k_max``.
    * ``k_step=s`` (the official code's ``inc_neighbors``): ``k_i = k0 + i s`` while ``k_i <= k_max``,
      at most ``n_updates`` rounds and at least one (``[k0, k0]`` when ``k0 + s > k_max``).
    """
    k0, k_max, n_updates = int(k0), int(k_max), int(n_updates)
    if n_updates < 1:
        raise ValueError(f"n_updates must be at least 1, got {n_updates}")
    if k0 < 1:
        raise ValueError(f"k0 (initial neighbours) must be at least 1, got {k0}")
    if k_max < k0:
        raise ValueError(f"k_max = {k_max} is below k0 = {k0}; the sparsity only grows. Lower k0 or "
                         "raise k_max (e.g. 'n/c')")
    if k_step is None:
        t = (k_max - k0) / n_updates
        return [k0 + int(math.floor(i * t + 1e-9)) for i in range(n_updates)] + [k_max]
    if isinstance(k_step, bool) or int(k_step) != k_step or int(k_step) < 1:
        raise ValueError(f"k_step must be None (paper: (k_max - k0) / n_updates) or a positive int, "
                         f"got {k_step!r}")
    ks = [k0]
    while len(ks) <= n_updates and ks[-1] + int(k_step) <= k_max:
        ks.append(ks[-1] + int(k_step))
    return ks if len(ks) > 1 else [k0, k0]


# --------------------------------------------------------------------------------------------------
# encoder
# --------------------------------------------------------------------------------------------------
def propagate(csr, x, symmetric=True):
    """:math:`\\hat A x = D^{-1/2} W D^{-1/2} x` for ``csr = (indptr, indices, w)`` (no identity)."""
    indptr, indices, w = csr
    return normalized_spmm(indptr, indices, x, edge_weight=w, add_self_loops=False, norm="sym",
                           symmetric=True if symmetric else None)


class CSRGCNLayer(GCNLayer):
    r""":class:`dglclust.nn.GCNLayer` on a weighted CSR graph: ``act(\hat A H \Theta)`` with
    :math:`\hat A = D^{-1/2} W D^{-1/2}` (the weights carry AdaGAE's adaptive self-loops, so no
    identity is added). ``forward(csr, h, propagated=False)``; ``propagated=True`` means ``h`` is
    already ``\hat A H``."""

    def __init__(self, in_feats, out_feats, activation=None):
        super().__init__(in_feats, out_feats, norm="sym", activation=activation, bias=False,
                         add_self_loops=False)

    def forward(self, csr, feat, propagated=False):
        if feat.shape[-1] != self.in_feats:
            raise ValueError(f"CSRGCNLayer expects {self.in_feats} input features, got {feat.shape[-1]}")
        if propagated:
            h = feat @ self.weight
        elif self.in_feats > self.out_feats:
            h = propagate(csr, feat @ self.weight)
        else:
            h = propagate(csr, feat) @ self.weight
        return self.activation(h) if self.activation is not None else h


class AdaGAEModule(nn.Module):
    """AdaGAE's encoder: GCN layers ``in -> dims[0] -> ... -> dims[-1]``, ReLU between layers, the
    last linear. ``forward(csr, x, ax=None)`` returns ``Z``; pass ``ax = \\hat A x`` (constant while
    the graph is fixed) to skip the first propagation."""

    def __init__(self, in_dim, dims=(256, 64)):
        super().__init__()
        dims = [int(in_dim), *[int(d) for d in dims]]
        if len(dims) < 2 or min(dims) < 1:
            raise ValueError(f"hidden dims must be positive ints, got {dims[1:]}")
        self.layers = nn.ModuleList(
            CSRGCNLayer(a, b, activation=torch.relu if i < len(dims) - 2 else None)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])))

    def forward(self, csr, x, ax=None):
        h = self.layers[0](csr, x if ax is None else ax, propagated=ax is not None)
        for layer in self.layers[1:]:
            h = layer(csr, h)
        return h


# --------------------------------------------------------------------------------------------------
# loss
# --------------------------------------------------------------------------------------------------
def _tile_rows(n_cols, tile_elements):
    return max(1, min(int(tile_elements) // max(1, n_cols), 1 << 30))


def _exp_floor(dtype):
    """Smallest exponent used: ``exp`` below it would be subnormal (about 1e-38 in fp32), which
    slows x86 arithmetic by ~10x; such terms are < 1e-34 of the self term ``exp(0) = 1``."""
    return -80.0 if dtype in (torch.float32, torch.float16, torch.bfloat16) else -700.0


class _TiledLSE(torch.autograd.Function):
    """``lse_i = log sum_j exp(-||a_i - b_j||^2)`` in row tiles; the backward recomputes each tile.
    ``same=True`` means ``b is a`` (the diagonal distance is set to exactly 0). ``b_index[j]`` /
    ``a_index[i]``: the node of column ``j`` / row ``i`` (default ``i``); a column whose node is
    the row's own node is excluded."""

    @staticmethod
    def _tile(ac, a_sq, bc, neg_b_sq, s, e, same, b_index, a_index=None):
        """``-||a_i - b_j||^2`` (clamped at 0) for rows ``s:e``, in place-friendly passes."""
        nd = torch.addmm(neg_b_sq.unsqueeze(0), ac[s:e], bc.T, alpha=2.0)
        nd.sub_(a_sq[s:e].unsqueeze(1)).clamp_(_exp_floor(nd.dtype), 0.0)
        if same:
            r = torch.arange(e - s, device=nd.device)
            nd[r, r + s] = 0.0
        if b_index is not None:  # column j is row b_index[j] itself: excluded
            rows = torch.arange(s, e, device=nd.device) if a_index is None else a_index[s:e]
            nd.masked_fill_(b_index[None, :] == rows[:, None], float("-inf"))
        return nd

    @staticmethod
    def forward(ctx, a, b, same, tile_elements, b_index=None, a_index=None):
        shift = b.detach().mean(0, keepdim=True)  # distances are translation invariant
        ac, bc = a.detach() - shift, b.detach() - shift
        a_sq, neg_b_sq = ac.pow(2).sum(1), bc.pow(2).sum(1).neg_()
        rows = _tile_rows(bc.shape[0], tile_elements)
        lse = torch.empty(ac.shape[0], dtype=ac.dtype, device=ac.device)
        for s in range(0, ac.shape[0], rows):
            e = min(ac.shape[0], s + rows)
            nd = _TiledLSE._tile(ac, a_sq, bc, neg_b_sq, s, e, same, b_index, a_index)
            lse[s:e] = torch.logsumexp(nd, dim=1)
        ctx.save_for_backward(ac, bc, a_sq, neg_b_sq, lse)
        ctx.same, ctx.rows, ctx.b_index, ctx.a_index = same, rows, b_index, a_index
        return lse

    @staticmethod
    def backward(ctx, grad):
        ac, bc, a_sq, neg_b_sq, lse = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ga = torch.zeros_like(ac) if need_a else None
        gb = torch.zeros_like(bc) if need_b else None
        grad = grad.to(ac.dtype)
        for s in range(0, ac.shape[0], ctx.rows):
            e = min(ac.shape[0], s + ctx.rows)
            nd = _TiledLSE._tile(ac, a_sq, bc, neg_b_sq, s, e, ctx.same, ctx.b_index, ctx.a_index)
            # G_ij = g_i q_ij, q_ij = exp(-d_ij - lse_i); dlse_i/da_i = -2 sum_j q_ij (a_i - b_j)
            g = nd.sub_(lse[s:e, None]).clamp_min_(_exp_floor(nd.dtype)).exp_().mul_(grad[s:e, None])
            if ctx.b_index is not None:
                g = torch.nan_to_num_(g, nan=0.0)  # rows whose columns are all excluded
            if need_a:
                ga[s:e] = -2.0 * (g.sum(1, keepdim=True) * ac[s:e] - g @ bc)
            if need_b:
                gb.add_(-2.0 * (g.sum(0)[:, None] * bc - g.T @ ac[s:e]))
        return ga, gb, None, None, None, None


def pairwise_logsumexp(z, tile_elements=TILE_ELEMENTS, sample=None, generator=None, rows=None):
    """Per-row ``log sum_j exp(-||z_i - z_j||^2)`` over all ``j`` (including ``i``), differentiable,
    memory ``O(n * tile)``. ``sample=m`` returns the sampled approximation
    ``log(1 + (n-1)/m sum_{s in S} exp(-d_is))`` with ``m`` uniform indices ``S`` (``generator``),
    for the rows ``rows`` (an index tensor; default all)."""
    if z.dim() != 2:
        raise ValueError(f"z must be 2-D (n x d), got shape {tuple(z.shape)}")
    if sample is None:
        if rows is not None:
            raise ValueError("rows needs the sampled normalizer (sample=m)")
        return _TiledLSE.apply(z, z, True, tile_elements)
    n, m = z.shape[0], int(sample)
    idx = torch.randint(0, n, (m,), generator=generator, device="cpu").to(z.device)
    # exp(-d_ii) = 1 exactly; sum_{j != i} exp(-d_ij) ~ n/m sum over the samples other than i
    a = z if rows is None else z[rows]
    lse_s = _TiledLSE.apply(a, z[idx], False, tile_elements, idx, rows)
    return torch.logaddexp(torch.zeros_like(lse_s), lse_s + math.log(n / m))


def _spmm_none(csr, z, symmetric):
    indptr, indices, w = csr
    return normalized_spmm(indptr, indices, z, edge_weight=w, add_self_loops=False, norm="none",
                           symmetric=True if symmetric else None)


def _weighted_sqdist_sum(csr, z, symmetric):
    """``sum_{(i,j) in E} w_ij ||z_i - z_j||^2`` from the sparse entries only (via ``W z``)."""
    indptr, indices, w = csr
    w = w.to(z.dtype)
    csr = (indptr, indices, w)
    n = z.shape[0]
    row_sum = torch.zeros(n, dtype=z.dtype, device=z.device).index_add_(
        0, torch.repeat_interleave(torch.arange(n, device=z.device), indptr[1:] - indptr[:-1]), w)
    col_sum = row_sum if symmetric else torch.zeros(n, dtype=z.dtype, device=z.device).index_add_(
        0, indices, w)
    sq = z.pow(2).sum(1)
    wz = _spmm_none(csr, z, symmetric)
    return ((row_sum + col_sum) * sq).sum(dtype=torch.float64) - 2.0 * (z * wz).sum(dtype=torch.float64), \
        row_sum


def adagae_loss(z, p, w, lam, tile_elements=TILE_ELEMENTS, sample=None, generator=None,
                sample_rows=None):
    """AdaGAE's objective (see the module docstring), exact and without an ``n x n`` matrix.

    Args:
        z: ``(n, d)`` embedding.
        p: ``P`` as ``(indptr, indices, values)`` (rows sum to 1; the reconstruction target).
        w: ``W = (P + P^T) / 2`` as ``(indptr, indices, values)`` (symmetric).
        lam: weight ``lambda`` of ``tr(Z^T L_W Z)``.
        tile_elements: elements of one distance tile of the normalizer.
        sample: ``None`` (exact normalizer) or the number of uniform samples (approximation).
        sample_rows: with ``sample``, the normalizer term ``sum_i r_i LSE_i`` is estimated from
            this many rows drawn uniformly with replacement (scaled by ``n / sample_rows``:
            unbiased for the sampled ``LSE``); ``None``: all rows. The sparse terms stay exact.
            Without ``sample`` it raises (:func:`pairwise_logsumexp` needs the sampled keys).

    Returns:
        ``(loss, parts)``: the scalar ``[CE + lam tr] / n`` and a dict of detached floats ``ce``
        (per node), ``tr`` (per node), ``lse`` (mean normalizer).
    """
    n = z.shape[0]
    shift = z.detach().mean(0, keepdim=True)
    zc = z - shift  # translation invariant; smaller magnitudes for the sparse expansions
    pd, r = _weighted_sqdist_sum(p, zc, symmetric=False)
    rows = None if sample_rows is None else \
        torch.randint(0, n, (int(sample_rows),), generator=generator).to(z.device)
    lse = pairwise_logsumexp(zc, tile_elements, sample, generator, rows=rows)
    ce = pd + (r * lse).sum(dtype=torch.float64) if rows is None else \
        pd + (r[rows] * lse).sum(dtype=torch.float64) * (n / rows.numel())
    tr2, _ = _weighted_sqdist_sum(w, zc, symmetric=True)  # = 2 tr(Z^T L_W Z)
    tr = 0.5 * tr2
    loss = (ce + float(lam) * tr) / n
    parts = {"ce": float(ce.detach()) / n, "tr": float(tr.detach()) / n,
             "lse": float(lse.detach().mean())}
    return loss.to(z.dtype), parts


def adagae_loss_dense(z, p_dense, lam):
    """Dense reference of :func:`adagae_loss` (``p_dense`` an ``n x n`` tensor): tests only."""
    n = z.shape[0]
    d = torch.cdist(z, z).pow(2)
    logq = torch.log_softmax(-d, dim=1)
    ce = -(p_dense * logq).sum()
    w = (p_dense + p_dense.T) / 2
    lap = torch.diag(w.sum(1)) - w
    tr = torch.trace(z.T @ lap @ z)
    return (ce + lam * tr) / n
