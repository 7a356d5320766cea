"""DEC / IDEC: an autoencoder with Student's-t cluster centers on its embedding."""
from __future__ import annotations

import torch
from torch import nn

from ..nn import AE
from ..ops import student_t

__all__ = ["ClusteringAE"]


class ClusteringAE(nn.Module):
    """AE + cluster centers. ``forward(x)`` returns ``{"x_hat", "z", "q"}``; the decoder is skipped
    when ``decode=False`` (DEC trains the encoder only)."""

    def __init__(self, in_dim, n_clusters, hidden=(500, 500, 2000), latent=10, alpha=1.0):
        super().__init__()
        self.ae = AE(in_dim, hidden, latent)
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent))
        self.alpha = float(alpha)

    def forward(self, x, decode: bool = True):
        hs = self.ae.encode(x)
        z = hs[-1]
        with torch.autocast(device_type=z.device.type, enabled=False):
            q = student_t(z.float(), self.centers, self.alpha)
        out = {"z": z.float(), "hiddens": hs, "q": q}
        if decode:
            out["x_hat"] = self.ae.decode(z).float()
        return out
