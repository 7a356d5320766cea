"""Shared layers in ``dgl.nn`` style: the SDCN autoencoder and the GCN layer on ``graph_spmm``."""
from .ae import AE, mlp
from .gcn import GCNLayer
from .fusion import SAIF, HeterogeneityFusion, ScaleFusion, global_self_attention
from .igae import IGAE, IGAELayer

__all__ = ["AE", "GCNLayer", "mlp"]
