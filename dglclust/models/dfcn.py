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
    with ``assign``, ``"q"`` (on Z~), ``"q_ae"``, ``"q_igae"``. ``z`` is the fused Z~.

    ``checkpoint`` (attribute, default ``False``): run the AE encoder, the IGAE encoder and the two
    decoders under activation checkpointing when gradients are on (``torch.utils.checkpoint``,
    non-reentrant): the backward pass recomputes their layers instead of keeping every layer's
    activations of all n nodes. Same values and gradients; DFCN's large-graph mode sets it."""

    def __init__(self, in_dim, n_clusters, ae_hidden=(128, 256, 512), igae_hidden=(128, 256), latent=20,
                 norm="row", igae_activation="tanh", ae_negative_slope=0.2, fusion_alpha=0.5,
                 learn_fusion_alpha=False, alpha=1.0):
        super().__init__()
        self.ae = AE(in_dim, ae_hidden, latent, negative_slope=ae_negative_slope)
        self.igae = IGAE(in_dim, igae_hidden, latent, norm=norm, activation=igae_activation)
        self.fusion = SAIF(fusion_alpha, learn_fusion_alpha, norm=norm)
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent))
        self.alpha = float(alpha)
        self.checkpoint = False

    def _run(self, fn, *args):
        if self.checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint

            return checkpoint(fn, *args, use_reentrant=False).float()
        return fn(*args).float()

    def forward(self, graph, x, assign: bool = True):
        z_ae = self._run(lambda t: self.ae.encode(t)[-1], x)
        z_igae = self._run(lambda t: self.igae.encode(graph, t), x)
        z = self.fusion(graph, z_ae, z_igae)
        out = {"z_ae": z_ae, "z_igae": z_igae, "z": z, "x_hat": self._run(self.ae.decode, z),
               "z_hat": self._run(lambda t: self.igae.decode(graph, t), z)}
        if assign:
            with torch.autocast(device_type=z.device.type, enabled=False):
                out["q"] = student_t(z, self.centers, self.alpha)
                out["q_ae"] = student_t(z_ae, self.centers, self.alpha)
                out["q_igae"] = student_t(z_igae, self.centers, self.alpha)
        return out
