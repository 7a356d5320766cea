r"""Graph reconstruction losses of inner-product decoders, exact and without an n x n matrix.

For an embedding ``Z`` (n x d) the decoders score every pair by ``s_ij = z_i . z_j``. Dense
implementations materialize ``S = Z Z^T``; here every loss is split into

* a sum over **all pairs** of a function of ``s_ij`` -- computed in square tiles over one triangle
  (``S`` is symmetric) by a custom autograd function that accumulates the gradient in the same
  pass (memory O(tile^2 + n d)), or in closed form
  when the function is ``s^2`` (``sum_ij s_ij^2 = ||Z^T Z||_F^2``);
* a correction over the **stored edges** of the (sparse) target adjacency only.

So the losses are exact (equal to the dense formulas up to float rounding) at any n. On the CPU
the all-pairs sums of one embedding (``sigmoid_sq``, ``softplus``) run in the compiled kernel
``gram_pairwise_sum`` (:mod:`dglclust.ops.gram`; the block products here are its fallback). The
all-pairs sum costs O(n^2 d) time; above a few 10^5 nodes :func:`gram_bce` can replace it by an
unbiased estimate from ``pairs`` uniformly sampled pairs (:func:`sampled_pairwise_sum`, O(pairs d)),
keeping the edge terms exact: the mini-batch path of GAE / VGAE (negative sampling); :func:`gram_mse`
takes ``pairs`` the same way (DFCN's large-graph mode).
"""
from __future__ import annotations

import torch

from ..ops.gram import gram_pairwise_kernel, has_gram_pairwise_kernel

__all__ = ["pairwise_sum", "sampled_pairwise_sum", "gram_mse", "gram_bce", "gram_factor",
           "target_coo"]

_KINDS = ("sigmoid_sq", "softplus", "square")


def _h(s, kind):
    if kind == "sigmoid_sq":
        return torch.sigmoid(s).square()
    if kind == "softplus":
        return torch.nn.functional.softplus(s)
    return s.square()


def _dh(s, kind):
    if kind == "sigmoid_sq":
        sg = torch.sigmoid(s)
        return 2.0 * sg * sg * (1.0 - sg)
    if kind == "softplus":
        return torch.sigmoid(s)
    return 2.0 * s


def _triangle_blocks(n, tile):
    """``(i, j, weight)`` of the square blocks ``I <= J`` of a symmetric ``n x n`` matrix, with
    ``weight`` 2 for off-diagonal blocks (they stand for their mirror image too)."""
    for i in range(0, n, tile):
        for j in range(i, n, tile):
            yield i, j, 1.0 if i == j else 2.0


def _add_block_grad(g, d, zi, zj, i, j, tile):
    """Scatter the symmetric block ``d`` (rows ``I``, columns ``J``) of ``dL/dS`` into ``g``:
    ``g_I += d Z_J`` and, off the diagonal, ``g_J += d^T Z_I``."""
    if d.dtype == g.dtype:
        g[i:i + tile].addmm_(d, zj)
        if i != j:
            g[j:j + tile].addmm_(d.T, zi)
    else:
        g[i:i + tile] += d @ zj
        if i != j:
            g[j:j + tile] += d.T @ zi


class _PairwiseSum(torch.autograd.Function):
    """``sum_ij h(z_i . z_j)`` by square blocks ``(I, J)``, ``I <= J`` only (``S`` is symmetric:
    off-diagonal blocks count twice), memory O(tile^2 + n d). When ``z`` requires a gradient it is
    accumulated in the same pass (a loss is differentiated once), so each block product is formed
    once: about half the work of a forward pass over all row tiles plus a recomputing backward.
    On the CPU the compiled kernel ``gram_pairwise_sum`` does the same over one triangle with h and
    h' fused into one vectorized pass per cache-sized tile (5x these block products at 100,000 x 16,
    bench/results_gram_pairwise.md)."""

    @staticmethod
    def forward(ctx, z, kind, tile):
        n = z.shape[0]
        need = bool(ctx.needs_input_grad[0])
        if has_gram_pairwise_kernel(z):
            total, g = gram_pairwise_kernel(z, kind, need)
            ctx.g = g if need else None  # the kernel's gradient: 2 sum_j h'(s_ij) z_j
            return total.to(z.dtype)
        total = z.new_zeros((), dtype=torch.float64)
        g = torch.zeros_like(z) if need else None
        for i, j, weight in _triangle_blocks(n, tile):
            zi, zj = z[i:i + tile], z[j:j + tile]
            s = zi @ zj.T
            total += weight * _h(s, kind).sum(dtype=torch.float64)
            if need:
                # d/dz_i sum_ij h(z_i.z_j) = 2 sum_j h'(s_ij) z_j  (s symmetric)
                _add_block_grad(g, _dh(s, kind), zi, zj, i, j, tile)
        ctx.g = g.mul_(2.0) if need else None  # the same gradient as the kernel's (x2 is exact)
        return total.to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        return ctx.g * grad, None, None


