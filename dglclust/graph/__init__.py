"""Building graphs for clustering: kNN graphs, edge lists, CSR structure.

**Convention.** Every graph returned by this package (and by :mod:`dglclust.data`) is

* symmetric: each undirected edge ``{i, j}`` is stored in both directions ``i -> j`` and ``j -> i``;
* deduplicated: each directed pair appears at most once;
* **without self-loops**: ``i -> i`` is never stored.

The propagation op (:func:`dglclust.ops.graph_spmm`, ``add_self_loops=True``) adds the identity
exactly once, so ``D^-1/2 (A + I) D^-1/2`` never double-counts a self-loop. Graphs live on the CPU
(PyPI DGL is CPU-only); :func:`to_csr` moves their structure to any device.

Example:
    >>> import torch, dglclust
    >>> from dglclust.graph import knn_graph, from_edges
    >>> x = torch.tensor([[0.0], [0.1], [5.0], [5.2]])
    >>> g = knn_graph(x, k=1)
    >>> sorted(zip(*[t.tolist() for t in g.edges()]))
    [(0, 1), (1, 0), (2, 3), (3, 2)]
    >>> from_edges([[0, 1], [1, 1], [1, 0]], num_nodes=3).num_edges()   # dedupe, drop 1->1
    2
"""
from __future__ import annotations

from .ann import approximate_knn
from .build import (
    canonicalize,
    check_graph,
    from_edges,
    is_simple_symmetric,
    knn_graph,
    knn_edges,
    knn_indices,
    symmetrize,
    to_csr,
)

__all__ = [
    "knn_graph",
    "knn_edges",
    "knn_indices",
    "symmetrize",
    "from_edges",
    "to_csr",
    "canonicalize",
    "check_graph",
    "is_simple_symmetric",
    "approximate_knn",
]
