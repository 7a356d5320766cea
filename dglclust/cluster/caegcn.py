"""CaEGCN estimator (unsupervised, and the paper's semi-supervised variant)."""
from __future__ import annotations

import numpy as np
import torch

from ..models.caegcn import CaEGCNModule, caegcn_loss, caegcn_semi_loss
from ..nn.recon import target_coo
from ..train import SelfTrainer
from .base import BaseClusterer, argmax_labels, check_quadratic

__all__ = ["CaEGCN"]


def build_module(in_dim: int, n_clusters: int, n_nodes: int, params: dict) -> CaEGCNModule:
    """The :class:`CaEGCNModule` of a config's ``params`` (``load_config("caegcn")["params"]`` plus
    overrides) for ``n_nodes`` nodes (``checkpoint: auto`` recomputes the attention from 20,000)."""
    ckpt = params.get("checkpoint", "auto")
    ckpt = n_nodes >= 20000 if ckpt == "auto" else bool(ckpt)
    return CaEGCNModule(
        in_dim, n_clusters, params["encoder_dims"], params["decoder_dims"], int(params["heads"]),
        params["head_dim"], params["attn_scale"], float(params["gamma"]), params["norm"],
        params["fuse_layers"], bool(params["residual"]), ckpt, float(params["alpha"]),
        params["cae_hidden"], params["cae_latent"], params["cae_decoder"], params["fusion_sources"],
        params["t_layer"])


def _class_means(h, labels, labeled, k, seed):
    """Mean embedding of the labelled nodes of each class; a class without labelled nodes gets
    the embedding of a random node."""
    centers = torch.zeros(k, h.shape[1], dtype=h.dtype, device=h.device)
    counts = torch.zeros(k, dtype=h.dtype, device=h.device)
    centers.index_add_(0, labels[labeled], h[labeled])
    counts.index_add_(0, labels[labeled], torch.ones_like(labels[labeled], dtype=h.dtype))
    missing = counts == 0
    if missing.any():
        gen = torch.Generator().manual_seed(int(seed))
        pick = torch.randint(0, h.shape[0], (int(missing.sum()),), generator=gen).to(h.device)
        centers[missing] = h[pick]
        counts[missing] = 1
    return centers / counts[:, None]


