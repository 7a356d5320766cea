"""The general-data benchmarks of AdaGAE (Li, Zhang & Zhang): UMIST, JAFFE, ORL, PALM, COIL20,
YALE, AdaGAE's USPS subset, Isolet and segment, read from the official ``.mat`` files.

Every file (MATLAB v5, ``scipy.io.loadmat``) holds ``X`` (one sample per row) and ``Y`` (one label
per row). As in AdaGAE's loader, features are scaled by their **global maximum** (``X / X.max()``:
no min shift, no per-feature scaling), so PALM, the USPS subset, Isolet and segment keep negative
values. Labels are re-encoded to ``0..C-1`` (JAFFE's file counts from 0, the others from 1).

These are feature-only datasets; the DGLGraph interface is kept with a kNN graph on the scaled
features (:func:`dglclust.graph.knn_edges`, Euclidean ranking, ``k`` neighbours, symmetrized, no
self-loops). AdaGAE itself ignores that graph and builds its own from the features.
"""
from __future__ import annotations

import numpy as np

from ._files import register_file
from .arrays import encode_labels
from .base import ClusteringDataset
from .registry import register_dataset

__all__ = ["AdaGAEMatDataset", "UMIST", "JAFFE", "ORL", "PALM", "COIL20", "YALE", "USPS20Uni",
           "Isolet", "Segment", "ADAGAE_KNN_K"]

_REPO = "https://raw.githubusercontent.com/hyzhang98/AdaGAE"
_HEAD = "6d04946060bacd41ee31eba5c124887bca44f369"
_YALE_COMMIT = "38965140728fc081010291b20f4b28d90b3e0451"  # Yale.mat was deleted at HEAD

for _name, _commit, _sha, _size in [
    ("UMIST.mat", _HEAD, "247ce22f5aa04ea95e584756e9255f29b340ed43352b67a92daac724a2144b09", 589616),
    ("JAFFE.mat", _HEAD, "41eeeb529e6b41c6418047498111e1d1942c608e742f950435426bc395ffe846", 1746840),
    ("ORL.mat", _HEAD, "93e77e7f55c91cd75bef032e8381d439353c2121ec58b07eb73759991a5f73e2", 410240),
    ("Palm.mat", _HEAD, "3b47e9294036b9b31c9eb2a6e55173725548bdf3a058cde63307bb7c6f49a431", 2679246),
    ("COIL20.mat", _HEAD, "b22b9beb0668f707990eda2b5f922384fd3e6d63d6df7ede3a3b5e2319c4e397", 896630),
    ("Yale.mat", _YALE_COMMIT,
     "6b4c0453f416ec1bb0c62852b99f7d2102c65bcc9fea736d50d0cf2945ae4074", 169368),
    ("USPSdata_20_uni.mat", _HEAD,
     "e0074cec2757146e7cefd6396093c1522f087beeb1ceb69b533be40193f20bb0", 2993158),
    ("Isolet.mat", _HEAD, "ea73c69b1342a7def8199458e53a70307a83d557eceb2579863dda57c3ccd2b1", 3652673),
    ("segment_uni.mat", _HEAD,
     "886f607429d75fd7637411ed71a0b701ccc025e2360f44dcb25b3b1cedcf51d3", 181343),
]:
    register_file(f"adagae/{_name}", f"{_REPO}/{_commit}/data/{_name}", _sha, _size)

#: Neighbours of the kNN graph attached to these feature-only datasets (AdaGAE's initial sparsity).
ADAGAE_KNN_K = 5


