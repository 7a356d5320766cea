"""Student's-t soft assignment (DEC) and its sharpened target distribution."""
from __future__ import annotations

import torch

__all__ = ["student_t", "target_distribution"]


def student_t(z, centers, alpha=1.0):
    """q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2), normalized over j."""
    if z.dim() != 2 or centers.dim() != 2 or z.shape[1] != centers.shape[1]:
        raise ValueError(f"student_t needs z (n x d) and centers (k x d) with the same d, "
                         f"got {tuple(z.shape)} and {tuple(centers.shape)}")
    d2 = (z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(-1)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(1, keepdim=True)


def target_distribution(q):
    """p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij. Not differentiated."""
    q = q.detach()
    w = q.pow(2) / q.sum(0)
    return w / w.sum(1, keepdim=True)
