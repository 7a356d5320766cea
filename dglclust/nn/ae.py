"""The fully connected autoencoder shared by AE+KMeans, DEC, IDEC, SDCN and the SDCN family."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["AE", "mlp"]


def mlp(dims: Sequence[int], last_activation: bool = False) -> nn.ModuleList:
    """Linear layers ``dims[0] -> dims[1] -> ...``; returned as a ModuleList (activations applied
    by the caller so intermediate outputs stay accessible)."""
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))


class AE(nn.Module):
    r"""Autoencoder ``in -> h_1 -> ... -> h_m -> z -> h_m -> ... -> h_1 -> in``.

    Encoder layers use ReLU except the embedding layer (linear); the decoder mirrors the encoder and
    ends linear. SDCN uses ``hidden=(500, 500, 2000)``, ``latent=10``.

    ``forward(x)`` returns ``(x_hat, hiddens)`` where ``hiddens = [h_1, ..., h_m, z]``; the
    intermediate representations feed the GCN branch of SDCN-style models.

    Example:
        >>> ae = AE(in_dim=20, hidden=(16, 8), latent=4)
        >>> x_hat, hs = ae(torch.randn(5, 20))
        >>> x_hat.shape, [h.shape[1] for h in hs]
        (torch.Size([5, 20]), [16, 8, 4])
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (500, 500, 2000), latent: int = 10,
                 negative_slope: float = 0.0, decoder_hidden: Sequence[int] | None = None):
        super().__init__()
        if in_dim < 1 or latent < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"AE dimensions must be positive, got in_dim={in_dim}, hidden={hidden}, latent={latent}")
        self.in_dim, self.hidden, self.latent = int(in_dim), tuple(int(h) for h in hidden), int(latent)
        self.negative_slope = float(negative_slope)  # > 0: LeakyReLU (DFCN uses 0.2) instead of ReLU
        enc_dims = [self.in_dim, *self.hidden, self.latent]
        self.encoder = mlp(enc_dims)
        # decoder_hidden: widths of an asymmetric decoder (CaEGCN: in-500-10-k-500-500-in)
        dec = self.hidden[::-1] if decoder_hidden is None else tuple(int(h) for h in decoder_hidden)
        self.decoder = mlp([self.latent, *dec, self.in_dim])

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        if self.negative_slope:
            return torch.nn.functional.leaky_relu(h, self.negative_slope)
        return torch.relu(h)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        hs = []
        h = x
        last = len(self.encoder) - 1
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if i < last:
                h = self._act(h)
            hs.append(h)
        return hs

    def decode(self, z: torch.Tensor, return_hiddens: bool = False):
        """``x_hat``, or with ``return_hiddens`` the list of every decoder layer's output (ending
        with ``x_hat``)."""
        h = z
        hs = []
        last = len(self.decoder) - 1
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < last:
                h = self._act(h)
            hs.append(h)
        return hs if return_hiddens else h

    def forward(self, x: torch.Tensor):
        hs = self.encode(x)
        return self.decode(hs[-1]), hs
