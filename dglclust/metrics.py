"""Clustering metrics: ACC (Hungarian matching), NMI, ARI, macro F1 after matching, DBI.

All functions accept numpy arrays, Python lists or torch tensors (any device), copy them and never
change the caller's data. Labels may be any integers (not necessarily ``0..k-1``, negative values
such as ``-1`` are fine); predicted cluster ids and true class ids live in separate label spaces
and are matched with the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) on the
contingency matrix.

Different numbers of clusters and classes
    With ``K`` predicted clusters and ``C`` true classes, the matching pairs ``min(K, C)`` clusters
    with distinct classes. When ``K > C`` the ``K - C`` unmatched clusters are mapped to no class at
    all, so every node in them counts as an error for ACC and as a false negative of its true class
    for F1. When ``K < C`` the unmatched classes receive no prediction: their nodes are errors and
    their F1 is 0.

Example
-------
>>> from dglclust.metrics import evaluate
>>> evaluate([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2])  # a permutation of the truth
{'acc': 1.0, 'nmi': 1.0, 'ari': 1.0, 'f1': 1.0}
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

__all__ = [
    "accuracy",
    "nmi",
    "ari",
    "f1",
    "evaluate",
    "match_labels",
    "contingency",
    "davies_bouldin",
]


# --------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------
def _to_numpy(x, name: str) -> np.ndarray:
    """A private numpy copy of ``x`` (numpy array, list, tuple or torch tensor)."""
    if x is None:
        raise TypeError(f"{name} is None; pass an array of labels (numpy array, list or tensor)")
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        return np.array(x, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} could not be converted to an array ({exc}); pass a 1-D sequence of integer "
            "labels"
        ) from None


def _as_labels(x, name: str) -> np.ndarray:
    """Validate ``x`` as a 1-D vector of integer labels and return an int64 copy."""
    arr = _to_numpy(x, name)
    if arr.ndim == 2 and arr.shape[1] > 1 and arr.shape[0] > 0:
        raise ValueError(
            f"{name} must be 1-D, got shape {arr.shape}; for soft assignments or one-hot labels "
            f"pass the hard labels, e.g. {name}.argmax(1)"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}; pass one label per node")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one label (one per node)")
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "b":
        return arr.astype(np.int64)
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} must contain integer labels, got non-integer value {float(arr[i])!r} at "
                f"index {i}; pass cluster/class ids (e.g. soft_assignments_.argmax(1)), not scores or "
                "probabilities"
            )
        return arr.astype(np.int64)
    raise ValueError(
        f"{name} must contain integer labels, got dtype {arr.dtype}; convert string or object "
        f"labels with np.unique({name}, return_inverse=True)[1]"
    )


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths ({yt.shape[0]} vs {yp.shape[0]}); pass "
            "exactly one predicted label per labelled node, in the same node order"
        )
    return yt, yp


# --------------------------------------------------------------------------------------------------
# matching
# --------------------------------------------------------------------------------------------------
def contingency(y_true, y_pred):
    """Contingency matrix ``M[i, j]`` = number of nodes in predicted cluster ``clusters[i]`` whose
    true class is ``classes[j]``.

    Returns ``(M, clusters, classes)`` with ``clusters``/``classes`` the sorted unique labels.
    """
    yt, yp = _check_pair(y_true, y_pred)
    return _contingency(yt, yp)


def _contingency(yt: np.ndarray, yp: np.ndarray):
    classes, t_idx = np.unique(yt, return_inverse=True)
    clusters, p_idx = np.unique(yp, return_inverse=True)
    m = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(m, (p_idx.ravel(), t_idx.ravel()), 1)
    return m, clusters, classes


def _matching(yt: np.ndarray, yp: np.ndarray) -> dict[int, int]:
    """Hungarian matching: predicted cluster id -> true class id (only matched clusters)."""
    m, clusters, classes = _contingency(yt, yp)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols)}


def match_labels(y_true, y_pred) -> np.ndarray:
    """Relabel ``y_pred`` into the label space of ``y_true`` by Hungarian matching.

    Every matched cluster gets the id of its class. Clusters left unmatched (more clusters than
    classes) get fresh ids ``max(y_true) + 1, max(y_true) + 2, ...`` (in order of their original
    id), which match no true class, so they count as errors in :func:`accuracy` and :func:`f1`.

    Returns a new int64 array; the inputs are not modified.

    >>> match_labels([0, 0, 1, 1], [1, 1, 0, 0]).tolist()
    [0, 0, 1, 1]
    """
    yt, yp = _check_pair(y_true, y_pred)
    return _match(yt, yp)


def _match(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    mapping = _matching(yt, yp)
    next_id = int(yt.max()) + 1
    for cluster in np.unique(yp):
        if int(cluster) not in mapping:
            mapping[int(cluster)] = next_id
            next_id += 1
    clusters = np.array(sorted(mapping), dtype=np.int64)
    targets = np.array([mapping[c] for c in clusters.tolist()], dtype=np.int64)
    return targets[np.searchsorted(clusters, yp)]


# --------------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------------
def accuracy(y_true, y_pred) -> float:
    """Clustering accuracy: the fraction of nodes whose cluster is matched to their class under the
    best one-to-one cluster-to-class matching (Hungarian algorithm).

    Nodes in clusters left unmatched (more clusters than classes) count as errors, so a
    prediction with one cluster per node does not score 1.

    >>> accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    yt, yp = _check_pair(y_true, y_pred)
    m, _, _ = _contingency(yt, yp)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return float(m[rows, cols].sum() / yt.shape[0])


