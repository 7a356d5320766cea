"""DGL-on-modern-torch compatibility shim.

PyPI's newest DGL (2.1.0) predates the torch we run on. Two things break its import:

1. ``dgl`` imports ``setuptools.extern.packaging``, which recent setuptools removed. We alias the
   stand-alone ``packaging`` distribution under that name when it is missing.
2. ``dgl.graphbolt`` loads ``libgraphbolt_pytorch_<torch version>.so``, which exists only for the
   torch versions DGL was built against. When the library for the running torch is missing we put
   an empty module at ``sys.modules["dgl.graphbolt"]`` so the rest of DGL imports. GraphBolt is not
   used by dglclust.

This module must be imported before anything imports ``dgl``; ``dglclust/__init__.py`` does so
first. It is idempotent, and it keeps DGL's "backend" chatter away from users.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import sys
import types
import warnings

__all__ = ["import_dgl"]

_DONE = False


def _alias_setuptools_packaging() -> None:
    try:
        import setuptools.extern.packaging  # noqa: F401
        return
    except Exception:
        pass
    import packaging
    import packaging.version

    try:
        import setuptools.extern as extern  # type: ignore[import-not-found]
    except Exception:
        import setuptools

        extern = types.ModuleType("setuptools.extern")
        extern.__path__ = []  # type: ignore[attr-defined]
        sys.modules["setuptools.extern"] = extern
        setuptools.extern = extern  # type: ignore[attr-defined]
    extern.packaging = packaging  # type: ignore[attr-defined]
    sys.modules["setuptools.extern.packaging"] = packaging
    sys.modules["setuptools.extern.packaging.version"] = packaging.version


def _stub_graphbolt_if_unbuilt() -> None:
    if "dgl.graphbolt" in sys.modules:
        return
    spec = importlib.util.find_spec("dgl")
    if spec is None or not spec.submodule_search_locations:
        return
    import torch

    version = torch.__version__.split("+")[0]
    dgl_dir = list(spec.submodule_search_locations)[0]
    lib = os.path.join(dgl_dir, "graphbolt", f"libgraphbolt_pytorch_{version}.so")
    if not os.path.exists(lib):
        stub = types.ModuleType("dgl.graphbolt")
        stub.__doc__ = "Empty stand-in installed by dglclust._compat: GraphBolt is unavailable for this torch."
        stub.__path__ = []  # type: ignore[attr-defined]
        # DistDGL's servers test isinstance(partition, graphbolt.FusedCSCSamplingGraph) even when
        # GraphBolt is off: a class nothing is an instance of keeps them on the DGLGraph format
        stub.FusedCSCSamplingGraph = type("FusedCSCSamplingGraph", (), {})  # type: ignore[attr-defined]
        sys.modules["dgl.graphbolt"] = stub


def apply() -> None:
    """Install the shim (idempotent)."""
    global _DONE
    if _DONE:
        return
    os.environ.setdefault("DGLBACKEND", "pytorch")
    _alias_setuptools_packaging()
    _stub_graphbolt_if_unbuilt()
    _DONE = True


def import_dgl():
    """Import and return ``dgl`` behind the shim, silencing its import-time warnings."""
    apply()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("dgl").setLevel(logging.ERROR)
        import dgl  # noqa: F401
        import dgl.function  # noqa: F401
    return dgl


apply()
