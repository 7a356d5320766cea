"""The two trivial baselines every table reports next to the deep models.

* :class:`KMeansFeatures` (``"kmeans"``): scikit-learn KMeans on the raw node features.
* :class:`KMeansPropagated` (``"kmeans-prop"``): KMeans on ``hops`` rounds of normalized
  propagation of the features, ``X_h = (D^-1/2 (A + I) D^-1/2)^h X`` (SGC's feature smoothing, Wu
  et al. 2019), computed with :func:`dglclust.ops.graph_spmm`.

A deep graph clusterer below the second one does not use the graph better than plain smoothing.

Cost: KMeans O(n_init * iters * n d k); propagation O(hops * E d) time, O(n d) memory.
"""
from __future__ import annotations

import torch

from ..ops import propagate_features
from .base import BaseClusterer

__all__ = ["KMeansFeatures", "KMeansPropagated", "propagate_features"]


class KMeansFeatures(BaseClusterer):
    """KMeans (``n_init`` restarts) on the raw node features; the graph is not used.

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import KMeansFeatures
        >>> g = load_dataset("digits")[0]
        >>> KMeansFeatures(n_clusters=10, random_state=0).fit_predict(g).shape
        (1797,)
    """

    name = "kmeans"

    def _embed(self, graph, x, params):
        return x.float()

    def _fit(self, graph, x, y, params, seed):
        h = self._embed(graph, x, params)
        centers, labels = self._kmeans(h, params, seed)
        self.labels_ = labels
        self.embedding_ = h.cpu().numpy()
        self.cluster_centers_ = centers.cpu().numpy()
        self.history_ = []
        self.n_iter_ = 0


class KMeansPropagated(KMeansFeatures):
    """KMeans on ``hops`` (default 2) rounds of symmetric-normalized propagation of the features
    over the graph with self-loops (see the module docstring)."""

    name = "kmeans-prop"

    def _embed(self, graph, x, params):
        if graph.num_edges() == 0:
            raise ValueError("kmeans-prop needs a graph with edges (its features are propagated "
                             "over them); use kmeans for features alone")
        return propagate_features(graph, x, int(params["hops"]), str(params["norm"]))
