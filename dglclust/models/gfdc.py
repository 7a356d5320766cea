r"""GFDC (Chen et al., "Graph Convolutional Network Combined with Semantic Feature Guidance for
Deep Clustering", Tsinghua Science and Technology 2022): the network and its losses.

* Feature extractor :math:`f`: :class:`VGGFeatures`, the VGG11 convolution/pooling stack
  (8 conv3x3 layers ``64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M``; batch norm optional),
  our own definition. Channels are multiplied by ``width`` (``width=1`` is VGG11); pooling uses
  ``ceil_mode`` so a 1x1 map stays 1x1, and a final adaptive average pool makes the output
  independent of the input size: any image of at least 16x16 pixels and any number of channels
  works. :math:`z = f(x)` is the pooled feature vector (``512 * width`` values), optionally followed
  by a linear projection to ``embed_dim``.
* Per-batch graph (:func:`batch_graph`, Eqs. 1-2): nodes are the batch's features; for
  :math:`i \ne j`, :math:`a_{ij} = s(z_i, z_j) = \exp(-\lVert z_i - z_j\rVert^2)` is kept when
  :math:`a_{ij} > \tau` (default 0.7). The graph is a DGLGraph (on the CPU) storing each kept pair
  in both directions (symmetric by construction: the distances are symmetrized before
  thresholding) and **no self-loops**; the propagation op adds :math:`I`, i.e. :math:`a_{ii} = 1 =
  s(z_i, z_i)`, exactly the diagonal of the paper's :math:`A`. Edge weights are the similarities.
* Clusterer :math:`g`: :class:`GCNClusterer`, two GCN layers (:class:`dglclust.nn.GCNLayer` with
  edge weights, :math:`\hat A = D^{-1/2} A D^{-1/2}` over the weighted :math:`A` incl. the unit
  diagonal): :math:`H = \mathrm{ReLU}(\hat A Z W_1)`, :math:`O = \hat A H W_2`,
  :math:`Q = \mathrm{softmax}(O)` (Eqs. 3-4).
* Losses (:func:`cluster_loss`, :func:`global_loss`, :func:`local_loss`, :func:`local_weight`):
  Eq. 8 :math:`L_{cls} = \frac{1}{NK}\sum p \ln(p/q) + \frac{1}{N}\lVert Z^u - \tilde Z^u\rVert^2`,
  Eq. 5 :math:`L_{global} = -\frac{1}{n_2 K}\sum y \ln q^l + \lVert E(Z^u) - E(Z^l)\rVert^2`,
  Eq. 6/7 :math:`L_{local} = \frac{\gamma}{K}\sum_k \lVert c^u_k - c^l_k\rVert^2` with the cluster
  centres :math:`c^u_k` (mean of the unlabeled features assigned to cluster ``k`` by ``argmax Q``)
  and :math:`c^l_k` (mean of the labeled features of class ``k``), and
  :math:`\gamma = 2 / (1 + e^{-10\,e/E}) - 1` growing with the epoch ``e`` (1-based) of ``E``.
  The paper leaves :math:`P` implicit ("Q and P are predicted through the clusterer" for the
  original and the rotated images); here :math:`P` is DEC's sharpened target
  (:func:`dglclust.ops.target_distribution`, no gradient) of the clusterer's prediction
  :math:`\tilde Q` on the rotated views, so the KL term both sharpens and ties the two views.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._compat import import_dgl
from ..nn import GCNLayer
from ..nn.gcn import _upcast
from ..ops import graph_spmm
from ..ops.student_t import dec_kl_loss

__all__ = [
    "VGG11_CONFIG",
    "MIN_IMAGE_SIZE",
    "VGGFeatures",
    "WeightedGCNLayer",
    "GCNClusterer",
    "GFDCNet",
    "batch_graph",
    "random_rotation",
    "rotate",
    "cluster_loss",
    "global_loss",
    "local_loss",
    "local_weight",
    "check_images",
]

#: VGG11 ("configuration A"): conv3x3 output channels, ``"M"`` = 2x2 max pooling.
VGG11_CONFIG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
#: Smallest image side accepted (four 2x2 poolings take 16 pixels to 1).
MIN_IMAGE_SIZE = 16


def check_images(x, name="images", min_size=MIN_IMAGE_SIZE) -> torch.Tensor:
    """Validate an image batch: a floating ``(N, C, H, W)`` tensor (numpy accepted), ``H, W >=
    min_size``, finite values. Returns it as a float tensor."""
    if not isinstance(x, torch.Tensor):
        try:
            import numpy as np

            x = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an (N, C, H, W) tensor or array, got "
                            f"{type(x).__name__}") from exc
    if x.dim() != 4:
        hint = (f"; for grayscale images of shape (N, H, W) pass {name}[:, None]" if x.dim() == 3
                else "; flattened images must be reshaped to (N, C, H, W)" if x.dim() == 2 else "")
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if min(h, w) < min_size:
        raise ValueError(
            f"{name} are {h}x{w} pixels; GFDC's VGG11 feature extractor needs at least "
            f"{min_size}x{min_size}. Upsample them first, e.g. dglclust.data.resize_images(x, "
            f"{min_size}) or dglclust.data.load_images(name, min_size={min_size})")
    if not x.is_floating_point():
        x = x.float()
    bad = ~torch.isfinite(x.reshape(x.shape[0], -1)).all(dim=1)
    if bad.any():
        rows = torch.nonzero(bad).flatten()[:5].tolist()
        raise ValueError(f"{name} contain NaN or inf in {int(bad.sum())} images (first: {rows}); "
                         "drop or repair them before clustering")
    return x.float()


class VGGFeatures(nn.Module):
    """VGG11-style convolutional feature extractor (any channel count, any size >= 16x16).

    Args:
        in_channels: image channels (1 for grayscale, 3 for RGB, ...).
        width: channel multiplier (``1.0`` = VGG11's 64..512 channels; each layer keeps at least
            one channel).
        embed_dim: ``None`` (default): the output is the globally pooled last conv map
            (``round(512 * width)`` values, ReLU'd); an int adds a linear projection to it.
        batch_norm: BatchNorm after every convolution (VGG11-BN).
        config: layer list (default :data:`VGG11_CONFIG`).

    Example:
        >>> import torch
        >>> f = VGGFeatures(1, width=0.125)
        >>> f(torch.rand(4, 1, 16, 16)).shape
        torch.Size([4, 64])
    """

    def __init__(self, in_channels=1, width=1.0, embed_dim=None, batch_norm=True, config=VGG11_CONFIG):
        super().__init__()
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        layers, c = [], int(in_channels)
        for v in config:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                out = max(1, int(round(v * width)))
                layers.append(nn.Conv2d(c, out, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                c = out
        self.in_channels = int(in_channels)
        self.conv = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Linear(c, int(embed_dim)) if embed_dim else None
        self.out_dim = int(embed_dim) if embed_dim else c

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"VGGFeatures expects (N, {self.in_channels}, H, W) images, got "
                             f"{tuple(x.shape)}")
        if min(x.shape[-2:]) < MIN_IMAGE_SIZE:
            raise ValueError(f"images must be at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}, got "
                             f"{tuple(x.shape[-2:])}")
        z = self.pool(self.conv(x)).flatten(1)
        return self.proj(z) if self.proj is not None else z


def batch_graph(z, threshold=0.7, normalize=False, edge_grad=True):
    r"""The per-batch similarity graph of GFDC (Eqs. 1-2).

    For :math:`i \ne j`: :math:`s_{ij} = \exp(-\lVert z_i - z_j \rVert^2)`, an edge when
    :math:`s_{ij} > \text{threshold}`. Rules: the DGLGraph (CPU, int64 ids) stores every kept pair
    in **both** directions (the squared distances are symmetrized, so ``(i, j)`` is kept iff
    ``(j, i)`` is) and **no self-loops** (the propagation adds :math:`I`, which is the paper's
    diagonal :math:`s_{ii} = 1`); it may have no edges at all.

    Args:
        z: ``(n, d)`` features.
        threshold: keep ``s_ij > threshold`` (in ``(0, 1)``; 0.7 in the paper).
        normalize: compute the distances on L2-normalized features (``||zi - zj||^2 = 2 - 2 cos``),
            which makes the graph independent of the feature scale (not in the paper).
        edge_grad: the returned edge weights are differentiable functions of ``z`` (else detached).

    Returns:
        ``(graph, weights)``: the DGLGraph and the ``(E,)`` similarities in DGL edge order, on
        ``z``'s device.
    """
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must lie in (0, 1) (similarities exp(-d^2) are in (0, 1]), got "
                         f"{threshold!r}")
    dgl = import_dgl()
    zf = z.float()
    if normalize:
        zf = F.normalize(zf, dim=1)
    with torch.no_grad():
        d2 = torch.cdist(zf.detach(), zf.detach()).pow_(2)
        d2 = 0.5 * (d2 + d2.T)
        keep = torch.exp(-d2) > float(threshold)
        keep.fill_diagonal_(False)
        src, dst = keep.nonzero(as_tuple=True)
    g = dgl.graph((src.cpu(), dst.cpu()), num_nodes=z.shape[0], idtype=torch.int64)
    if edge_grad and torch.is_grad_enabled():
        w = torch.exp(-(zf[src] - zf[dst]).pow(2).sum(1))
    else:
        w = torch.exp(-d2[src, dst])
    return g, w


class WeightedGCNLayer(GCNLayer):
    """:class:`dglclust.nn.GCNLayer` taking per-edge weights (DGL edge order) for the propagation;
    without weights it is the plain layer."""

    def forward(self, graph, feat, edge_weight=None):
        if edge_weight is None:
            return super().forward(graph, feat)
        if feat.shape[-1] != self.in_feats:
            raise ValueError(f"GCNLayer expects {self.in_feats} input features, got {feat.shape[-1]}")
        if self.in_feats > self.out_feats:
            h = graph_spmm(graph, _upcast(feat @ self.weight), edge_weight,
                           add_self_loops=self.add_self_loops, norm=self.norm)
        else:
            h = graph_spmm(graph, _upcast(feat), edge_weight, add_self_loops=self.add_self_loops,
                           norm=self.norm) @ self.weight
        if self.bias is not None:
            h = h + self.bias
        return self.activation(h) if self.activation is not None else h


class GCNClusterer(nn.Module):
    r"""Two-layer GCN clusterer: :math:`O = \hat A\,\mathrm{ReLU}(\hat A Z W_1) W_2`; returns the
    logits :math:`O` (``Q = softmax(O)``)."""

    def __init__(self, in_dim, hidden, n_clusters, norm="sym"):
        super().__init__()
        self.gc1 = WeightedGCNLayer(in_dim, hidden, norm=norm, activation=torch.relu)
        self.gc2 = WeightedGCNLayer(hidden, n_clusters, norm=norm)

    def forward(self, graph, z, edge_weight=None):
        return self.gc2(graph, self.gc1(graph, z, edge_weight), edge_weight)


class GFDCNet(nn.Module):
    r"""Feature extractor + per-batch graph + GCN clusterer.

    ``forward(x)`` returns ``(z, logits, graph)``; :meth:`embed` is the feature extractor,
    :meth:`assign` runs the clusterer on given features (one graph over all of them).
    ``l2_normalize=True`` (not in the paper) puts :math:`Z` on the unit sphere before the graph and
    every loss: the paper's raw-scale :math:`\exp(-\lVert z_i - z_j\rVert^2) > 0.7` then means a
    cosine similarity above 0.82, and the view-consistency MSE can no longer be lowered by
    shrinking all features (which makes the raw-scale graph dense and over-smooths the GCN)."""

    def __init__(self, in_channels, n_clusters, width=1.0, embed_dim=None, gcn_hidden=256,
                 batch_norm=True, threshold=0.7, l2_normalize=False, edge_grad=True):
        super().__init__()
        self.features = VGGFeatures(in_channels, width, embed_dim, batch_norm)
        self.clusterer = GCNClusterer(self.features.out_dim, int(gcn_hidden), int(n_clusters))
        self.threshold = float(threshold)
        self.l2_normalize = bool(l2_normalize)
        self.edge_grad = bool(edge_grad)
        self.n_clusters = int(n_clusters)

    def embed(self, x):
        """:math:`Z = f(x)`, L2-normalized per row when ``l2_normalize``."""
        z = self.features(x)
        return F.normalize(z, dim=1) if self.l2_normalize else z

    def assign(self, z, graph=True):
        """Clusterer logits of the features ``z`` on their batch graph; returns ``(logits, graph)``.
        ``graph=False`` uses an edgeless graph (self-loops only: the GCN acts row-wise)."""
        if graph:
            g, w = batch_graph(z, self.threshold, False, self.edge_grad)
        else:
            dgl = import_dgl()
            empty = torch.zeros(0, dtype=torch.int64)
            g, w = dgl.graph((empty, empty), num_nodes=z.shape[0], idtype=torch.int64), None
        return self.clusterer(g, z, w), g

    def forward(self, x):
        z = self.embed(x)
        logits, g = self.assign(z)
        return z, logits, g


def rotate(x, degrees):
    """Rotate each image of ``(N, C, H, W)`` ``x`` about its centre by ``degrees[i]`` (counter-
    clockwise as displayed, row 0 at the top) with ``affine_grid`` / ``grid_sample`` (bilinear,
    zero padding outside the image). Same shape, dtype and device."""
    rad = torch.as_tensor(degrees, dtype=torch.float64).reshape(-1) * (math.pi / 180.0)
    if rad.numel() != x.shape[0]:
        raise ValueError(f"rotate needs one angle per image ({x.shape[0]}), got {rad.numel()}")
    rad = rad.to(device=x.device, dtype=x.dtype)
    cos, sin = torch.cos(rad), torch.sin(rad)
    zero = torch.zeros_like(cos)
    # output pixel at normalized (x right, y down) samples the input at the inverse rotation
    mat = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_rotation(x, max_degrees=180.0, generator=None):
    """:func:`rotate` each image by an angle drawn uniformly from ``[-max_degrees, max_degrees]``
    (180: any angle, the paper's 0-360 degrees). ``generator``: a CPU ``torch.Generator``."""
    u = torch.rand(x.shape[0], generator=generator, dtype=torch.float64) * 2.0 - 1.0
    return rotate(x, u * float(max_degrees))


def cluster_loss(q, p, z_u, z_aug):
    r"""Eq. 8: :math:`\frac{1}{NK}\sum_{ik} p_{ik}\ln(p_{ik}/q_{ik}) +
    \frac{1}{N}\lVert Z^u - \tilde Z^u\rVert_F^2` (``p`` is a constant target)."""
    k = q.shape[1]
    kl = dec_kl_loss(q.float().clamp_min(1e-12), p.float()) / k
    mse = (z_u.float() - z_aug.float()).pow(2).sum(1).mean()
    return kl + mse, kl.detach(), mse.detach()


def global_loss(logits_l, y_l, z_u, z_l):
    r"""Eq. 5: :math:`-\frac{1}{n_2 K}\sum_{ik} y_{ik}\ln q^l_{ik} + \lVert E(Z^u) - E(Z^l)\rVert^2`
    (cross-entropy of the labeled predictions, divided by ``K`` as in the paper, plus the squared
    distance between the batch means of the features)."""
    k = logits_l.shape[1]
    ce = F.cross_entropy(logits_l.float(), y_l) / k
    gap = (z_u.float().mean(0) - z_l.float().mean(0)).pow(2).sum()
    return ce + gap, ce.detach(), gap.detach()


def local_loss(z_u, assign_u, z_l, y_l, n_clusters):
    r"""Eqs. 6-7: :math:`\frac{1}{K}\sum_k \lVert c^u_k - c^l_k\rVert^2`, ``c^u_k`` the mean of the
    unlabeled features with ``assign_u == k`` (hard assignments, ``argmax Q``), ``c^l_k`` the mean of
    the labeled features of class ``k``; clusters missing from either side of the batch add 0."""
    oh_u = F.one_hot(assign_u, n_clusters).to(z_u.dtype)
    oh_l = F.one_hot(y_l, n_clusters).to(z_l.dtype)
    n_u, n_l = oh_u.sum(0), oh_l.sum(0)
    both = (n_u > 0) & (n_l > 0)
    c_u = (oh_u.T @ z_u) / n_u.clamp_min(1).unsqueeze(1)
    c_l = (oh_l.T @ z_l) / n_l.clamp_min(1).unsqueeze(1)
    return ((c_u - c_l).pow(2).sum(1) * both).sum() / n_clusters


def local_weight(epoch, epochs):
    r"""The growing weight :math:`\gamma = 2 / (1 + e^{-10\,e/E}) - 1` of the local loss for epoch
    ``e`` (1-based) of ``E`` (0 at ``e = 0``, about 1 at ``e = E``)."""
    return 2.0 / (1.0 + math.exp(-10.0 * float(epoch) / max(1, int(epochs)))) - 1.0
