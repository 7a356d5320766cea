"""Label-free scores of a start: how well KMeans separates a pretrained embedding.

Used to choose among several autoencoder pretraining restarts (``start_select``) without reading
labels. Every score is scikit-learn's: silhouette (higher is better; computed on a sample of at most
``sample_size`` nodes, O(sample^2 d)), Calinski-Harabasz (higher), Davies-Bouldin (lower), and the
reconstruction loss of the pretraining itself (lower).
"""
from __future__ import annotations

import numpy as np

__all__ = ["partition_scores", "HIGHER_IS_BETTER", "START_CRITERIA"]

#: criterion -> True when a larger value is better
HIGHER_IS_BETTER = {"loss": False, "silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}
START_CRITERIA = tuple(HIGHER_IS_BETTER)


def partition_scores(z, labels, seed: int = 0, sample_size: int = 4000) -> dict:
    """``{"silhouette", "calinski_harabasz", "davies_bouldin"}`` of the partition ``labels`` of the
    embedding ``z`` (an array or tensor, n x d). A partition with one cluster scores the worst value
    of each (the scores are undefined there)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    if hasattr(z, "detach"):
        z = z.detach().float().cpu().numpy()
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return {"silhouette": -1.0, "calinski_harabasz": 0.0, "davies_bouldin": float("inf")}
    n = z.shape[0]
    sample = None if n <= sample_size else sample_size
    return {
        "silhouette": float(silhouette_score(z, labels, sample_size=sample, random_state=seed)),
        "calinski_harabasz": float(calinski_harabasz_score(z, labels)),
        "davies_bouldin": float(davies_bouldin_score(z, labels)),
    }