class CaEGCN(BaseClusterer):
    r"""Cross-Attention Fusion based Enhanced GCN (Huo et al., TKDE 2021) on a DGLGraph.

    A GCN auto-encoder ``in-500-10-k-500-500-in`` whose layers are fed the 8-head cross-attention
    over all nodes of :math:`\gamma Z_l + (1 - \gamma) H_l` (``gamma = 0.5``, residual), ``H_l``
    from a pretrained content auto-encoder (by default SDCN's ``500-500-2000-10`` AE, cached and
    shared with SDCN, as in the official code; the paper's own widths are one config change away,
    see :mod:`dglclust.models.caegcn`). KMeans (``n_init=20``) on the CAE latent initializes
    Student's t centers; the loss is ``0.01 ||A - sigmoid(Z_L Z_L^T)||^2 + 0.01 ||X - Z_L||^2 +
    ||X - X_hat||^2 + 0.1 KL(P||T) + 0.01 KL(P||Z)`` (means), Adam lr 1e-3, 100 epochs, P refreshed
    every epoch; labels are ``argmax softmax(Z_{L/2})`` after the last epoch. Memory is O(n):
    attention in ``scaled_dot_product_attention``, the adjacency loss exact in tiles.

    ``q_hops`` > 0 computes T on ``q_hops`` rounds of normalized propagation of the centred CAE
    latent (the graph start's space, as SDCN's and AGCN's ``q_hops``) and ``target_power``
    sharpens the target as ``T^power`` instead of ``T^2``; both default to the paper (0 and 2).

    Cost per epoch: O(n^2 D) time for the attention over all nodes and the tiled adjacency loss
    (D the fused widths; the limit is ``max_nodes``), O(n d h + E h) for the GCN and AE layers, ``q_hops`` adds
    O(q_hops E l); memory O(n (d + sum of widths)), nothing n x n held.

    **Semi-supervised** (paper, appendix A.2, transductive): ``fit(graph, y=partial_labels)`` with
    ``partial_labels[i] = -1`` for unknown nodes and a class id in ``0..n_clusters-1`` otherwise.
    The self-supervised terms are replaced by the cross-entropies, on the labelled nodes, of the
    GAE's ``softmax(Z_{L/2})`` and of the CAE's soft assignment ``T`` (whose centers start at the
    class means of the labelled nodes' CAE embedding; no KMeans), weighted by ``semi_weights``
    (graph term, GAE, CAE; default ``(0.01, 1, 1)``). ``labels_`` are then class ids (not
    permuted clusters). Without ``n_clusters`` the number of classes comes from the graph's labels
    or from ``max(partial_labels) + 1``.

    Main hyperparameters (``dglclust/configs/caegcn.yaml``): ``encoder_dims``, ``decoder_dims``,
    ``cae_hidden`` / ``cae_latent`` / ``cae_decoder``, ``fusion_sources``, ``fuse_layers``,
    ``t_layer``, ``heads``, ``head_dim`` (``null`` = ``ceil(D_l / heads)`` per head; ``"full"`` =
    ``D_l`` per head), ``attn_scale`` (``null`` = ``1/sqrt(head_dim)``; ``1.0`` = the paper's plain
    dot product), ``residual``, ``loss_weights``, ``epochs``, ``lr``, ``checkpoint`` (``"auto"``:
    recompute the attention, one head at a time, and the CAE's forward pass in the backward pass
    from 20,000 nodes on: 100k nodes in 3.0 GiB, ``bench/results_caegcn.md``). Fitted extras:
    ``epoch_time_`` (training seconds / epochs, metric logging included), ``semi_supervised_``.

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import CaEGCN
        >>> g = load_dataset("digits")[0]
        >>> model = CaEGCN(n_clusters=10, random_state=0, verbose=False, epochs=5).fit(g)
        >>> model.labels_.shape
        (1797,)
    """

    name = "caegcn"

    def fit(self, graph, y=None):
        """Fit on ``graph``; ``y`` (optional, length ``n_nodes``, ``-1`` = unknown) switches to the
        semi-supervised variant. Ground truth in ``graph.ndata["label"]`` only feeds ``history_``."""
        self._partial = None if y is None else self._check_partial(y, graph)
        try:
            return super().fit(graph)
        finally:
            self._partial = None

    def fit_predict(self, graph, y=None):
        return self.fit(graph, y).labels_

    @staticmethod
    def _check_partial(y, graph):
        arr = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        if arr.ndim != 1 or arr.shape[0] != graph.num_nodes():
            raise ValueError(f"partial labels must be 1-D with one entry per node ({graph.num_nodes()}), "
                             f"got shape {arr.shape}; use -1 for unknown nodes")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(arr, 1), 0)):
                raise ValueError("partial labels must be integers (class ids, -1 = unknown)")
        arr = arr.astype(np.int64)
        if (arr < -1).any():
            raise ValueError("partial labels must be class ids >= 0 or -1 for unknown nodes")
        if not (arr >= 0).any():
            raise ValueError("partial labels contain no labelled node (all -1); call fit(graph) for "
                             "the unsupervised model")
        return arr

    def _resolve_n_clusters(self, n, y):
        partial = getattr(self, "_partial", None)
        if partial is not None and self.n_clusters is None and y is None:
            k = max(int(partial.max()) + 1, 2)
        else:
            k = super()._resolve_n_clusters(n, y)
        if partial is not None and partial.max() >= k:
            raise ValueError(f"partial labels go up to {int(partial.max())} but n_clusters={k}; class ids "
                             "must lie in 0..n_clusters-1")
        return k

    #: above this many nodes ``fit`` raises :class:`GraphTooLargeError` (exact attention over all
    #: nodes is O(n^2) work per epoch: measured 57 minutes per epoch at 100,000 nodes, 2 cores)
    max_nodes = 100_000

    def _check_scale(self, graph, n, d, params):
        check_quadratic(type(self).__name__, n, self.max_nodes, "its attention runs",
                        (100_000, 57 * 60.0), params["epochs"])

    def _fit(self, graph, x, y, params, seed):
        n, k = x.shape[0], self.n_clusters_
        module = build_module(x.shape[1], k, n, params).to(x.device)
        # same tag as the other AE-based models: an identical AE + settings shares the cached weights
        self._pretrain_ae(module.cae, x, params, seed, tag="ae",
                          embed=lambda: module.content(x)[module.t_layer - 1])
        target = target_coo(graph, add_self_loops=bool(params["recon_self_loops"]), norm="none",
                            device=x.device)
        tile = int(params["tile"])
        partial = self._partial
        self.semi_supervised_ = partial is not None
        if partial is None:
            self._init_centers(module, lambda: module.content(x)[module.t_layer - 1].float(),
                               params, seed, graph=graph)
            weights = [float(w) for w in params["loss_weights"]]

            def loss_fn(out, p):
                return caegcn_loss(out, x, target, p, weights, tile)

            target_fn = self._target_fn(graph, params)
            key = "pred" if params["predict_from"] == "gae" else "q"
        else:
            labels = torch.as_tensor(partial, device=x.device)
            labeled = labels >= 0
            labels = labels.clamp(min=0)
            with torch.no_grad(), self._autocast():
                h_mid = module.content(x)[module.t_layer - 1].float()
            with torch.no_grad():
                if int(params.get("q_hops", 0)) > 0:  # T reads the smoothed latent: centres there
                    h_mid = self._q_space(graph, h_mid, params)
                module.centers.copy_(_class_means(h_mid, labels, labeled, k, seed))
            weights = [float(w) for w in params["semi_weights"]]

            def loss_fn(out, p):
                return caegcn_semi_loss(out, target, labels, labeled, weights, tile)

            def target_fn(out):
                return None

            key = "pred"

        def forward():
            with self._autocast():
                return self._with_q(module, graph, module(graph, x), params, key="h_mid")

        trainer = SelfTrainer(module.parameters(), forward, loss_fn, lambda out: argmax_labels(out[key]),
                              epochs=int(params["epochs"]), lr=float(params["lr"]),
                              update_interval=int(params["update_interval"]), target_fn=target_fn,
                              y_true=y, verbose=bool(self.verbose), desc="CaEGCN", **self._stop_rule(params))
        out = trainer.run()
        self._store_self_training(module, trainer, out, key, "logits")
        self.train_time_ = trainer.seconds
        self.epoch_time_ = trainer.seconds / max(self.n_iter_, 1)
