"""AGCN estimators (AGCN-H, AGCN-S) on the SDCN training loop."""
from __future__ import annotations

from ..models.agcn import AGCNModule
from .estimators import SDCN

__all__ = ["AGCN", "AGCNH", "AGCNS"]


class AGCN(SDCN):
    r"""Attention-driven Graph Clustering Network (Peng et al., ACM MM 2021) on a DGLGraph.

    SDCN's AE (500-500-2000-10, pretrained and cached, shared with SDCN), KMeans-initialized
    Student's-t centers and self-training loop, with AGCN's attention fusion in the GCN branch
    (:class:`dglclust.models.agcn.AGCNModule`). ``variant="s"`` (default): AGCN-H layers and the
    AGCN-S scale-wise head, the paper's full model; ``variant="h"``: AGCN-H only (paper ablation).
    Loss ``MSE + kl_weight KL(P||Q) + gcn_kl_weight KL(P||Z)`` with 0.1 / 0.01 on graph data (the
    official code's assignment of lambda_1 / lambda_2; see ``configs/agcn.yaml``);
    labels are ``argmax Z`` of the final epoch. ``AGCN.from_config("citeseer")`` applies the
    paper's CiteSeer settings (lr 1e-4).

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import AGCN
        >>> g = load_dataset("digits")[0]
        >>> model = AGCN(n_clusters=10, variant="h", random_state=0, verbose=False, epochs=5).fit(g)
        >>> model.labels_.shape
        (1797,)
    """

    name = "agcn"

    def _make_module(self, in_dim, params):
        return AGCNModule(in_dim, self.n_clusters_, params["ae_dims"], params["latent_dim"],
                          params["variant"], params["norm"], params["negative_slope"],
                          params["scale_attention"], params["alpha"])


class AGCNH(AGCN):
    """AGCN with ``variant="h"`` by default (config ``agcn-h``: the paper's ablation numbers)."""

    name = "agcn-h"


class AGCNS(AGCN):
    """AGCN with ``variant="s"`` by default (config ``agcn-s``: the paper's Table 3 numbers)."""

    name = "agcn-s"
