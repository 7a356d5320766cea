"""Student's-t soft assignment (DEC) and its sharpened target distribution.

.. math::

    q_{ij} = \\frac{(1 + \\lVert z_i - \\mu_j \\rVert^2 / \\alpha)^{-(\\alpha+1)/2}}
                  {\\sum_{j'} (1 + \\lVert z_i - \\mu_{j'} \\rVert^2 / \\alpha)^{-(\\alpha+1)/2}},
    \\qquad
    p_{ij} = \\frac{q_{ij}^2 / f_j}{\\sum_{j'} q_{ij'}^2 / f_{j'}}, \\quad f_j = \\sum_i q_{ij}.

Both have a pure-torch reference (:func:`student_t_reference`, :func:`target_distribution_reference`)
and fused CPU / CUDA kernels (``torch.ops.dglclust.student_t``, ``student_t_backward``,
``target_distribution``) that compute the ``n x k`` squared distances row by row without the
``n x k x d`` broadcast of the reference. The kernels are used when the extension provides them for
the tensors' device and dtype (float32 / float64); ``DGLCLUST_NO_EXT=1`` forces the references.
The ops are registered with ``torch.library.register_fake`` (so they trace under ``torch.compile``)
and ``student_t`` with ``torch.library.register_autograd`` (gradients for ``z`` and ``centers``;
the first-order backward runs the fused ``student_t_backward`` kernel; when a higher derivative is
requested (``create_graph=True``, e.g. ``torch.autograd.gradgradcheck``) the backward is computed
by :func:`student_t_vjp`, written in differentiable torch ops with O(nk + nd) memory).
"""
from __future__ import annotations

import torch

from . import _ext

__all__ = [
    "student_t",
    "target_distribution",
    "dec_kl_loss",
    "student_t_reference",
    "target_distribution_reference",
    "student_t_vjp",
]

_KERNEL_DTYPES = (torch.float32, torch.float64)


