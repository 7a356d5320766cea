"""Fused ops with pure-torch fallbacks.

Every op has a torch reference (``_reference.py``) and, when the compiled extension
``dglclust._C`` is loaded, CPU (and CUDA) kernels registered under ``torch.ops.dglclust``.
``DGLCLUST_NO_EXT=1`` forces the reference; :func:`backend` says which is active.
"""
from ._ext import backend, extension_loaded, has_kernel, load_error
from .spmm import graph_csr, graph_spmm, normalized_spmm, propagate_features
from .student_t import student_t, target_distribution
from .adagae import adagae_graph

__all__ = [
    "propagate_features",
    "backend",
    "extension_loaded",
    "has_kernel",
    "load_error",
    "normalized_spmm",
    "graph_spmm",
    "graph_csr",
    "student_t",
    "target_distribution",
    "adagae_graph",
    "probe",
]


def probe(x):
    """Trivial op proving the extension is loaded and dispatched: returns ``x + 1``."""
    import torch

    if has_kernel("probe", x.device):
        return torch.ops.dglclust.probe(x)
    return x + 1
