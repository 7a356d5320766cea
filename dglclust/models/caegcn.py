r"""CaEGCN (Huo et al., TKDE 2021): cross-attention fusion based enhanced graph convolutional network.

A content auto-encoder (CAE, the shared :class:`dglclust.nn.AE`, pretrained and cached) and a graph
auto-encoder (GAE) of :class:`dglclust.nn.GCNLayer` s run side by side. GAE layer widths are the
paper's ``in -> 500 -> 10 -> k -> 500 -> 500 -> in`` (``k`` = number of clusters):
:math:`Z_1 = \sigma(\hat A X U_1)`, :math:`Z_{l+1} = \sigma(\hat A R_l U_{l+1})`,
:math:`\hat A = D^{-1/2}(A+I)D^{-1/2}`, with the cross-attention fusion

.. math:: R_l = F_{att}(Y_l) \;[+\, Y_l],\qquad Y_l = \gamma Z_l + (1 - \gamma) H_{s(l)}

(:class:`dglclust.nn.attention.CrossAttentionFusion`: 8-head softmax attention over all nodes).
:math:`H_{s(l)}` is the CAE layer paired with GAE layer ``l`` (``fusion_sources``). The middle GAE
layer :math:`Z_{L/2}` (width ``k``) is the prediction head, ``softmax``-ed; Student's t
:math:`T` sits on the CAE layer ``t_layer`` with KMeans-initialized centers. Hidden layers use
ReLU; the middle and last layers of both auto-encoders are linear.

Two readings of the architecture are expressible (``dglclust/configs/caegcn.yaml`` explains them):

* the paper's text: CAE widths = GAE widths, :math:`s(l) = l`, attention at every layer,
  :math:`T` on the CAE's ``k``-wide middle layer, no residual;
* the default, close to the official code: the CAE is SDCN's auto-encoder
  ``500-500-2000-10`` (shared with SDCN/DEC/IDEC, same cached weights), :math:`T` on its
  10-d latent, fused by width into GAE layers 1, 2, 4, 5 (the ``k``-wide layer has no CAE
  partner), with the residual ``R_l = Y_l + F_att(Y_l)``. Without the residual, attention over
  thousands of nodes starts uniform (all nodes get the same :math:`R_l`) and the prediction head
  stays collapsed for tens of epochs (as reported for the official code).

Loss (eq. 21, :func:`caegcn_loss`), every term a mean (as MSE / ``batchmean`` KL):

.. math::
    \lambda_1 \|A - \mathrm{sigmoid}(Z_L Z_L^T)\|^2 + \lambda_2 \|X - Z_L\|^2
    + \lambda_3 \|X - \hat X\|^2 + \lambda_4 KL(P \| T) + \lambda_5 KL(P \| Z)

with :math:`\lambda = (0.01, 0.01, 1, 0.1, 0.01)`. The adjacency term is exact and never builds
the ``n x n`` matrix (:func:`dglclust.nn.recon.gram_mse`). :math:`Z_L = (\hat A R_{L-1}) U_L` has
rank at most the width of :math:`R_{L-1}` (500); when :math:`Z_L` is wider (ACM: 1,870, CiteSeer:
3,703 features) the term reads the exact 500-wide factor :math:`Y` with
:math:`Y Y^T = Z_L Z_L^T` (:func:`dglclust.nn.recon.gram_factor`): 3.7x (ACM) to 7.4x (CiteSeer)
less work in the all-pairs sum, the same loss up to float rounding.

Semi-supervised variant (paper, appendix A.2, transductive): with labels :math:`Y` on a subset of
nodes the self-supervised terms are replaced by :math:`KL(Y \| Z) + KL(Y \| T)` on the labelled
nodes -- the cross-entropies of the GAE's ``softmax(Z_{L/2})`` and of the CAE's soft assignment
:math:`T` -- see :func:`caegcn_semi_loss`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import AE, GCNLayer
from ..nn.attention import CrossAttentionFusion
from ..nn.recon import gram_factor, gram_mse
from ..ops import student_t
from ..train import kl_div

__all__ = ["CaEGCNModule", "caegcn_loss", "caegcn_semi_loss", "LOSS_WEIGHTS"]

#: the paper's lambda_1..lambda_5 (graph, GAE content, CAE content, KL(P||T), KL(P||Z))
LOSS_WEIGHTS = (0.01, 0.01, 1.0, 0.1, 0.01)


class CaEGCNModule(nn.Module):
    r"""CAE + GAE with cross-attention fusion; see the module docstring.

    Parameters:
        in_dim, n_clusters: input width and ``k``.
        encoder, decoder: the GAE's hidden widths around the ``k``-wide middle layer (paper
            ``(500, 10)`` / ``(500, 500)``).
        heads, head_dim, attn_scale, gamma, residual: see :class:`CrossAttentionFusion`.
        checkpoint: recompute in the backward pass instead of storing: the attention (one head at
            a time, :class:`CrossAttentionFusion`) and the CAE's forward pass (only the CAE layers
            the GAE and the losses read are kept until used). For large n: at 100,000 nodes the
            stored CAE activations are ~1.2 GB; the recomputation is O(n), the attention O(n^2).
        fuse_layers: the GAE layers ``l`` (1-based, ``1 <= l < L``) whose :math:`R_l` goes through
            attention (``None``: all, as in the paper); the others use the plain mix
            :math:`\gamma Z_l + (1 - \gamma) H_l` (the paper's "w/o attention" ablation).
        cae_hidden, cae_latent, cae_decoder: the CAE's widths; ``None`` (paper): the GAE's
            (``encoder``, ``k``, ``decoder``). The official code instead pairs the GAE with SDCN's
            autoencoder ``(500, 500, 2000)``, ``10``, ``(2000, 500, 500)``.
        fusion_sources: for each GAE layer ``l = 1..L-1`` the CAE layer (1-based over
            :math:`H_1, \dots, H_M`, ``H_M = \hat X``) fused into it, or ``None`` for no CAE input
            (:math:`R_l` from :math:`Z_l` alone). Default: layer ``l`` (the paper).
        t_layer: the CAE layer carrying Student's t :math:`T` (default: the CAE's middle layer).
        norm: propagation normalization; alpha: Student's t degrees of freedom.

    ``forward(graph, x)`` returns ``{"x_hat", "z_out" (Z_L), "logits" (Z_{L/2}), "pred"
    (softmax), "h_mid" (the CAE layer of T), "q" (T)}``, plus ``"z_factors" = (M, U_L)`` with
    ``Z_L = M U_L`` when ``U_L`` widens (the losses then read the narrow Gram factor).
    """

    def __init__(self, in_dim: int, n_clusters: int, encoder: Sequence[int] = (500, 10),
                 decoder: Sequence[int] = (500, 500), heads: int = 8, head_dim=None,
                 attn_scale=None, gamma: float = 0.5, norm: str = "sym", fuse_layers=None,
                 residual: bool = False, checkpoint: bool = False, alpha: float = 1.0,
                 cae_hidden=None, cae_latent=None, cae_decoder=None, fusion_sources=None,
                 t_layer=None):
        super().__init__()
        k = int(n_clusters)
        dims = [int(in_dim), *(int(e) for e in encoder), k, *(int(d) for d in decoder), int(in_dim)]
        if cae_hidden is None:
            cae_hidden, cae_latent, cae_decoder = tuple(encoder), k, tuple(decoder)
        cae_latent = int(cae_latent if cae_latent is not None else k)
        cae_decoder = tuple(cae_hidden)[::-1] if cae_decoder is None else tuple(cae_decoder)
        self.cae = AE(in_dim, tuple(cae_hidden), cae_latent, decoder_hidden=cae_decoder)
        cae_widths = [*(int(h) for h in cae_hidden), cae_latent, *(int(d) for d in cae_decoder), int(in_dim)]
        self.n_layers = len(dims) - 1
        self.mid = len(encoder) + 1  # 1-based index of the clustering layer (L/2 in the paper)
        if fusion_sources is None:
            if cae_widths != dims[1:]:
                raise ValueError("fusion_sources is required when the CAE's widths differ from the GAE's")
            fusion_sources = list(range(1, self.n_layers))
        self.sources = [None if v is None else int(v) for v in fusion_sources]
        if len(self.sources) != self.n_layers - 1:
            raise ValueError(f"fusion_sources needs one entry per GAE layer 1..{self.n_layers - 1}, "
                             f"got {len(self.sources)}")
        for layer, src in enumerate(self.sources, start=1):
            if src is not None and not (1 <= src <= len(cae_widths) and cae_widths[src - 1] == dims[layer]):
                raise ValueError(f"fusion_sources[{layer - 1}] = {src}: the CAE layer must exist and be "
                                 f"{dims[layer]} wide like GAE layer {layer} (CAE widths {cae_widths})")
        self.t_layer = len(cae_hidden) + 1 if t_layer is None else int(t_layer)
        if not 1 <= self.t_layer < len(cae_widths):
            raise ValueError(f"t_layer must be in 1..{len(cae_widths) - 1}, got {self.t_layer}")
        linear = {self.mid, self.n_layers}
        self.gae = nn.ModuleList(
            GCNLayer(a, b, norm=norm, activation=None if i + 1 in linear else torch.relu)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])))
        layers = range(1, self.n_layers) if fuse_layers is None else [int(v) for v in fuse_layers]
        bad = [v for v in layers if not 1 <= v < self.n_layers]
        if bad:
            raise ValueError(f"fuse_layers must be in 1..{self.n_layers - 1}, got {bad}")
        self.fusion = nn.ModuleDict({
            str(v): CrossAttentionFusion(dims[v], heads, head_dim, attn_scale, gamma, residual, checkpoint)
            for v in sorted(set(layers))})
        self.gamma = float(gamma)
        self.checkpoint = bool(checkpoint)
        self._n_cae = len(cae_widths)  # CAE layers read below: fusion sources, T's layer, X_hat
        self._used = sorted({s - 1 for s in self.sources if s is not None} | {self.t_layer - 1, self._n_cae - 1})
        # Z_L = (A_hat R) U_L is linear with rank <= R's width: when that is narrower than Z_L, the
        # adjacency loss reads the exact narrower factor of Z_L Z_L^T (nn.recon.gram_factor)
        last = self.gae[-1]
        self._gram_factor = last.in_feats < last.out_feats and last.bias is None and last.activation is None
        self.centers = nn.Parameter(torch.zeros(k, cae_widths[self.t_layer - 1]))
        self.alpha = float(alpha)

    def content(self, x: torch.Tensor) -> list[torch.Tensor]:
        r"""The CAE's layer outputs :math:`H_1, \dots, H_M` (:math:`H_M = \hat X`)."""
        hs = self.cae.encode(x)
        return hs + self.cae.decode(hs[-1], return_hiddens=True)

    def _content_used(self, x: torch.Tensor) -> tuple:
        hs = self.content(x)
        return tuple(hs[i] for i in self._used)

    def forward(self, graph, x: torch.Tensor, dense_attention: bool = False) -> dict:
        if self.checkpoint and torch.is_grad_enabled() and not dense_attention:
            from torch.utils.checkpoint import checkpoint

            hs = dict(zip(self._used, checkpoint(self._content_used, x, use_reentrant=False)))
            hs = [hs.get(i) for i in range(self._n_cae)]
        else:
            hs = self.content(x)
        keep = {self.t_layer - 1, len(hs) - 1}
        z = self.gae[0](graph, x)
        logits = z if self.mid == 1 else None
        for layer in range(1, self.n_layers):
            src = self.sources[layer - 1]
            h = z if src is None else hs[src - 1]
            if src is not None and src - 1 not in keep and src not in self.sources[layer:]:
                hs[src - 1] = None  # free a CAE layer after its last use
            fuse = self.fusion[str(layer)] if str(layer) in self.fusion else None
            if fuse is not None:
                r = fuse(z, h, dense=dense_attention)
            else:
                r = self.gamma * z + (1.0 - self.gamma) * h
            del h
            if layer == self.n_layers - 1 and self._gram_factor:
                z, z_prop = self.gae[layer](graph, r, return_propagated=True)
            else:
                z = self.gae[layer](graph, r)
            del r
            if layer + 1 == self.mid:
                logits = z
        logits = logits.float()
        h_mid = hs[self.t_layer - 1].float()
        with torch.autocast(device_type=x.device.type, enabled=False):
            q = student_t(h_mid, self.centers, self.alpha)
        out = {"x_hat": hs[-1].float(), "z_out": z.float(), "logits": logits,
               "pred": torch.softmax(logits, dim=1), "h_mid": h_mid, "q": q}
        if self._gram_factor:
            out["z_factors"] = (z_prop, self.gae[-1].weight)
        return out


