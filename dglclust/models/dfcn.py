r"""DFCN (Tu et al., AAAI 2021): deep fusion clustering network.

An autoencoder (LeakyReLU 0.2) and an IGAE (:class:`dglclust.nn.igae.IGAE`) encode the (PCA-reduced)
attributes; SAIF (:class:`dglclust.nn.fusion.SAIF`) fuses their embeddings into
:math:`\tilde Z = b\,\mathrm{softmax}(Z_L Z_L^T) Z_L + Z_L`, :math:`Z_L = \hat A (a Z_{AE} + (1-a) Z_{IGAE})`,
from which **both** decoders reconstruct (AE: :math:`X`; IGAE: :math:`\hat A X` and the adjacency).
Triplet self-supervision: Student's-t assignments :math:`Q, Q', Q''` on :math:`\tilde Z`,
:math:`Z_{AE}`, :math:`Z_{IGAE}` share the centers; the target :math:`P` is computed from
:math:`Q`. Loss :math:`L_{AE} + L_{IGAE} + \lambda L_{KL}`.
"""
from __future__ import annotations

import torch
from torch import nn

from ..nn import AE
from ..nn.fusion import SAIF
from ..nn.igae import IGAE
from ..ops import student_t

__all__ = ["DFCNModule"]


class DFCNModule(nn.Module):
    """``forward(graph, x, assign=True)`` returns ``{"z_ae", "z_igae", "z", "x_hat", "z_hat"}`` and,
    with ``assign``, ``"q"`` (on Z~), ``"q_ae"``, ``"q_igae"``. ``z`` is the fused Z~."""

    def __init__(self, in_dim, n_clusters, ae_hidden=(128, 256, 512), igae_hidden=(128, 256), latent=20,
                 norm="row", igae_activation="tanh", ae_negative_slope=0.2, fusion_alpha=0.5,
                 learn_fusion_alpha=False, alpha=1.0):
        super().__init__()
        self.ae = AE(in_dim, ae_hidden, latent, negative_slope=ae_negative_slope)
        self.igae = IGAE(in_dim, igae_hidden, latent, norm=norm, activation=igae_activation)
        self.fusion = SAIF(fusion_alpha, learn_fusion_alpha, norm=norm)
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent))
        self.alpha = float(alpha)

    def forward(self, graph, x, assign: bool = True):
        z_ae = self.ae.encode(x)[-1].float()
        z_igae = self.igae.encode(graph, x).float()
        z = self.fusion(graph, z_ae, z_igae)
        out = {"z_ae": z_ae, "z_igae": z_igae, "z": z, "x_hat": self.ae.decode(z).float(),
               "z_hat": self.igae.decode(graph, z).float()}
        if assign:
            with torch.autocast(device_type=z.device.type, enabled=False):
                out["q"] = student_t(z, self.centers, self.alpha)
                out["q_ae"] = student_t(z_ae, self.centers, self.alpha)
                out["q_igae"] = student_t(z_igae, self.centers, self.alpha)
        return out
