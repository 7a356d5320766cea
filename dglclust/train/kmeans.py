from __future__ import annotations

import numpy as np
import torch

__all__ = ["kmeans_init"]


def kmeans_init(z: torch.Tensor, n_clusters: int, n_init: int = 20, random_state=None):
    """KMeans on an embedding: returns ``(centers tensor on z's device/dtype, labels ndarray, inertia)``."""
    from sklearn.cluster import KMeans

    zn = z.detach().to("cpu", torch.float64).numpy()
    if not np.isfinite(zn).all():
        raise FloatingPointError("the embedding contains NaN/inf before KMeans initialization; "
                                 "lower the learning rate or check the input features")
    seed = None if random_state is None else int(np.random.default_rng(random_state).integers(2**31 - 1))
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
    # one OpenMP thread: scikit-learn's OpenMP runtime competing with torch's spinning threads made a
    # 3025 x 20 fit take 50-90 s instead of 0.9 s on the 2-core machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        labels = km.fit_predict(zn)
    centers = torch.as_tensor(km.cluster_centers_, dtype=z.dtype, device=z.device)
    return centers, labels.astype(np.int64), float(km.inertia_)