# --------------------------------------------------------------------------------------------------
# references (define the semantics; also the fallback)
# --------------------------------------------------------------------------------------------------
def student_t_reference(z, centers, alpha=1.0):
    """Pure-torch :func:`student_t` (broadcasts an ``n x k x d`` difference tensor)."""
    d2 = (z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(-1)
    if alpha == 1.0:
        q = 1.0 / (1.0 + d2)
    else:
        q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(1, keepdim=True)


def student_t_vjp(grad_q, z, centers, q, alpha=1.0):
    """``(dL/dz, dL/dcenters)`` of :func:`student_t` for ``grad_q = dL/dq``, in plain torch ops
    (differentiable again, so the op supports double backward), without the ``n x k x d``
    broadcast: with ``d_ij = ||z_i - mu_j||^2``,
    ``dL/dd_ij = -(alpha + 1) / (2 alpha) * q_ij (g_ij - <g_i, q_i>) / (1 + d_ij / alpha)``,
    ``dL/dz_i = 2 sum_j G_ij (z_i - mu_j)``, ``dL/dmu_j = -2 sum_i G_ij (z_i - mu_j)``."""
    d2 = (z.pow(2).sum(1, keepdim=True) + centers.pow(2).sum(1) - 2.0 * z @ centers.T).clamp_min(0)
    inner = (grad_q * q).sum(1, keepdim=True)
    g = -(alpha + 1.0) / (2.0 * alpha) * q * (grad_q - inner) / (1.0 + d2 / alpha)
    gz = 2.0 * (g.sum(1, keepdim=True) * z - g @ centers)
    gc = -2.0 * (g.T @ z - g.sum(0).unsqueeze(1) * centers)
    return gz, gc


def target_distribution_reference(q):
    """Pure-torch :func:`target_distribution` (no gradient: ``q`` is detached).

    Column sums ``f_j`` are accumulated in float64. A column with ``f_j == 0`` contributes 0 and a
    row whose weights are all 0 stays 0 (both only happen for an invalid ``q``)."""
    q = q.detach()
    f = q.sum(0, dtype=torch.float64)
    inv_f = torch.where(f != 0, 1.0 / torch.where(f != 0, f, torch.ones_like(f)), torch.zeros_like(f))
    w = q.to(torch.float64).pow(2) * inv_f
    s = w.sum(1, keepdim=True)
    inv_s = torch.where(s != 0, 1.0 / torch.where(s != 0, s, torch.ones_like(s)), torch.zeros_like(s))
    return (w * inv_s).to(q.dtype)


# --------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------
def _check(z, centers, alpha):
    if not isinstance(z, torch.Tensor) or not isinstance(centers, torch.Tensor):
        raise TypeError("student_t expects tensors z (n x d) and centers (k x d)")
    if z.dim() != 2 or centers.dim() != 2 or z.shape[1] != centers.shape[1]:
        raise ValueError(f"student_t needs z (n x d) and centers (k x d) with the same d, "
                         f"got {tuple(z.shape)} and {tuple(centers.shape)}")
    if centers.shape[0] < 1:
        raise ValueError("student_t needs at least one center (centers has 0 rows)")
    if not (z.is_floating_point() and centers.is_floating_point()):
        raise TypeError(f"student_t needs floating-point z and centers, got {z.dtype} and {centers.dtype}")
    if z.dtype != centers.dtype:
        raise TypeError(f"student_t: z and centers must have the same dtype, got {z.dtype} and "
                        f"{centers.dtype}; cast one of them (e.g. centers.to(z.dtype))")
    if z.device != centers.device:
        raise ValueError(f"student_t: z is on {z.device} but centers on {centers.device}; move both "
                         "to the same device")
    alpha = float(alpha)
    if not (alpha > 0.0 and alpha < float("inf")):
        raise ValueError(f"student_t: alpha (degrees of freedom) must be a positive finite number, "
                         f"got {alpha}")
    return alpha


@torch.compiler.assume_constant_result
def _kernel_for(op: str, device_type: str) -> bool:
    # constant while tracing, so torch.compile(fullgraph=True) sees no dispatcher query
    return _ext.has_kernel(op, device_type)


def _use_kernel(op, t):
    return t.dtype in _KERNEL_DTYPES and _kernel_for(op, t.device.type)


def student_t(z, centers, alpha=1.0):
    """DEC soft assignment with a Student's-t kernel, normalized per row.

    ``q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2) / sum_j' (...)``.

    Args:
        z: embeddings, ``(n, d)``.
        centers: cluster centers ``mu``, ``(k, d)``, same dtype and device as ``z``.
        alpha: degrees of freedom of the Student's-t kernel (DEC and SDCN use 1).

    Returns:
        ``(n, k)`` tensor whose rows sum to 1. Differentiable in ``z`` and ``centers``.

    Example:
        >>> import torch
        >>> from dglclust.ops import student_t
        >>> q = student_t(torch.zeros(2, 3), torch.tensor([[0.0, 0, 0], [1.0, 0, 0]]))
        >>> q
        tensor([[0.6667, 0.3333],
                [0.6667, 0.3333]])
    """
    alpha = _check(z, centers, alpha)
    if _use_kernel("student_t", z):
        q = torch.ops.dglclust.student_t(z, centers, alpha)
    else:
        q = student_t_reference(z, centers, alpha)
    if not torch.compiler.is_compiling() and q.numel() and not bool(torch.isfinite(q).all()):
        peak = max(float(z.detach().abs().max()), float(centers.detach().abs().max()))
        raise ValueError(f"student_t: the assignments are not finite (inputs up to {peak:.3g} in "
                         f"absolute value, NaN/inf included); squared distances overflow "
                         f"{z.dtype}. Rescale the embedding or the centers")
    return q


def target_distribution(q, power: float = 2.0):
    """DEC's sharpened target ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')``, ``f_j = sum_i q_ij``.

    ``power`` (default 2: DEC's target) sharpens more or less: DEC's formula is applied to
    ``q_ij^(power/2)`` renormalized per row, so ``p_ij`` is proportional to ``q_ij^power / f'_j``
    (``f'_j`` the column sums of that renormalized matrix). A larger power gives a target closer to
    one-hot where ``q`` is nearly uniform (docs/models/sdcn-dec-idec-ae.md, planted partitions).

    The target is a constant of the self-training loss: ``q`` is detached and **no gradient** flows
    into it (DEC, SDCN, DFCN, ... all treat ``P`` as fixed). Column sums are accumulated in float64;
    columns with ``f_j == 0`` contribute 0.

    Example:
        >>> import torch
        >>> from dglclust.ops import target_distribution
        >>> target_distribution(torch.tensor([[0.5, 0.5], [0.9, 0.1]]))
        tensor([[0.3000, 0.7000],
                [0.9720, 0.0280]])
    """
    if not isinstance(q, torch.Tensor) or q.dim() != 2:
        raise ValueError(f"target_distribution needs q of shape (n, k), got "
                         f"{tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__}")
    if not q.is_floating_point():
        raise TypeError(f"target_distribution needs a floating-point q, got {q.dtype}")
    q = q.detach()
    if not torch.compiler.is_compiling() and q.numel() and not bool((q >= 0).all()):  # also NaN
        bad = int((~(q >= 0)).sum())
        raise ValueError(f"target_distribution needs soft assignments q >= 0 (e.g. from "
                         f"student_t or a softmax), got {bad} negative or NaN entries")
    power = float(power)
    if not power > 0 or power == float("inf"):
        raise ValueError(f"target_distribution: power must be a positive finite number, got {power}")
    if power != 2.0:
        w = q.to(torch.float64).pow(power / 2.0)
        q = (w / w.sum(1, keepdim=True).clamp_min(torch.finfo(torch.float64).tiny)).to(q.dtype)
    if _use_kernel("target_distribution", q):
        return torch.ops.dglclust.target_distribution(q)
    return target_distribution_reference(q)


class _DecKL(torch.autograd.Function):
    """sum_ij p_ij log(p_ij / q_ij) / n with the gradient -p / (n q) for q only (p is constant)."""

    @staticmethod
    def forward(ctx, q, p):
        ratio = p / q
        log_ratio = ratio.clamp_min(torch.finfo(ratio.dtype).tiny).log_()  # p = 0 terms -> 0
        loss = torch.dot(p.reshape(-1), log_ratio.reshape(-1)) / q.shape[0]
        ctx.save_for_backward(ratio)
        return loss

    @staticmethod
    def backward(ctx, grad):
        (ratio,) = ctx.saved_tensors
        return ratio * (-grad / ratio.shape[0]), None


def dec_kl_loss(q, p):
    """DEC's self-training loss ``KL(P || Q) = sum_ij p_ij log(p_ij / q_ij) / n``.

    Same value and gradient as ``F.kl_div(q.log(), p, reduction="batchmean")`` with ``p`` a
    constant (as from :func:`target_distribution`), computed in fewer passes: one ``log`` of
    ``p / q`` forward and a single multiply backward (``d loss / d q = -p / (n q)``). No gradient
    flows into ``p``; entries with ``p_ij = 0`` contribute 0.

    Example:
        >>> import torch
        >>> from dglclust.ops import student_t, target_distribution
        >>> from dglclust.ops.student_t import dec_kl_loss
        >>> q = student_t(torch.randn(8, 3), torch.randn(4, 3))
        >>> loss = dec_kl_loss(q, target_distribution(q))
    """
    if q.shape != p.shape or q.dim() != 2:
        raise ValueError(f"dec_kl_loss needs q and p of the same (n, k) shape, got {tuple(q.shape)} and "
                         f"{tuple(p.shape)}")
    return _DecKL.apply(q, p.detach().to(q.dtype))


# --------------------------------------------------------------------------------------------------
# torch.library registrations (only when the compiled ops exist)
# --------------------------------------------------------------------------------------------------
def _register():
    if not _ext.extension_loaded() or not _ext.op_defined("student_t"):
        return

    @torch.library.register_fake("dglclust::student_t")
    def _(z, centers, alpha=1.0):
        torch._check(z.dim() == 2 and centers.dim() == 2 and z.shape[1] == centers.shape[1])
        return z.new_empty((z.shape[0], centers.shape[0]))

    @torch.library.register_fake("dglclust::student_t_backward")
    def _(grad_q, z, centers, q, alpha):
        return torch.empty_like(z), torch.empty_like(centers)

    @torch.library.register_fake("dglclust::target_distribution")
    def _(q):
        return torch.empty_like(q)

    def setup_context(ctx, inputs, output):
        z, centers, alpha = inputs
        ctx.save_for_backward(z, centers, output)
        ctx.alpha = alpha

    def backward(ctx, grad_q):
        z, centers, q = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            grad_z, grad_c = student_t_vjp(grad_q, z, centers, q, ctx.alpha)
        else:
            grad_z, grad_c = torch.ops.dglclust.student_t_backward(grad_q, z, centers, q, ctx.alpha)
        return (grad_z if ctx.needs_input_grad[0] else None,
                grad_c if ctx.needs_input_grad[1] else None,
                None)

    torch.library.register_autograd("dglclust::student_t", backward, setup_context=setup_context)


_register()
