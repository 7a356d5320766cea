"""Shared layers in ``dgl.nn`` style: the SDCN autoencoder and the GCN layer on ``graph_spmm``."""
from .ae import AE, mlp
from .gcn import GCNLayer

__all__ = ["AE", "GCNLayer", "mlp"]
