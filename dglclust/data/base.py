"""``ClusteringDataset``: the DGLDataset base class of every built-in dataset.

Flow (as ``dgl.data.DGLDataset``): ``download -> process -> save`` on the first load, ``load`` on
later ones.

* ``download()`` resolves each raw file of :meth:`ClusteringDataset.raw_files` through
  :func:`dglclust.data._files.fetch`: a local copy in the data directory (sha256-verified, never
  written to), else the download cache, else a verified download; so the online and offline paths
  run the same ``process()``.
* ``process()`` calls the subclass's :meth:`ClusteringDataset.build` and turns its arrays into a
  DGLGraph following the graph convention (symmetric, deduplicated, no self-loops) with
  ``ndata["feat"]`` float32 and ``ndata["label"]`` int64 0-based.
* ``save()`` / ``load()`` use ``<cache>/processed/<name>/<name>_<hash>.{bin,json}``, where the hash
  covers the dataset name, its processing version and every option (e.g. ``k``).
* ``mmap_features=True`` keeps the features on disk: the cache is then the graph without them
  (``<name>_<hash>.graph.bin``) and a float32 ``<name>_<hash>.feat.npy`` that ``ndata["feat"]``
  memory-maps (:mod:`dglclust.data.feature_store`). Either form of the cache serves both modes (a
  ``.bin`` is split once on the first memory-mapped load; a split cache is read whole otherwise).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .._compat import import_dgl
from ..graph import from_edges
from ..utils import atomic_write, cache_dir
from ._files import fetch, resolve_data_dir

dgl = import_dgl()
from dgl.data import DGLDataset  # noqa: E402

__all__ = ["ClusteringDataset"]


class ClusteringDataset(DGLDataset):
    """Base class: one attributed graph with ground-truth labels.

    Subclasses set ``name_`` (registry name) and ``version`` (bump when processing changes), and
    implement :meth:`raw_files` and :meth:`build`. ``options`` (a dict of the keyword options that
    change the result) enter the cache hash.

    Attributes:
        num_classes: number of ground-truth classes.
        options: the options dict.
        paths: ``{relative path: local Path}`` of the raw files used (empty after a cache hit).
    """

    name_: str = ""
    version: int = 1

    def __init__(
        self, data_dir=None, options=None, force_reload=False, verbose=False, transform=None,
        mmap_features=False,
    ):
        self._data_dir_arg = data_dir
        self._mmap = bool(mmap_features)
        self.options = dict(options or {})
        self.paths: dict[str, Path] = {}
        self._g = None
        self._num_classes = None
        root = resolve_data_dir(data_dir)
        raw_dir = root if root is not None else cache_dir() / "raw"
        from ._files import FILES

        # the processed cache is keyed on the raw files' sha256 too (their verified content)
        hash_key = (self.name_, self.version, tuple(sorted(self.options.items())),
                    tuple(FILES[r].sha256 for r in self.raw_files() if r in FILES))
        super().__init__(
            name=self.name_,
            url=None,
            raw_dir=str(raw_dir),
            save_dir=str(cache_dir() / "processed"),
            hash_key=hash_key,
            force_reload=force_reload,
            verbose=verbose,
            transform=transform,
        )

    # ---- to implement -----------------------------------------------------------------------
    def raw_files(self) -> list[str]:
        """Relative paths (keys of ``dglclust.data._files.FILES``) this dataset reads."""
        return []

    def build(self, paths: dict) -> dict:
        """Read the raw files; return ``{"features": (n, d) array, "labels": (n,) 0-based ints,
        "edges": (E, 2) / (2, E) / (src, dst) ids}`` (directed or not, duplicates and self-loops
        allowed: they are normalized here) and optionally ``"num_classes"``."""
        raise NotImplementedError

    # ---- DGLDataset flow --------------------------------------------------------------------
    def knn_edges(self, x, k=None) -> tuple:
        """The ``(src, dst)`` numpy arrays of the kNN graph on features ``x`` with ``k`` neighbours
        (default ``options["k"]``) and ``options["metric"]``, for :meth:`build` of the feature-only
        datasets (:func:`dglclust.graph.knn_edges`: symmetrized, no self-loops)."""
        from ..graph import knn_edges

        k = self.options["k"] if k is None else k
        return tuple(e.numpy() for e in knn_edges(x, int(k), self.options["metric"]))

    def _download(self):
        # DGLDataset skips download() when raw_dir/name exists; we always resolve and verify the
        # individual files (cheap: verification results are cached by path, size and mtime;
        # process() re-hashes them in full when it builds the processed cache).
        self.download()

    def download(self):
        self.paths = {rel: fetch(rel, self._data_dir_arg) for rel in self.raw_files()}

    def process(self):
        from ._files import FILES, verify_file

        # (re)building the processed cache: hash every raw file in full, whatever the
        # size/mtime cache says
        for rel, path in self.paths.items():
            if rel in FILES:
                verify_file(path, FILES[rel], rehash=True)
        out = self.build(self.paths)
        feat = torch.as_tensor(np.asarray(out["features"]), dtype=torch.float32).contiguous()
        label = torch.as_tensor(np.asarray(out["labels"]), dtype=torch.int64).reshape(-1)
        n = feat.shape[0]
        if label.numel() != n:
            raise ValueError(
                f"{self.name_}: {label.numel()} labels for {n} nodes; the raw files are "
                "inconsistent"
            )
        if n and int(label.min()) < 0:
            raise ValueError(f"{self.name_}: labels must be 0-based, found {int(label.min())}")
        g = from_edges(out["edges"], n)
        g.ndata["feat"] = feat
        g.ndata["label"] = label
        self._g = g
        self._num_classes = int(out.get("num_classes") or (int(label.max()) + 1 if n else 0))

    @property
    def save_path(self):
        return os.path.join(self.save_dir, self.name)

    def _file(self, ext):
        return os.path.join(self.save_path, f"{self.name}_{self.hash}.{ext}")

    def _has_split(self):
        return os.path.exists(self._file("graph.bin")) and os.path.exists(self._file("feat.npy"))

    def has_cache(self):
        return os.path.exists(self._file("json")) and (
            os.path.exists(self._file("bin")) or self._has_split())

    def _save_graph(self, g, target):
        tmp = f"{target}.{os.getpid()}.tmp"
        try:
            dgl.save_graphs(tmp, [g])
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _split(self):
        """Write the split cache (graph without features + ``feat.npy``) and memory-map the
        features in place of the in-memory ones."""
        from .feature_store import open_features, save_features

        g = self._g
        feat = g.ndata.pop("feat")
        try:
            save_features(self._file("feat.npy"), feat)
            self._save_graph(g, self._file("graph.bin"))
        finally:
            g.ndata["feat"] = feat
        del feat
        g.ndata["feat"] = open_features(self._file("feat.npy"), check=False)  # checked in process()

    def save(self):
        os.makedirs(self.save_path, exist_ok=True)
        if self._mmap:
            self._split()
        else:
            self._save_graph(self._g, self._file("bin"))
        info = {
            "name": self.name_,
            "version": self.version,
            "options": {k: v for k, v in self.options.items()},
            "num_classes": self._num_classes,
        }
        with atomic_write(self._file("json"), "w") as fh:
            json.dump(info, fh, indent=1, default=str)

    def load(self):
        with open(self._file("json")) as fh:
            info = json.load(fh)
        if info.get("version") != self.version or info.get("name") != self.name_:
            raise ValueError("stale cache")  # DGLDataset then re-processes
        self._num_classes = int(info["num_classes"])
        if self._has_split() and (self._mmap or not os.path.exists(self._file("bin"))):
            from .feature_store import open_features

            graphs, _ = dgl.load_graphs(self._file("graph.bin"))
            feat = open_features(self._file("feat.npy"), check=False)
            graphs[0].ndata["feat"] = feat if self._mmap else feat.clone()
            self._g = graphs[0]
            return
        graphs, _ = dgl.load_graphs(self._file("bin"))
        self._g = graphs[0]
        if self._mmap:  # first memory-mapped load of a whole-graph cache
            self._split()

    # ---- access -----------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def graph(self):
        """The graph (``self[0]``)."""
        return self[0]

    def __getitem__(self, idx):
        if idx not in (0, -1):
            raise IndexError(f"{self.name_} holds a single graph; index 0, got {idx}")
        g = self._g
        return self._transform(g) if self._transform is not None else g

    def __len__(self):
        return 1

    def __repr__(self):
        g = self._g
        return (
            f"{type(self).__name__}(name={self.name_!r}, nodes={g.num_nodes()}, "
            f"edges={g.num_edges()}, features={tuple(g.ndata['feat'].shape)[1]}, "
            f"classes={self.num_classes}, options={self.options})"
        )
