"""The SDCN benchmark graphs (ACM, DBLP, CiteSeer, USPS), built from the original files.

Each dataset reads originals listed in :data:`dglclust.data._files.FILES` (see
``shared/datasets/SOURCES.md``) and produces SDCN's node order, features, 0-based labels and graph.
The SDCN text files that are *derived* copies (``sdcn/data/acm.txt``, ``cite.txt.gz``,
``usps.txt.gz``, ``dblp_magnn/sdcn_format``) are not read here; tests check that we reproduce them.
"""
from __future__ import annotations

import pickle
import warnings

import numpy as np

from .base import ClusteringDataset
from .registry import register_dataset

__all__ = ["ACM", "DBLP", "DBLPSDCN", "CiteSeer", "USPS"]


def _read_labels(path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64).reshape(-1)


def _read_edges(path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64).reshape(-1, 2)


@register_dataset(
    "acm",
    nodes=3025,
    features=1870,
    classes=3,
    source="ACM3025.mat (O2MAC) features + SDCN acm_label.txt / acm_graph.txt (paper-author-paper)",
    description="ACM papers, bag-of-words keywords, co-author (PAP) graph, 3 research areas",
)
class ACM(ClusteringDataset):
    """ACM (SDCN): 3025 papers, 1870 binary keyword features, 3 classes, paper-author-paper graph
    with 13128 undirected edges. Features from ``ACM3025.mat`` (key ``feature``); labels and graph
    from SDCN's ``acm_label.txt`` / ``acm_graph.txt``."""

    name_ = "acm"
    version = 1
    _FEAT = "raw/o2mac_ACM3025/ACM3025.mat"
    _LABEL = "sdcn/data/acm_label.txt"
    _GRAPH = "sdcn/graph/acm_graph.txt"

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None,
                 mmap_features=False):
        super().__init__(data_dir, {}, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        return [self._FEAT, self._LABEL, self._GRAPH]

    def build(self, paths):
        from scipy.io import loadmat

        feat = loadmat(str(paths[self._FEAT]), variable_names=["feature"])["feature"]
        return {
            "features": np.asarray(feat, dtype=np.float32),
            "labels": _read_labels(paths[self._LABEL]),
            "edges": _read_edges(paths[self._GRAPH]),
            "num_classes": 3,
        }


@register_dataset(
    "dblp-magnn",
    nodes=4057,
    features=334,
    classes=4,
    source="MAGNN DBLP (features_0.npz, labels.npy, adjM.npz, node_types.npy); "
    "author-paper-author graph",
    description="the same DBLP as `dblp` in MAGNN's node order",
)
class DBLPMAGNN(ClusteringDataset):
    """SDCN's DBLP in MAGNN's node order: 4057 authors, 334 binary features, 4 classes, co-author
    graph (3528 undirected edges). The same data as ``dblp`` (on the 3660 authors whose feature rows
    are unique, labels, degrees and all mapped edges agree); use ``dblp`` unless MAGNN's order is
    what you need.

    Built from MAGNN's preprocessing: authors are the nodes of type 0 in ``adjM.npz``; two authors
    are linked when they share a paper (author-paper-author meta-path).
    """

    name_ = "dblp-magnn"
    version = 1
    _DIR = "dblp_magnn/original/"

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None,
                 mmap_features=False):
        super().__init__(data_dir, {}, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        names = ("features_0.npz", "labels.npy", "adjM.npz", "node_types.npy")
        return [self._DIR + f for f in names]

    def build(self, paths):
        import scipy.sparse as sp

        p = {rel.rsplit("/", 1)[1]: path for rel, path in paths.items()}
        feat = sp.load_npz(p["features_0.npz"]).toarray().astype(np.float32)
        labels = np.load(p["labels.npy"]).astype(np.int64).reshape(-1)
        types = np.load(p["node_types.npy"]).reshape(-1)
        adj = sp.load_npz(p["adjM.npz"]).tocsr()
        authors = np.flatnonzero(types == 0)
        papers = np.flatnonzero(types == 1)
        if authors.size != feat.shape[0] or not np.array_equal(authors, np.arange(authors.size)):
            raise ValueError(
                f"dblp: expected the {feat.shape[0]} authors to be the first nodes of adjM.npz, "
                f"got {authors.size} type-0 nodes"
            )
        ap = adj[authors][:, papers]
        ap.data[:] = 1
        apa = (ap @ ap.T).tocoo()
        return {
            "features": feat,
            "labels": labels,
            "edges": (apa.row.astype(np.int64), apa.col.astype(np.int64)),
            "num_classes": 4,
        }


@register_dataset(
    "dblp",
    nodes=4057,
    features=334,
    classes=4,
    source="DCRN dataset/dblp.zip (dblp_feat.npy, dblp_label.npy, dblp_adj.npy): SDCN's DBLP in "
    "SDCN node order",
    description="DBLP authors, bag-of-words features, co-author graph, 4 research areas "
    "(SDCN's data and node order)",
)
class DBLP(ClusteringDataset):
    """DBLP as SDCN uses it: 4057 authors, 334 binary features, 4 classes, 3528 undirected
    co-author edges, in SDCN's node order, from DCRN's ``dblp.zip`` (sha256-verified); labels equal
    SDCN's ``data/dblp_label.txt`` and the graph SDCN's ``graph/dblp_graph.txt``. ``dblp-magnn`` is
    the same data in MAGNN's node order."""

    name_ = "dblp"
    version = 2
    _ZIP = "dcrn/dblp.zip"

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None,
                 mmap_features=False):
        super().__init__(data_dir, {}, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        return [self._ZIP]

    def build(self, paths):
        import io
        import zipfile

        with zipfile.ZipFile(paths[self._ZIP]) as zf:
            def member(name):
                return np.load(io.BytesIO(zf.read(name)), allow_pickle=False)

            feat = member("dblp_feat.npy").astype(np.float32)
            labels = member("dblp_label.npy").astype(np.int64).reshape(-1)
            src, dst = np.nonzero(member("dblp_adj.npy"))
        return {"features": feat, "labels": labels,
                "edges": (src.astype(np.int64), dst.astype(np.int64)), "num_classes": 4}


def _load_pickle(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old scipy module paths inside the pickles
        with open(path, "rb") as fh:
            return pickle.load(fh, encoding="latin1")


def read_planetoid(paths: dict, name="citeseer"):
    """Read Planetoid ``ind.<name>.*`` files in Kipf's loader order.

    ``paths`` maps the suffixes (``x, y, tx, ty, allx, ally, graph, test.index``) to files.
    Node ``i < len(allx)`` takes row ``i`` of ``allx``/``ally``; node ``test.index[r]`` takes row
    ``r`` of ``tx``/``ty``; nodes inside the test id range but absent from ``test.index`` (15 in
    CiteSeer) get all-zero features and an all-zero one-hot label (so argmax class 0).

    Returns ``(features (n, d) float32, onehot (n, c), edges (E, 2) int64)`` with the raw (possibly
    directed, duplicated, self-looped) adjacency-list edges.
    """
    allx, ally = _load_pickle(paths["allx"]), _load_pickle(paths["ally"])
    tx, ty = _load_pickle(paths["tx"]), _load_pickle(paths["ty"])
    adjlist = _load_pickle(paths["graph"])
    test_idx = np.loadtxt(paths["test.index"], dtype=np.int64).reshape(-1)
    n_train = allx.shape[0]
    max_adj = max(max(adjlist), max((max(v) for v in adjlist.values() if len(v)), default=0))
    n = int(max(n_train + tx.shape[0], test_idx.max() + 1, max_adj + 1))
    feat = np.zeros((n, allx.shape[1]), dtype=np.float32)
    onehot = np.zeros((n, ally.shape[1]), dtype=np.float32)
    feat[:n_train] = allx.toarray()
    onehot[:n_train] = ally
    feat[test_idx] = tx.toarray()
    onehot[test_idx] = ty
    src = np.fromiter((i for i, nbrs in adjlist.items() for _ in nbrs), dtype=np.int64)
    dst = np.fromiter((j for nbrs in adjlist.values() for j in nbrs), dtype=np.int64)
    return feat, onehot, np.stack([src, dst], axis=1)


@register_dataset(
    "citeseer",
    nodes=3327,
    features=3703,
    classes=6,
    source="Planetoid ind.citeseer.* (Kipf's gcn repo) in Kipf loader order = SDCN cite.txt layout",
    description="CiteSeer citation graph, binary word features, 6 classes (SDCN layout)",
)
class CiteSeer(ClusteringDataset):
    """CiteSeer in SDCN's layout: 3327 papers, 3703 binary features (not row-normalized; 15
    all-zero rows for the test nodes missing from the raw data), 6 classes, citation graph with
    4552 undirected edges. Read from the Planetoid files in Kipf's loader order, which equals SDCN's
    ``cite.txt`` / ``cite_label.txt`` (minus 1) / ``cite_graph.txt``. See ``citeseer-dgl`` for
    DGL's own loader."""

    name_ = "citeseer"
    version = 1
    _DIR = "dgl/citeseer_d6836239/"
    _SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None,
                 mmap_features=False):
        super().__init__(data_dir, {}, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        return [f"{self._DIR}ind.citeseer.{s}" for s in self._SUFFIXES]

    def build(self, paths):
        by_suffix = {rel.split("ind.citeseer.", 1)[1]: p for rel, p in paths.items()}
        feat, onehot, edges = read_planetoid(by_suffix)
        return {
            "features": feat,
            "labels": onehot.argmax(axis=1).astype(np.int64),
            "edges": edges,
            "num_classes": onehot.shape[1],
        }


@register_dataset(
    "usps",
    nodes=9298,
    features=256,
    classes=10,
    source="usps.h5 (train 7291 + test 2007 images, 16x16 in [0, 1]) + SDCN usps_label.txt and "
    "usps{k}_graph.txt kNN graphs (k in 1, 3, 5, 10)",
    description="USPS handwritten digits, kNN graph (SDCN default k=3)",
)
class USPS(ClusteringDataset):
    """USPS digits: 9298 images (train then test, as in SDCN), 256 pixel features in [0, 1],
    10 classes.

    Args:
        k: neighbours of the kNN graph. With ``graph="sdcn"`` (default) one of 1, 3, 5, 10,
            selecting SDCN's ``usps{k}_graph.txt`` (default 3, SDCN's choice). With
            ``graph="knn"`` any ``1 <= k < 9298``.
        graph: ``"sdcn"`` (SDCN's published kNN graph files) or ``"knn"`` (build with
            :func:`dglclust.graph.knn_graph`; with ``metric="heat"`` this reproduces SDCN's files).
        metric: similarity for ``graph="knn"``: ``"heat"``, ``"cosine"`` or ``"ip"``.
    """

    name_ = "usps"
    version = 1
    SDCN_K = (1, 3, 5, 10)
    _FEAT = "raw/niuers_usps/usps.h5"
    _LABEL = "sdcn/data/usps_label.txt"

    def __init__(self, data_dir=None, k=3, graph="sdcn", metric="heat", force_reload=False,
                 verbose=False, transform=None, mmap_features=False):
        if graph not in ("sdcn", "knn"):
            raise ValueError(
                "usps: graph must be 'sdcn' (SDCN's kNN files) or 'knn' (build our own), "
                f"got {graph!r}"
            )
        if graph == "sdcn" and k not in self.SDCN_K:
            raise ValueError(
                f"usps: SDCN ships kNN graphs for k in {self.SDCN_K}, got k={k!r}; pick one of "
                "those or pass graph='knn' to build a kNN graph with any k"
            )
        options = {"k": int(k), "graph": graph}
        if graph == "knn":
            if metric not in ("heat", "cosine", "ip"):
                raise ValueError(f"usps: metric must be 'heat', 'cosine' or 'ip', got {metric!r}")
            options["metric"] = metric
        super().__init__(data_dir, options, force_reload, verbose, transform, mmap_features)

    def raw_files(self):
        files = [self._FEAT, self._LABEL]
        if self.options["graph"] == "sdcn":
            files.append(f"sdcn/graph/usps{self.options['k']}_graph.txt")
        return files

    def build(self, paths):
        import h5py

        with h5py.File(paths[self._FEAT], "r") as h5:
            feat = np.concatenate([h5["train/data"][:], h5["test/data"][:]]).astype(np.float32)
        if self.options["graph"] == "sdcn":
            edges = _read_edges(paths[f"sdcn/graph/usps{self.options['k']}_graph.txt"])
        else:
            edges = self.knn_edges(feat)
        return {
            "features": feat,
            "labels": _read_labels(paths[self._LABEL]),
            "edges": edges,
            "num_classes": 10,
        }
