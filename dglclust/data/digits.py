"""``digits``: scikit-learn's bundled 8x8 digits with a kNN graph, the default that needs no
download."""
from __future__ import annotations

from .base import ClusteringDataset
from .registry import register_dataset

__all__ = ["Digits", "DIGITS_K"]

#: Default neighbours of the digits kNN graph: the smallest k in {3, 5, 10, 15, 20} whose
#: heat-kernel (Euclidean) kNN graph on the scaled pixels is connected (k=3 and k=5 leave 2
#: components; k=10 gives one component, 12332 undirected edges, 95.6% of them joining
#: same-digit nodes). Labels were not used to choose it.
DIGITS_K = 10


@register_dataset(
    "digits",
    nodes=1797,
    features=64,
    classes=10,
    source="scikit-learn load_digits (bundled, no download); pixels / 16 in [0, 1]; "
    f"kNN graph (heat, k={DIGITS_K})",
    description="8x8 handwritten digits (UCI optdigits test subset), embedded default dataset",
)
class Digits(ClusteringDataset):
    """scikit-learn's ``load_digits``: 1797 images of 8x8 pixels (64 features, scaled from 0..16 to
    [0, 1] by dividing by 16), 10 classes, and a kNN graph from :func:`dglclust.graph.knn_graph`.

    Args:
        data_dir: ignored (the data ships with scikit-learn); accepted for a uniform interface.
        k: neighbours of the kNN graph (default :data:`DIGITS_K` = 10, the smallest tried value that
            gives a connected graph).
        metric: ``"heat"`` (default, Euclidean ranking), ``"cosine"`` or ``"ip"``.
    """

    name_ = "digits"
    version = 1

    def __init__(self, data_dir=None, k=DIGITS_K, metric="heat", force_reload=False, verbose=False,
                 transform=None, mmap_features=False):
        if metric not in ("heat", "cosine", "ip"):
            raise ValueError(f"digits: metric must be 'heat', 'cosine' or 'ip', got {metric!r}")
        options = {"k": int(k), "metric": metric}
        super().__init__(data_dir, options, force_reload, verbose, transform, mmap_features)

    def build(self, paths):
        import numpy as np
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x = (x / 16.0).astype(np.float32)
        edges = self.knn_edges(x)
        return {"features": x, "labels": y.astype(np.int64), "edges": edges,
                "num_classes": 10}
