r"""AGCN (Peng et al., ACM MM 2021): attention-driven graph clustering network.

The SDCN layout (an autoencoder and a GCN branch of the same widths) with attention-based fusion:

* **AGCN-H** (heterogeneity-wise): GCN layer ``i + 1`` is fed
  :math:`Z'_i = m_{i,1} Z_i + m_{i,2} H_i`, the per-node weights learned from :math:`[Z_i \| H_i]`
  (:class:`dglclust.nn.fusion.HeterogeneityFusion`); :math:`Z_{i+1} = \mathrm{LeakyReLU}(\hat A Z'_i W_i)`.
* **AGCN-S** (scale-wise): :math:`Z' = [u_1 Z_1 \| \dots \| u_l Z_l \| u_{l+1} H_l]`
  (:class:`dglclust.nn.fusion.ScaleFusion`), then :math:`Z = \mathrm{softmax}(\hat A Z' W)`.

``variant="s"`` is the full model of the paper's Table 3 (AGCN-H layers + AGCN-S head);
``variant="h"`` is the AGCN-H-only model of its ablation (Table 4): the prediction layer is fed the
heterogeneity-wise fusion of the last GCN output and the AE embedding.
Q is the Student's-t assignment on the AE embedding (as in SDCN), so the loss and training loop are
SDCN's: :math:`L_R + \lambda_1 KL(P\|Z) + \lambda_2 KL(P\|Q)` (the paper's Eq. 12 naming).
"""
from __future__ import annotations

import functools
import itertools

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import AE, GCNLayer
from ..nn.fusion import HeterogeneityFusion, ScaleFusion
from ..ops import student_t

__all__ = ["VARIANTS", "AGCNModule"]

VARIANTS = ("h", "s")


class AGCNModule(nn.Module):
    """``forward(graph, x)`` returns ``{"x_hat", "z", "hiddens", "logits", "pred", "q", "weights"}``
    (``weights``: the attention matrices M_1..M_l and, for ``"s"``, U)."""

    def __init__(self, in_dim, n_clusters, hidden=(500, 500, 2000), latent=10, variant="s", norm="row",
                 negative_slope=0.2, scale_attention=True, alpha=1.0):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS} ('h': AGCN-H only, 's': AGCN-H + "
                             f"AGCN-S, the paper's full model), got {variant!r}")
        self.variant = variant
        self.ae = AE(in_dim, hidden, latent)
        dims = [in_dim, *hidden, latent]
        act = functools.partial(F.leaky_relu, negative_slope=negative_slope)
        self.gcn = nn.ModuleList(GCNLayer(a, b, norm=norm, activation=act) for a, b in itertools.pairwise(dims))
        # AGCN-H before GCN layers 2..l: fuses Z_i and H_i (i = 1..l-1)
        self.hetero = nn.ModuleList(HeterogeneityFusion(d, negative_slope) for d in hidden)
        if variant == "s":
            self.scale = ScaleFusion([*hidden, latent, latent], attention=scale_attention,
                                     negative_slope=negative_slope)
            head_in = self.scale.out_feats
        else:
            self.last = HeterogeneityFusion(latent, negative_slope)
            head_in = latent
        self.head = GCNLayer(head_in, n_clusters, norm=norm, activation=None)
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent))
        self.alpha = float(alpha)

    def forward(self, graph, x):
        x_hat, hs = self.ae(x)
        z = self.gcn[0](graph, x)
        zs, weights = [z], []
        for layer, fuse, h in zip(self.gcn[1:], self.hetero, hs):
            fused, m = fuse(z, h)
            z = layer(graph, fused)
            zs.append(z)
            weights.append(m)
        if self.variant == "s":
            fused, u = self.scale([*zs, hs[-1]])
        else:
            fused, u = self.last(z, hs[-1])
        weights.append(u)
        logits = self.head(graph, fused).float()
        emb = hs[-1].float()
        with torch.autocast(device_type=emb.device.type, enabled=False):
            q = student_t(emb, self.centers, self.alpha)
        return {"x_hat": x_hat.float(), "z": emb, "hiddens": hs, "logits": logits,
                "pred": torch.softmax(logits, dim=1), "q": q, "weights": weights}
