"""dglclust: deep graph clustering on DGL with fused C++/CUDA kernels.

The DGL compatibility shim (:mod:`dglclust._compat`) is installed before anything imports DGL.
Submodules load lazily: ``dglclust.data``, ``dglclust.cluster``, ``dglclust.metrics``, ...
"""
from . import _compat  # noqa: F401  (must run before any `import dgl`)

__version__ = "0.1.0"

import importlib as _importlib

_SUBMODULES = {"ops", "data", "graph", "nn", "models", "cluster", "train", "metrics", "cli", "configs"}


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dglclust' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
