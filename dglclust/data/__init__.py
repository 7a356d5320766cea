"""Datasets for deep graph clustering.

``load_dataset(name)`` returns a ``dgl.data.DGLDataset`` whose ``dataset[0]`` is a DGLGraph with
``ndata["feat"]`` (float32), ``ndata["label"]`` (int64, 0-based) and ``dataset.num_classes``.
Every graph is symmetric (each undirected edge in both directions), deduplicated and **without
self-loops**; the propagation op adds ``I`` once. ``list_datasets()`` describes the registered
names; ``from_arrays`` builds a graph from your own features (kNN graph when no edges are given).
``load_dataset(name, mmap_features=True)`` keeps the features on disk, memory-mapped
(:mod:`dglclust.data.feature_store`: ``save_features`` / ``open_features``).
``planted_partition(n, k, ...)`` draws an attributed degree-corrected planted partition of any
size (registered as ``sbm-10k`` ... ``sbm-10m``). ``load_images(name)`` returns the ``(N, C, H, W)`` image view of ``usps``, ``digits``,
``mnist-10k`` and ``mnist-train`` (see :mod:`dglclust.data.images`).

Raw files are read from ``data_dir`` / ``$DGLCLUST_DATA`` / ``../shared/datasets`` (read-only,
sha256-verified), else downloaded into ``dglclust.utils.cache_dir()/raw`` (not when
``DGLCLUST_OFFLINE=1``); processed graphs are cached in ``cache_dir()/processed``.

Adding a dataset: subclass :class:`ClusteringDataset` in a new module, decorate it with
``@register_dataset("name", nodes=..., features=..., classes=..., source=...)``, list its raw files
with :func:`register_file`, and import the module below.
"""
from __future__ import annotations

from ._files import (
    FILES,
    ChecksumMismatchError,
    MissingDatasetFileError,
    RemoteFile,
    fetch,
    register_file,
)
from .arrays import encode_labels, from_arrays
from .feature_store import is_memory_mapped, open_features, save_features
from .base import ClusteringDataset
from .registry import DATASETS, DatasetInfo, list_datasets, load_dataset, register_dataset

# dataset modules: each registers its names on import
from .sdcn import ACM, DBLP, DBLPMAGNN, USPS, CiteSeer  # noqa: E402
from .citeseer_dgl import CiteSeerDGL  # noqa: E402
from .digits import DIGITS_K, Digits  # noqa: E402
from . import adagae_mat  # noqa: E402,F401  (UMIST, JAFFE, ORL, PALM, COIL20, YALE, ...)
from .synthetic import PlantedPartition, planted_partition  # noqa: E402  (sbm-10k ... sbm-10m)
from .images import (  # noqa: E402  (mnist-10k, mnist-train; image view of usps / digits)
    MNIST10k,
    MNISTTrain,
    image_datasets,
    load_images,
    register_image_shape,
    resize_images,
)

__all__ = [
    "load_dataset",
    "list_datasets",
    "register_dataset",
    "from_arrays",
    "encode_labels",
    "save_features",
    "open_features",
    "is_memory_mapped",
    "ClusteringDataset",
    "DatasetInfo",
    "DATASETS",
    "FILES",
    "RemoteFile",
    "register_file",
    "fetch",
    "MissingDatasetFileError",
    "ChecksumMismatchError",
    "ACM",
    "DBLP",
    "DBLPMAGNN",
    "CiteSeer",
    "CiteSeerDGL",
    "USPS",
    "Digits",
    "DIGITS_K",
    "MNIST10k",
    "MNISTTrain",
    "load_images",
    "planted_partition",
    "PlantedPartition",
    "image_datasets",
    "register_image_shape",
    "resize_images",
]
