"""``from_arrays``: a clustering graph from your own feature matrix (and optional edges/labels)."""
from __future__ import annotations

import numbers

import numpy as np
import torch

from ..graph import from_edges, knn_graph
from ..graph.build import check_features

__all__ = ["from_arrays", "encode_labels", "as_feature_matrix"]


def encode_labels(labels, num_nodes) -> torch.Tensor:
    """Map labels (ints, strings, ...) to int64 ``0..C-1`` in sorted order of the distinct values
    (``[0, 1, 2]`` stays, ``[1..6]`` becomes ``[0..5]``, ``["b", "a"]`` becomes ``[1, 0]``)."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"labels must be 1-D (one label per node), got shape {arr.shape}; for one-hot labels "
            "pass labels.argmax(1)"
        )
    if arr.shape[0] != num_nodes:
        raise ValueError(
            f"labels has {arr.shape[0]} entries but features has {num_nodes} rows; pass one label "
            "per node, in the same order"
        )
    if arr.dtype == object and any(v is None for v in arr):
        missing = int(sum(v is None for v in arr))
        raise ValueError(f"labels contain None at {missing} nodes; dglclust needs a label for "
                         "every node (or labels=None)")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(
            f"labels contain NaN or inf at {int((~np.isfinite(arr)).sum())} nodes; dglclust "
            "needs a label for every node (or labels=None)"
        )
    _, inverse = np.unique(arr, return_inverse=True)
    return torch.from_numpy(inverse.reshape(-1).astype(np.int64))


def as_feature_matrix(features, name="features") -> torch.Tensor:
    """``features`` as a new float32 ``(n, d)`` tensor (never a view of the caller's array),
    rejecting NaN/inf, also where a float64 value overflows the float32 cast (e.g. 1e300), and
    values too large for the models (see :func:`dglclust.graph.build.check_feature_scale`)."""
    x = check_features(features, name, scale=True)  # one block-wise scan: NaN/inf and scale
    x32 = x.float()
    if x32.dtype == x.dtype:  # no cast happened: x may be a view of the caller's array
        x32 = x32.clone()
    return x32.contiguous()


def from_arrays(features, edges=None, labels=None, knn=10, metric="heat", copy=True):
    """Build a clustering graph from user data.

    Args:
        features: ``(n, d)`` numeric array or tensor (any ``d``); stored as a float32 **copy**
            in ``ndata["feat"]`` (editing the graph's features never changes ``features``).
            NaN/inf rows, values that overflow float32 and values beyond 1e15 are rejected.
        edges: optional edge list, ``(E, 2)``, ``(2, E)`` or a ``(src, dst)`` tuple of 0-based
            ids in ``0..n-1``. When ``None``, a kNN graph with ``knn`` neighbours and ``metric``
            (``"heat"``/``"cosine"``/``"ip"``) is built by :func:`dglclust.graph.knn_graph`.
        labels: optional ``(n,)`` ground truth (any hashable dtype), re-encoded to int64 ``0..C-1``
            (sorted distinct values) in ``ndata["label"]``.
        knn: neighbours of the kNN graph when ``edges`` is ``None`` (must be ``< n``).
        metric: kNN similarity.
        copy: ``False`` keeps a float32 C-order tensor as it is (no copy: e.g. memory-mapped
            features from :func:`dglclust.data.open_features`, which the graph then shares); it
            is still checked, block by block. Other inputs are converted (copied) either way.

    Returns:
        A CPU DGLGraph, symmetric, deduplicated and without self-loops (the propagation op adds
        ``I``), with ``ndata["feat"]`` and, when given, ``ndata["label"]``.

    Example:
        >>> import numpy as np, dglclust
        >>> x = np.random.default_rng(0).normal(size=(50, 4))
        >>> g = dglclust.data.from_arrays(x, knn=5)
        >>> g.num_nodes(), g.ndata["feat"].dtype
        (50, torch.float32)
        >>> dglclust.data.from_arrays(x, edges=[[0, 1], [1, 2]]).num_edges()
        4
    """
    if (not copy and isinstance(features, torch.Tensor) and features.dtype == torch.float32
            and features.dim() == 2 and features.is_contiguous()):
        x = check_features(features, "features", scale=True)  # streamed once, no copy
    else:
        # a copy: editing g.ndata["feat"] never changes the caller's X
        x = as_feature_matrix(features)
    n = x.shape[0]
    label = encode_labels(labels, n) if labels is not None else None
    if edges is None:
        if isinstance(knn, bool) or not isinstance(knn, numbers.Integral) or knn < 1:
            raise ValueError(f"knn must be a positive integer number of neighbours, got {knn!r}")
        if knn >= n:
            raise ValueError(
                f"knn={knn} neighbours requested but features has only {n} rows: knn must be at "
                f"most n - 1 = {n - 1}; pass a smaller knn or give edges"
            )
        g = knn_graph(x, int(knn), metric)
    else:
        g = from_edges(edges, n)
    g.ndata["feat"] = x
    if label is not None:
        g.ndata["label"] = label
    return g