def nmi(y_true, y_pred) -> float:
    """Normalized mutual information with arithmetic-mean normalization (scikit-learn's
    default, ``average_method="arithmetic"``). Invariant to relabelling; no matching needed."""
    yt, yp = _check_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(yt, yp, average_method="arithmetic"))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index. 1 for identical partitions, about 0 for random ones; slightly negative
    values are possible for partitions worse than chance."""
    yt, yp = _check_pair(y_true, y_pred)
    return float(adjusted_rand_score(yt, yp))


def f1(y_true, y_pred) -> float:
    """Macro F1 after Hungarian matching (as in the SDCN-family evaluation code).

    The prediction is relabelled with :func:`match_labels`; then for every *true* class ``c``
    ``F1_c = 2 TP_c / (|pred == c| + |true == c|)`` and the result is the unweighted mean over
    the true classes. Nodes in unmatched predicted clusters are false negatives of their class and
    add no class of their own to the average; a class that receives no cluster has ``F1_c = 0``.
    """
    yt, yp = _check_pair(y_true, y_pred)
    return _f1(yt, _match(yt, yp))


def _f1(yt: np.ndarray, mapped: np.ndarray) -> float:
    scores = []
    for c in np.unique(yt):
        t = yt == c
        p = mapped == c
        denom = int(t.sum()) + int(p.sum())
        scores.append(2.0 * int((t & p).sum()) / denom)
    return float(np.mean(scores))


def evaluate(y_true, y_pred) -> dict[str, float]:
    """All four metrics at once: ``{"acc", "nmi", "ari", "f1"}`` as Python floats.

    ACC, NMI and F1 lie in [0, 1]; ARI is at most 1 and about 0 for random labels (it can be
    slightly negative). Multiply by 100 for the percentages papers report.
    """
    yt, yp = _check_pair(y_true, y_pred)
    m, _, _ = _contingency(yt, yp)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return {
        "acc": float(m[rows, cols].sum() / yt.shape[0]),
        "nmi": float(normalized_mutual_info_score(yt, yp, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(yt, yp)),
        "f1": _f1(yt, _match(yt, yp)),
    }


def davies_bouldin(embedding, labels) -> float:
    """Davies-Bouldin index of an embedding under a clustering (lower is better; label-free, so
    usable for unsupervised model selection).

    ``embedding`` is ``(n, d)`` (a 1-D array is treated as ``(n, 1)``), ``labels`` has ``n``
    integer entries with at least 2 and at most ``n - 1`` distinct values.
    """
    from sklearn.metrics import davies_bouldin_score

    emb = _to_numpy(embedding, "embedding")
    if emb.ndim == 1:
        emb = emb[:, None]
    if emb.ndim != 2:
        raise ValueError(
            f"embedding must be 2-D (n_nodes x n_dims), got shape {emb.shape}; reshape it first"
        )
    if emb.shape[0] == 0:
        raise ValueError("embedding is empty; pass one embedding row per node")
    if emb.dtype.kind not in "fiub":
        raise ValueError(f"embedding must be numeric, got dtype {emb.dtype}")
    emb = emb.astype(np.float64)
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        raise ValueError(
            f"embedding contains NaN or inf in {int(bad.sum())} of {emb.shape[0]} rows (first: row "
            f"{int(np.flatnonzero(bad)[0])}); the model likely diverged: lower the learning rate "
            "or check the input features for NaN"
        )
    lab = _as_labels(labels, "labels")
    if lab.shape[0] != emb.shape[0]:
        raise ValueError(
            f"embedding and labels have different lengths ({emb.shape[0]} vs {lab.shape[0]}); pass "
            "one label per embedding row"
        )
    k = np.unique(lab).size
    if not 2 <= k <= emb.shape[0] - 1:
        raise ValueError(
            f"davies_bouldin needs between 2 and n_nodes - 1 = {emb.shape[0] - 1} distinct labels, "
            f"got {k}; it is undefined for a single cluster or one cluster per node"
        )
    return float(davies_bouldin_score(emb, lab))

