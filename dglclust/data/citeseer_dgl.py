"""``citeseer-dgl``: CiteSeer through DGL's own ``dgl.data.CiteseerGraphDataset``.

On a processed-cache miss the Planetoid raw files are resolved by
:func:`dglclust.data._files.fetch` (local copy in ``<data>/dgl/citeseer_d6836239/``, verified by
sha256, else a verified download into the cache), so DGL never downloads its zip. DGL's
processed cache goes to ``<cache>/processed/citeseer-dgl/``, never into the read-only data
directory.

Differences from ``citeseer`` (SDCN layout): features are DGL's row-normalized ones (each row sums
to 1, zero rows stay zero) and the graph carries DGL's ``train_mask`` / ``val_mask`` /
``test_mask``. Node order, labels and the edge set are the same; as everywhere in dglclust the graph
is made symmetric, deduplicated and free of self-loops (DGL's raw graph keeps the self-citations).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .._compat import import_dgl
from ..graph import canonicalize
from ..utils import cache_dir
from ._files import fetch
from .registry import register_dataset

dgl = import_dgl()
from dgl.data import CiteseerGraphDataset  # noqa: E402

__all__ = ["CiteSeerDGL"]

_RAW_DIR = "dgl/citeseer_d6836239"
_SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


@register_dataset(
    "citeseer-dgl",
    nodes=3327,
    features=3703,
    classes=6,
    source="Planetoid ind.citeseer.* through dgl.data.CiteseerGraphDataset "
    "(row-normalized features)",
    description="CiteSeer via DGL's loader, same nodes/labels/edges as 'citeseer'",
)
class CiteSeerDGL(CiteseerGraphDataset):
    """``dgl.data.CiteseerGraphDataset`` reading our verified raw files and caching under
    ``dglclust.utils.cache_dir()/processed/citeseer-dgl``; ``dataset[0]`` follows the dglclust graph
    convention (symmetric, deduplicated, no self-loops)."""

    version = 1

    def __init__(self, data_dir=None, force_reload=False, verbose=False, transform=None):
        self._dglclust_data_dir = data_dir
        # where previously gathered/downloaded raw files would be; replaced by _download()
        self._dglclust_raw_path = str(cache_dir() / "raw" / _RAW_DIR)
        self._dglclust_save_path = str(
            cache_dir() / "processed" / "citeseer-dgl" / f"v{self.version}"
        )
        super().__init__(
            raw_dir=str(Path(self._dglclust_raw_path).parent),
            force_reload=force_reload,
            verbose=verbose,
            transform=transform,
        )

    def _download(self):
        # Called by DGLDataset only when the processed cache is missing: resolve and verify the raw
        # files (data dir, else download cache, else download) instead of DGL's zip download.
        paths = [fetch(f"{_RAW_DIR}/ind.citeseer.{s}", self._dglclust_data_dir) for s in _SUFFIXES]
        parents = {p.parent for p in paths}
        if len(parents) == 1:
            raw = parents.pop()
        else:  # files split between the data dir and the download cache: gather them
            raw = cache_dir() / "raw" / _RAW_DIR
            raw.mkdir(parents=True, exist_ok=True)
            for p in paths:
                if p.parent != raw:
                    shutil.copyfile(p, raw / p.name)
        self._dglclust_raw_path = str(raw)
        self._raw_dir = str(raw.parent)

    @property
    def raw_path(self):
        return self._dglclust_raw_path

    @property
    def save_path(self):
        return self._dglclust_save_path

    def process(self):
        super().process()
        self._g = canonicalize(self._g)

    def save(self):
        from dgl.data.utils import save_graphs, save_info

        os.makedirs(self.save_path, exist_ok=True)
        tmp_g, tmp_i = f"{self.graph_path}.{os.getpid()}.tmp", f"{self.info_path}.{os.getpid()}.tmp"
        try:
            save_graphs(tmp_g, self._g)
            save_info(tmp_i, {"num_classes": self.num_classes})
            os.replace(tmp_g, self.graph_path)
            os.replace(tmp_i, self.info_path)
        finally:
            for t in (tmp_g, tmp_i):
                if os.path.exists(t):
                    os.unlink(t)