def pairwise_sum(z: torch.Tensor, kind: str = "sigmoid_sq", tile: int = 2048) -> torch.Tensor:
    r"""``sum_{i,j} h(z_i . z_j)`` over all ordered pairs (diagonal included), differentiable,
    with ``h`` = ``sigmoid(s)^2`` | ``softplus(s)`` | ``s^2``; O(n * tile) memory."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if z.dim() != 2:
        raise ValueError(f"z must be 2-D (n x d), got shape {tuple(z.shape)}")
    if kind == "square":
        g = z.T @ z
        return (g * g).sum()
    return _PairwiseSum.apply(z, kind, int(tile))


def gram_factor(m: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r"""A narrow stand-in for ``Z = M W`` in inner-product decoders: ``Y = M R^T`` with
    ``W^T = Q R`` (reduced QR; ``M``: n x r, ``W``: r x d, r <= d), so that ``Y Y^T = Z Z^T``
    (``Z Z^T = M W W^T M^T = M R^T Q^T Q R M^T``) and every pair score ``z_i . z_j = y_i . y_j``.
    The all-pairs losses then cost O(n^2 r) instead of O(n^2 d): CaEGCN's adjacency loss on ACM
    reads 500-wide rows instead of 1,870-wide ones. fp32, differentiable (through QR)."""
    if m.dim() != 2 or w.dim() != 2 or m.shape[1] != w.shape[0]:
        raise ValueError(f"M must be (n, r) and W (r, d), got {tuple(m.shape)} and {tuple(w.shape)}")
    if w.shape[0] > w.shape[1]:
        raise ValueError(f"W must not be taller than wide (r <= d) for a narrower factor, got {tuple(w.shape)}")
    with torch.autocast(device_type=m.device.type, enabled=False):
        dt = torch.promote_types(m.dtype, torch.float32)
        _, r = torch.linalg.qr(w.to(dt).T)
        return m.to(dt) @ r.T


def target_coo(graph, add_self_loops: bool = True, norm: str = "none", device=None):
    """``(rows, cols, values)`` of the reconstruction target: ``A`` (+ ``I``), optionally
    normalized (``"sym"``/``"row"``, as in :func:`dglclust.ops.normalized_spmm`)."""
    from ..ops._reference import edge_norm_values
    from ..ops.spmm import graph_csr

    indptr, indices, _ = graph_csr(graph, device)
    n = indptr.numel() - 1
    rows, cols, vals = edge_norm_values(indptr, indices, n, None, add_self_loops, norm, torch.float32)
    return rows, cols, vals


_EDGE_CHUNK = 1 << 22  # numbers per gathered chunk of the edge terms


class _EdgeDot(torch.autograd.Function):
    """``s_e = z_rows[e] . z_cols[e]`` for every stored edge ``e``, gathered in chunks of about
    2^22 numbers: nothing of size ``E x d`` is kept for the backward pass, which recomputes the
    gathers chunk by chunk (``d z_r += g_e z_c``, ``d z_c += g_e z_r``). The plain expression
    ``(z[rows] * z[cols]).sum(-1)`` saves two ``E x d`` gathers and allocates two more gradients:
    ~1.8 GB at 100,000 nodes, 10 neighbours, d = 100 (the largest share of CaEGCN's peak)."""

    @staticmethod
    def forward(ctx, z, rows, cols):
        chunk = max(1, _EDGE_CHUNK // max(1, z.shape[1]))
        out = torch.cat([torch.linalg.vecdot(z[rows[c:c + chunk]], z[cols[c:c + chunk]])
                         for c in range(0, rows.numel(), chunk)]) if rows.numel() else z.new_zeros(0)
        ctx.save_for_backward(z, rows, cols)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx, grad):
        z, rows, cols = ctx.saved_tensors
        gz = torch.zeros_like(z)
        for c in range(0, rows.numel(), ctx.chunk):
            r, k, g = rows[c:c + ctx.chunk], cols[c:c + ctx.chunk], grad[c:c + ctx.chunk, None]
            gz.index_add_(0, r, g * z[k])
            gz.index_add_(0, k, g * z[r])
        return gz, None, None


def _edge_scores(z, rows, cols):
    return _EdgeDot.apply(z, rows, cols)


class _SigmoidSumSquare(torch.autograd.Function):
    """``sum_ij (sum_k sigmoid(z^k_i . z^k_j))^2`` over several embeddings, by square blocks
    ``(I, J)`` with ``I <= J`` only (the matrix is symmetric; off-diagonal blocks count twice), memory
    O(tile^2 + n d). The gradient is accumulated in the same pass when an input requires it (a loss
    is differentiated once, so this avoids recomputing every block in the backward pass).
    ``mm_dtype`` (e.g. bf16): dtype of the block products; sigmoids and sums stay in fp32."""

    @staticmethod
    def forward(ctx, tile, mm_dtype, *zs):
        n = zs[0].shape[0]
        need = any(z.requires_grad for z in zs)
        total = zs[0].new_zeros((), dtype=torch.float64)
        gs = [torch.zeros_like(z) for z in zs] if need else None
        zm = [z.to(mm_dtype) for z in zs] if mm_dtype is not None else zs
        for i, j, weight in _triangle_blocks(n, tile):
            zi = [z[i:i + tile] for z in zm]
            sig = [torch.sigmoid_((a @ z[j:j + tile].T).to(zs[0].dtype)) for a, z in zip(zi, zm)]
            f = sig[0] + sig[1] if len(sig) > 1 else sig[0].clone()
            for sg in sig[2:]:
                f += sg
            total += weight * torch.dot(f.view(-1), f.view(-1)).double()
            if not need:
                continue
            for a, z, g, sg in zip(zi, zm, gs, sig):
                # d/dz_i sum_ij F_ij^2 = 4 sum_j F_ij sigmoid'(s_ij) z_j  (F, s symmetric)
                _add_block_grad(g, sg.mul_(1.0 - sg).mul_(f).to(z.dtype), a, z[j:j + tile], i, j, tile)
        ctx.gs = gs
        return total.to(zs[0].dtype)

    @staticmethod
    def backward(ctx, grad):
        return (None, None, *[g * (4.0 * grad) for g in ctx.gs])


def gram_mse(z, target, sigmoid: bool = True, reduction: str = "mean", tile: int = 2048,
             mm_dtype: torch.dtype | None = None, pairs: int | None = None,
             generator: torch.Generator | None = None):
    r"""``|| A - f(Z Z^T) ||_F^2`` (sum, or mean over the n^2 entries) with ``f`` = sigmoid
    (CaEGCN) or identity, ``A`` given sparse as ``target = (rows, cols, values)`` with unique
    entries. Expands to ``sum f(s)^2 - 2 sum_E a f(s) + sum_E a^2``.

    ``z`` may also be a sequence of embeddings ``(Z_1, Z_2, ...)`` (same n): the decoder is then the
    sum ``sum_k f(Z_k Z_k^T)`` (DFCN's IGAE reconstructs ``A`` by
    ``sigmoid(Z Z^T) + sigmoid(Z_hat Z_hat^T)``). That path works on square ``tile x tile`` blocks
    and can run its block products in ``mm_dtype`` (e.g. ``torch.bfloat16``; sums stay fp32).

    ``pairs``: estimate the all-pairs term ``sum f(s)^2`` from that many uniformly sampled ordered
    pairs (indices from ``generator``; the edge terms stay exact): O((E + pairs) d) instead of
    O(n^2 d), an unbiased estimate of the loss and its gradient."""
    rows, cols, vals = target
    if isinstance(z, (list, tuple)) and (
            len({t.shape[0] for t in z}) != 1 or any(t.dim() != 2 for t in z)):
        raise ValueError(f"all embeddings must be 2-D with the same number of rows, got "
                         f"{[tuple(t.shape) for t in z]}")
    if pairs is not None:
        zs = list(z) if isinstance(z, (list, tuple)) else [z]
        n = zs[0].shape[0]
        f = torch.sigmoid if sigmoid else (lambda s: s)
        ij = _draw_pairs(n, pairs, generator, zs[0].device)
        every = sum(f(_edge_scores(t, ij[0], ij[1])) for t in zs).square().mean() * (float(n) * n)
        f_e = sum(f(_edge_scores(t, rows, cols)) for t in zs)
        total = every - 2.0 * (vals * f_e).sum() + vals.square().sum()
        return _reduce(total, n, reduction)
    if isinstance(z, (list, tuple)):
        if len(z) == 1:
            z = z[0]
        elif not sigmoid:  # sum_k Z_k Z_k^T = [Z_1 | Z_2 | ...] [Z_1 | Z_2 | ...]^T
            z = torch.cat(list(z), dim=1)
    if isinstance(z, (list, tuple)):
        n = z[0].shape[0]
        f_e = sum(torch.sigmoid(_edge_scores(t, rows, cols)) for t in z)
        total = _SigmoidSumSquare.apply(int(tile), mm_dtype, *z) - 2.0 * (vals * f_e).sum() \
            + vals.square().sum()
    else:
        n = z.shape[0]
        s_e = _edge_scores(z, rows, cols)
        f_e = torch.sigmoid(s_e) if sigmoid else s_e
        total = pairwise_sum(z, "sigmoid_sq" if sigmoid else "square", tile) \
            - 2.0 * (vals * f_e).sum() + vals.square().sum()
    return _reduce(total, n, reduction)


def _reduce(total, n, reduction):
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / (n * n)
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def sampled_pairwise_sum(z: torch.Tensor, kind: str, pairs: int,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Unbiased estimate of ``sum_ij h(z_i . z_j)`` over all ``n^2`` ordered pairs from ``pairs``
    pairs ``(i, j)`` drawn uniformly with replacement: ``n^2 * mean h(s)``. Its relative standard
    error is about ``std(h) / (mean(h) sqrt(pairs))``. The indices come from ``generator`` (CPU)."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    n = z.shape[0]
    ij = _draw_pairs(n, pairs, generator, z.device)
    return _h(_edge_scores(z, ij[0], ij[1]), kind).mean() * (float(n) * n)


def _draw_pairs(n, pairs, generator, device):
    """``pairs`` ordered pairs ``(i, j)`` drawn uniformly with replacement, as a (2, pairs) tensor
    (indices from ``generator`` on the CPU, then moved to ``device``)."""
    if int(pairs) < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    return torch.randint(0, n, (2, int(pairs)), generator=generator).to(device)


def gram_bce(z, target, pos_weight: float = 1.0, reduction: str = "mean", tile: int = 2048,
             pairs: int | None = None, generator: torch.Generator | None = None):
    r"""Binary cross-entropy with logits ``s_ij = z_i . z_j`` against a 0/1 adjacency given by its
    positive entries ``target = (rows, cols, _)`` (GAE/VGAE), positives weighted by ``pos_weight``:
    ``sum_all softplus(s) + sum_E [w softplus(-s) - softplus(s)]`` (mean over n^2 by default).

    ``pairs``: estimate the all-pairs term from that many uniformly sampled pairs
    (:func:`sampled_pairwise_sum`; the edge terms stay exact), so an epoch costs O((E + pairs) d)
    instead of O(n^2 d); the loss and its gradient are then unbiased estimates."""
    rows, cols, _ = target
    n = z.shape[0]
    s_e = _edge_scores(z, rows, cols)
    sp = torch.nn.functional.softplus
    every = pairwise_sum(z, "softplus", tile) if pairs is None else \
        sampled_pairwise_sum(z, "softplus", int(pairs), generator)
    total = every + (pos_weight * sp(-s_e) - sp(s_e)).sum()
    return _reduce(total, n, reduction)
