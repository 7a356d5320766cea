"""All-pairs sums of inner-product decoders: ``sum_{i,j} h(z_i . z_j)`` and its gradient.

GAE / VGAE (softplus: the all-pairs part of the weighted BCE) and CaEGCN (sigmoid^2: the all-pairs
part of ``||A - sigmoid(Z Z^T)||^2``) need this sum over all ``n^2`` pairs. The compiled CPU kernel
``torch.ops.dglclust.gram_pairwise_sum`` computes it with its gradient over one triangle of the
score matrix in 64 x 2048 tiles (``S = Z_I Z_J^T`` by a matrix product, ``h``/``h'`` in vector
lanes while the tile is in cache, ``grad_I += 2 h'(S) Z_J`` and ``grad_J += 2 h'(S)^T Z_I``):
time O(n^2 d / 2), memory O(n d x threads). The total is summed over fixed row blocks in order, so it
does not depend on the thread count; the gradient does, to rounding (per-thread buffers for the
mirrored side, BLAS products). The torch block products of
:func:`dglclust.nn.recon.pairwise_sum` are the reference and the fallback (CUDA, other dtypes,
``DGLCLUST_NO_EXT=1``, and extensions built without AVX2/AVX-512: ``_ext.cpu_simd()``).
"""
from __future__ import annotations

import torch

from . import _ext

__all__ = ["PAIRWISE_KINDS", "gram_pairwise_kernel", "has_gram_pairwise_kernel"]

PAIRWISE_KINDS = {"sigmoid_sq": 0, "softplus": 1}  # kind codes of the kernel


def has_gram_pairwise_kernel(z: torch.Tensor) -> bool:
    """Whether the compiled kernel runs ``z``: float32/float64 on the CPU, with an extension built
    for AVX2 or AVX-512 (its speed rests on vector exp/log; built without them its scalar loop is
    ~5x slower than torch's block products, which then run instead)."""
    return (z.dtype in (torch.float32, torch.float64) and _ext.cpu_simd() != "none"
            and _ext.has_kernel("gram_pairwise_sum", z.device))


def gram_pairwise_kernel(z: torch.Tensor, kind: str, need_grad: bool):
    """``(total, grad)``: ``total = sum_ij h(z_i . z_j)`` (float64 scalar) and, when ``need_grad``,
    ``grad = 2 sum_j h'(z_i . z_j) z_j`` (else an empty tensor); ``kind`` is ``"sigmoid_sq"`` or
    ``"softplus"``. No autograd: :func:`dglclust.nn.recon.pairwise_sum` wraps it."""
    if kind not in PAIRWISE_KINDS:
        raise ValueError(f"kind must be one of {tuple(PAIRWISE_KINDS)}, got {kind!r}")
    return torch.ops.dglclust.gram_pairwise_sum(z.detach(), PAIRWISE_KINDS[kind], bool(need_grad))


def _register():
    if not _ext.extension_loaded() or not _ext.op_defined("gram_pairwise_sum"):
        return

    @torch.library.register_fake("dglclust::gram_pairwise_sum")
    def _(z, kind, need_grad):
        torch._check(z.dim() == 2)
        grad = z.new_empty(z.shape) if need_grad else z.new_empty((0,))
        return z.new_empty((), dtype=torch.float64), grad


_register()
