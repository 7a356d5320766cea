"""Dataset registry: ``register_dataset`` / ``load_dataset`` / ``list_datasets``.

A dataset is any callable ``factory(data_dir=None, **kw)`` returning a ``dgl.data.DGLDataset``
whose item 0 is a DGLGraph with ``ndata["feat"]`` (float32) and ``ndata["label"]`` (int64,
0-based) and which has ``num_classes``. Register it in its own module and import that module in
``dglclust/data/__init__.py``::

    @register_dataset("mydata", nodes=100, features=16, classes=4, source="where it comes from")
    class MyData(ClusteringDataset):
        ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["DatasetInfo", "DATASETS", "register_dataset", "load_dataset", "list_datasets"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    factory: Callable
    nodes: int | None
    features: int | None
    classes: int | None
    source: str
    description: str = ""

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "nodes": self.nodes,
            "features": self.features,
            "classes": self.classes,
            "source": self.source,
            "description": self.description,
        }


DATASETS: dict[str, DatasetInfo] = {}


def _norm(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def register_dataset(name, *, nodes=None, features=None, classes=None, source="", description=""):
    """Decorator registering a dataset class or factory under ``name`` (case-insensitive,
    ``_`` and ``-`` equivalent). Re-registering a name raises ``ValueError``."""
    key = _norm(name)

    def deco(factory):
        if key in DATASETS and DATASETS[key].factory is not factory:
            raise ValueError(
                f"dataset name {key!r} is already registered by {DATASETS[key].factory!r}"
            )
        DATASETS[key] = DatasetInfo(key, factory, nodes, features, classes, source, description)
        return factory

    return deco


def load_dataset(name, data_dir=None, mmap_features=False, **kw):
    """Load a registered dataset by name.

    Args:
        name: e.g. ``"acm"``, ``"dblp"``, ``"citeseer"``, ``"citeseer-dgl"``, ``"usps"``,
            ``"digits"`` (see :func:`list_datasets`).
        data_dir: directory holding the raw files (layout of ``shared/datasets``); default
            ``$DGLCLUST_DATA`` or ``../shared/datasets``. Missing files are downloaded into the
            cache unless ``DGLCLUST_OFFLINE=1``.
        mmap_features: keep the features on disk: ``ndata["feat"]`` memory-maps a float32 ``.npy``
            in the processed cache (:mod:`dglclust.data.feature_store`) instead of holding them in
            memory; for graphs whose features do not fit, or for several processes sharing them.
        **kw: dataset options (e.g. ``k=3`` for ``usps``), ``force_reload``, ``verbose``.

    Returns:
        A ``dgl.data.DGLDataset``; ``dataset[0]`` is the graph, ``dataset.num_classes`` the number
        of classes.

    Example:
        >>> import dglclust
        >>> ds = dglclust.data.load_dataset("digits")
        >>> g = ds[0]
        >>> g.ndata["feat"].shape, ds.num_classes
        (torch.Size([1797, 64]), 10)
    """
    key = _norm(name)
    if key not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Available datasets: {', '.join(sorted(DATASETS))}. "
            "For your own data use dglclust.data.from_arrays(features, edges=None, labels=None)."
        )
    factory = DATASETS[key].factory
    if mmap_features:
        from .base import ClusteringDataset

        if not (isinstance(factory, type) and issubclass(factory, ClusteringDataset)):
            raise ValueError(f"dataset {name!r} cannot memory-map its features (it is not a "
                             "dglclust.data.ClusteringDataset); load it with mmap_features=False")
        kw["mmap_features"] = True
    return factory(data_dir=data_dir, **kw)


def list_datasets() -> list[dict]:
    """Metadata of every registered dataset, sorted by name: dicts with ``name``, ``nodes``,
    ``features``, ``classes``, ``source``, ``description`` (for ``dglclust datasets``)."""
    return [DATASETS[k].as_dict() for k in sorted(DATASETS)]
