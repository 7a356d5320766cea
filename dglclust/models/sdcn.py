"""SDCN (Bo et al., WWW 2020): structural deep clustering network.

An autoencoder and a GCN branch with the same widths; GCN layer ``l`` is fed
``(1 - sigma) Z_l + sigma H_l`` (``H_l`` the AE's hidden layer ``l``), the last GCN layer maps to
``n_clusters`` and is soft-maxed (Z). Q is the Student's-t assignment on the AE embedding.
Loss: ``kl_weight KL(P || Q) + gcn_kl_weight KL(P || Z) + MSE(X_hat, X)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..nn import AE, GCNLayer
from ..ops import student_t

__all__ = ["SDCNModule"]


class SDCNModule(nn.Module):
    def __init__(self, in_dim, n_clusters, hidden=(500, 500, 2000), latent=10, sigma=0.5,
                 norm="row", alpha=1.0):
        super().__init__()
        self.ae = AE(in_dim, hidden, latent)
        dims = [in_dim, *hidden, latent]
        self.gcn = nn.ModuleList(
            [GCNLayer(a, b, norm=norm, activation=torch.relu) for a, b in zip(dims[:-1], dims[1:])]
            + [GCNLayer(latent, n_clusters, norm=norm, activation=None)]
        )
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent))
        self.sigma, self.alpha = float(sigma), float(alpha)

    def forward(self, graph, x):
        x_hat, hs = self.ae(x)
        h = self.gcn[0](graph, x)
        s = self.sigma
        for layer, h_ae in zip(self.gcn[1:], hs):
            h = layer(graph, (1.0 - s) * h + s * h_ae)
        z, h = hs[-1].float(), h.float()
        with torch.autocast(device_type=z.device.type, enabled=False):
            q = student_t(z, self.centers, self.alpha)
        return {"x_hat": x_hat.float(), "z": z, "hiddens": hs, "logits": h,
                "pred": torch.softmax(h, dim=1), "q": q}