class AdaGAEMatDataset(ClusteringDataset):
    """Base class of the AdaGAE ``.mat`` datasets: scaled features, 0-based labels, kNN graph.

    Args:
        data_dir: folder holding ``adagae/<file>.mat`` (default ``$DGLCLUST_DATA`` /
            ``../shared/datasets``; downloaded and sha256-verified otherwise).
        k: neighbours of the attached kNN graph (default :data:`ADAGAE_KNN_K` = 5).
        metric: ``"heat"`` (Euclidean ranking, default), ``"cosine"`` or ``"ip"``.
    """

    _FILE = ""
    _CLASSES = 0
    version = 1

    def __init__(self, data_dir=None, k=ADAGAE_KNN_K, metric="heat", force_reload=False,
                 verbose=False, transform=None, mmap_features=False):
        if metric not in ("heat", "cosine", "ip"):
            raise ValueError(f"{self.name_}: metric must be 'heat', 'cosine' or 'ip', got {metric!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{self.name_}: k (kNN graph neighbours) must be a positive int, got {k!r}")
        super().__init__(data_dir, {"k": int(k), "metric": metric}, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        return [f"adagae/{self._FILE}"]

    def build(self, paths):
        from scipy.io import loadmat

        mat = loadmat(str(paths[f"adagae/{self._FILE}"]), variable_names=["X", "Y"])
        x = np.asarray(mat["X"], dtype=np.float64)
        top = float(x.max())
        if not np.isfinite(x).all() or top <= 0:
            raise ValueError(f"{self.name_}: {self._FILE} holds non-finite features or a non-positive "
                             f"maximum ({top}); the file is not AdaGAE's original")
        x = (x / top).astype(np.float32)  # AdaGAE's loader: X / X.max()
        labels = encode_labels(np.asarray(mat["Y"]).reshape(-1), x.shape[0]).numpy()
        n_classes = int(labels.max()) + 1
        if self._CLASSES and n_classes != self._CLASSES:
            raise ValueError(f"{self.name_}: expected {self._CLASSES} classes in {self._FILE}, "
                             f"found {n_classes}")
        k = min(self.options["k"], x.shape[0] - 1)
        edges = self.knn_edges(x, k)
        return {"features": x, "labels": labels, "edges": edges,
                "num_classes": n_classes}


def _src(file, extra=""):
    return (f"AdaGAE repo (hyzhang98/AdaGAE) data/{file}; X / X.max(); kNN graph (heat, "
            f"k={ADAGAE_KNN_K}){extra}")


@register_dataset("umist", nodes=575, features=1024, classes=20, source=_src("UMIST.mat"),
                  description="UMIST faces, 32x32 grey levels, 20 people (19-48 images each)")
class UMIST(AdaGAEMatDataset):
    name_ = "umist"
    _FILE = "UMIST.mat"
    _CLASSES = 20


@register_dataset("jaffe", nodes=213, features=1024, classes=10, source=_src("JAFFE.mat"),
                  description="JAFFE facial expressions, 32x32, 10 subjects")
class JAFFE(AdaGAEMatDataset):
    name_ = "jaffe"
    _FILE = "JAFFE.mat"
    _CLASSES = 10


@register_dataset("orl", nodes=400, features=1024, classes=40, source=_src("ORL.mat"),
                  description="ORL (AT&T) faces, 32x32, 40 people x 10 images")
class ORL(AdaGAEMatDataset):
    name_ = "orl"
    _FILE = "ORL.mat"
    _CLASSES = 40


@register_dataset("palm", nodes=2000, features=256, classes=100, source=_src("Palm.mat"),
                  description="PALM palm prints, 16x16, 100 hands x 20 (negative values kept)")
class PALM(AdaGAEMatDataset):
    name_ = "palm"
    _FILE = "Palm.mat"
    _CLASSES = 100


@register_dataset("coil20", nodes=1440, features=1024, classes=20, source=_src("COIL20.mat"),
                  description="COIL-20 objects, 32x32, 20 objects x 72 poses")
class COIL20(AdaGAEMatDataset):
    name_ = "coil20"
    _FILE = "COIL20.mat"
    _CLASSES = 20


@register_dataset("yale", nodes=165, features=1024, classes=15,
                  source=_src("Yale.mat", "; file from commit 38965140 (deleted at HEAD)"),
                  description="Yale faces, 32x32, 15 people x 11 images")
class YALE(AdaGAEMatDataset):
    name_ = "yale"
    _FILE = "Yale.mat"
    _CLASSES = 15


@register_dataset("usps-20-uni", nodes=1854, features=256, classes=10,
                  source=_src("USPSdata_20_uni.mat"),
                  description="AdaGAE's USPS subset (1854 of the 9298 digits, values in [-1, 1]); "
                  "the AdaGAE paper's USPS table row is the full 9298-image set (`usps`)")
class USPS20Uni(AdaGAEMatDataset):
    name_ = "usps-20-uni"
    _FILE = "USPSdata_20_uni.mat"
    _CLASSES = 10


@register_dataset("isolet", nodes=1560, features=617, classes=26, source=_src("Isolet.mat"),
                  description="Isolet spoken letters (subset), 617 features in [-1, 1], 26 letters x 60")
class Isolet(AdaGAEMatDataset):
    name_ = "isolet"
    _FILE = "Isolet.mat"
    _CLASSES = 26


@register_dataset("segment", nodes=2310, features=19, classes=7, source=_src("segment_uni.mat"),
                  description="UCI image segmentation (segment_uni.mat), 19 features, 7 classes x 330")
class Segment(AdaGAEMatDataset):
    name_ = "segment"
    _FILE = "segment_uni.mat"
    _CLASSES = 7
