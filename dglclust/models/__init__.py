"""Model modules (``torch.nn.Module`` on DGLGraphs), one file per method."""
from .dec import ClusteringAE
from .sdcn import SDCNModule
from .agcn import AGCNModule
from .dfcn import DFCNModule
from .adagae import AdaGAEModule
from .caegcn import CaEGCNModule
from .gae import DAEGCModule, GAEModule

__all__ = ["ClusteringAE", "SDCNModule"]
