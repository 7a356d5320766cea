"""Principal-component projection of node features, fitted once and reapplied to new nodes.

The estimators' ``input_pca`` hyperparameter uses :func:`fit_pca` and :func:`apply_pca`: the
autoencoder of AE+KMeans, DEC, IDEC, SDCN and AGCN then reads the top principal components of the
features instead of the raw columns. On features whose cluster signal is a small share of the
variance (the planted partitions ``sbm-*``: ~1.7% of it) an autoencoder that reconstructs every
column does not find the few directions that carry the clusters; the top components keep them
(docs/scale.md).

DFCN's ``pca_dim`` (the paper's preprocessing) uses :func:`pca_reduce`, which fits and projects in
float64 in one call, as DFCN always has (its recorded results and pretraining caches depend on it);
on memory-mapped features it takes :func:`fit_pca` and :func:`apply_pca` instead (float32, no copy
of the file).

Cost of :func:`fit_pca`: O(n d^2 + d^3) time, O(d^2) memory: scikit-learn's covariance solver (the
mean, then ``X^T X``: two passes over the rows, no copy, exact) up to
:data:`EXACT_PCA_MAX_FEATURES` columns; above, in memory, scikit-learn's own choice (randomized; it
centres an O(n d) copy), and on memory-mapped features a ``ValueError`` with the estimate.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["fit_pca", "apply_pca", "pca_reduce", "EXACT_PCA_MAX_FEATURES"]

#: :func:`fit_pca` computes the exact components (the d x d covariance) up to this many columns
EXACT_PCA_MAX_FEATURES = 8192


def fit_pca(x: torch.Tensor, n_components: int, *, checked: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (d,), components (n_components, d))`` of the rows of ``x`` (scikit-learn PCA,
    ``random_state=0``: a deterministic preprocessing, as labels are never read). ``checked``:
    ``x`` is known to hold no NaN/inf (the estimators check their input first), so scikit-learn
    skips its own scan, one pass over a memory-mapped file fewer."""
    n, d = x.shape
    if not 1 <= int(n_components) <= min(n, d):
        raise ValueError(f"input_pca={n_components}: the number of principal components must be between 1 "
                         f"and min(nodes, features) = {min(n, d)}")
    from sklearn import config_context
    from sklearn.decomposition import PCA

    from .feature_store import is_memory_mapped

    # the covariance solver (mean, then X^T X: exact, O(d^2) memory, no copy of X) up to
    # EXACT_PCA_MAX_FEATURES columns (a mapped file above: an error); scikit-learn's "auto" takes it
    # only for d <= 1000 and n >= 10 d, otherwise mostly its randomized solver, which centres a
    # copy of X and, on a weak signal near the noise level, misses the top components (sbm-like
    # features, 1,024 columns: principal-angle cosines 0.13-0.68 with the exact ones; docs/scale.md)
    mapped = is_memory_mapped(x)
    if mapped and d > EXACT_PCA_MAX_FEATURES:
        raise ValueError(
            f"PCA of memory-mapped features (input_pca, DFCN's pca_dim) with {d:,} columns: the "
            f"exact PCA needs their {d:,} x {d:,} covariance "
            f"(~{3 * d * d * 8 / 2**30:,.1f} GB while it is decomposed) "
            f"and the other solvers a copy of the file; the limit is {EXACT_PCA_MAX_FEATURES:,} "
            "columns. Reduce the columns first (e.g. sklearn.random_projection) or load the "
            "features in memory")
    solver = "covariance_eigh" if mapped or d <= EXACT_PCA_MAX_FEATURES else "auto"
    pca = PCA(n_components=int(n_components), svd_solver=solver, random_state=0)
    with config_context(assume_finite=bool(checked)):
        pca.fit(x.detach().cpu().numpy())
    return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


def apply_pca(x: torch.Tensor, mean: np.ndarray, components: np.ndarray) -> torch.Tensor:
    """``(x - mean) components^T``, float32, on ``x``'s device; O(n d k) time, in row chunks so
    that no temporary of ``x``'s size is made."""
    m = torch.as_tensor(mean, dtype=torch.float32, device=x.device)
    w = torch.as_tensor(components, dtype=torch.float32, device=x.device).T
    out = torch.empty(x.shape[0], w.shape[1], dtype=torch.float32, device=x.device)
    step = max(1, (1 << 22) // max(1, x.shape[1]))
    for i in range(0, x.shape[0], step):
        out[i:i + step] = (x[i:i + step].float() - m) @ w
    return out


def pca_reduce(x: torch.Tensor, n_components, *, checked: bool = False) -> torch.Tensor:
    """Project ``x`` on its first ``n_components`` principal components (centered; scikit-learn
    PCA, fixed ``random_state`` so it is a deterministic preprocessing). ``None`` or a value not
    below the feature count returns ``x`` unchanged. ``checked`` as for :func:`fit_pca` (used on
    memory-mapped ``x``)."""
    if n_components is None or int(n_components) >= min(x.shape):
        return x
    from .feature_store import is_memory_mapped

    if is_memory_mapped(x):  # a float64 copy of a mapped file would defeat the mapping
        mean, components = fit_pca(x, int(n_components), checked=checked)
        return apply_pca(x, mean, components)
    from sklearn.decomposition import PCA

    z = PCA(n_components=int(n_components), random_state=0).fit_transform(x.detach().cpu().double().numpy())
    return torch.as_tensor(z, dtype=torch.float32, device=x.device)
