"""Model modules (``torch.nn.Module`` on DGLGraphs), one file per method."""
from .dec import ClusteringAE
from .sdcn import SDCNModule

__all__ = ["ClusteringAE", "SDCNModule"]
