from __future__ import annotations

import numpy as np
import torch

__all__ = ["kmeans_init", "MINIBATCH_KMEANS_NODES"]

#: above this many rows ``kmeans_init(method="auto")`` runs scikit-learn's MiniBatchKMeans
MINIBATCH_KMEANS_NODES = 200_000


def kmeans_init(z: torch.Tensor, n_clusters: int, n_init: int = 20, random_state=None,
                method: str = "auto", verbose: bool = False):
    """KMeans on an embedding: returns ``(centers tensor on z's device/dtype, labels ndarray, inertia)``.

    ``method``: ``"full"`` (scikit-learn ``KMeans``, Lloyd, ``n_init`` restarts), ``"minibatch"``
    (``MiniBatchKMeans``, batches of 4096 rows, ``min(n_init, 3)`` restarts, chooses the start;
    then full Lloyd iterations from it: the quality of ``"full"`` with one restart, at ~1/20 of
    the time of 20 full restarts) or ``"auto"``: ``"full"`` up to :data:`MINIBATCH_KMEANS_NODES`
    rows, ``"minibatch"`` above. Measured on sbm-1m (docs/scale.md): MiniBatchKMeans alone 24 /
    61 ACC on raw / propagated features, this path 51 / 81 in 12 / 8 s, full KMeans (1 restart)
    51 / 80 in 11 / 8 s. ``verbose``: a progress bar (tqdm, elapsed time and ETA) over the two
    stages of the ``"minibatch"`` path (the restarts, then the Lloyd iterations); the ``"full"``
    path (at most 200,000 rows, about a second per 10,000) shows none."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if method not in ("auto", "full", "minibatch"):
        raise ValueError(f"kmeans method must be 'auto', 'full' or 'minibatch', got {method!r}")
    n = int(z.shape[0])
    if method == "auto":
        method = "minibatch" if n > MINIBATCH_KMEANS_NODES else "full"
    dtype = torch.float64 if method == "full" else torch.float32
    zn = z.detach().to("cpu", dtype).numpy()
    if not np.isfinite(zn).all():
        raise FloatingPointError("the embedding contains NaN/inf before KMeans initialization; "
                                 "lower the learning rate or check the input features")
    seed = None if random_state is None else int(np.random.default_rng(random_state).integers(2**31 - 1))
    # one OpenMP thread: scikit-learn's OpenMP runtime competing with torch's spinning threads made a
    # 3025 x 20 fit take 50-90 s instead of 0.9 s on the 2-core machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        if method == "full":
            km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
            labels = km.fit_predict(zn)
            inertia = float(km.inertia_)
        else:
            # the restarts on mini-batches (cheap) choose the start; full Lloyd iterations from it
            # (MiniBatchKMeans alone lost 19-26 ACC points on sbm-1m: docs/scale.md)
            from tqdm.auto import tqdm

            restarts = min(int(n_init), 3)
            with tqdm(total=2, desc=f"KMeans ({n:,} rows): {restarts} mini-batch restarts, Lloyd",
                      unit="stage", disable=not verbose, leave=False) as bar:
                mb = MiniBatchKMeans(n_clusters=n_clusters, n_init=restarts, batch_size=4096,
                                     max_no_improvement=20, random_state=seed).fit(zn)
                bar.update(1)
                km = KMeans(n_clusters=n_clusters, init=mb.cluster_centers_, n_init=1,
                            random_state=seed).fit(zn)
                bar.update(1)
            labels = km.labels_
            inertia = float(km.inertia_)
    centers = torch.as_tensor(km.cluster_centers_, dtype=z.dtype, device=z.device)
    return centers, labels.astype(np.int64), inertia