def _gram_input(out: dict) -> torch.Tensor:
    """What the adjacency loss reads: the narrow factor of Z_L Z_L^T when the forward pass gave
    ``Z_L = M U_L`` as ``out["z_factors"]`` (:func:`dglclust.nn.recon.gram_factor`), else ``Z_L``."""
    factors = out.get("z_factors")
    return gram_factor(*factors) if factors is not None else out["z_out"]


def caegcn_loss(out: dict, x: torch.Tensor, target, p: torch.Tensor,
                weights: Sequence[float] = LOSS_WEIGHTS, tile: int = 2048):
    """Eq. 21 -> ``(loss, parts)``. ``target`` = :func:`dglclust.nn.recon.target_coo` of the graph
    (the adjacency being reconstructed), ``p`` the target distribution (from ``out["q"]``)."""
    w1, w2, w3, w4, w5 = (float(w) for w in weights)
    with torch.autocast(device_type=x.device.type, enabled=False):
        graph = gram_mse(_gram_input(out), target, sigmoid=True, reduction="mean",
                         tile=tile) if w1 else out["z_out"].new_zeros(())
        gae_content = F.mse_loss(out["z_out"], x)
        cae_content = F.mse_loss(out["x_hat"], x)
        kl_t = kl_div(out["q"].log(), p)
        kl_z = kl_div(F.log_softmax(out["logits"], dim=1), p)
    loss = w1 * graph + w2 * gae_content + w3 * cae_content + w4 * kl_t + w5 * kl_z
    parts = {"graph": graph, "gae_content": gae_content, "cae_content": cae_content,
             "kl_t": kl_t, "kl_z": kl_z}
    return loss, {k: v.detach() for k, v in parts.items()}


def caegcn_semi_loss(out: dict, target, labels: torch.Tensor, labeled: torch.Tensor,
                     weights: Sequence[float] = (0.01, 1.0, 1.0), tile: int = 2048):
    """Appendix A.2 (transductive): ``w_g * graph + w_z * KL(Y||Z) + w_h * KL(Y||T)`` with the KL
    terms over the labelled nodes ``labeled`` (bool mask or index): for one-hot ``Y`` the
    cross-entropies of the GAE's ``softmax(Z_{L/2})`` and of the CAE's soft assignment ``T``."""
    wg, wz, wh = (float(w) for w in weights)
    with torch.autocast(device_type=out["logits"].device.type, enabled=False):
        graph = gram_mse(_gram_input(out), target, sigmoid=True, reduction="mean",
                         tile=tile) if wg else out["z_out"].new_zeros(())
        y = labels[labeled]
        sup_z = F.cross_entropy(out["logits"][labeled], y)
        sup_t = F.nll_loss(out["q"][labeled].clamp_min(1e-12).log(), y)
    loss = wg * graph + wz * sup_z + wh * sup_t
    return loss, {"graph": graph.detach(), "sup_gae": sup_z.detach(), "sup_cae": sup_t.detach()}
