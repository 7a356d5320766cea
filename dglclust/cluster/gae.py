"""GAE, VGAE and DAEGC estimators (the graph auto-encoder baselines)."""
from __future__ import annotations

import torch

from ..models.gae import DAEGCModule, GAEModule, bce_weights, gae_loss
from ..nn.gat import attention_structure
from ..nn.recon import gram_bce, target_coo
from ..ops import student_t
from ..train import SelfTrainer, kl_div
from .base import BaseClusterer, argmax_labels, too_large

__all__ = ["GAE", "VGAE", "DAEGC"]


def _l2(module, weight_decay):
    """``weight_decay / 2 * ||theta||^2``: its gradient is Adam's ``weight_decay * theta``."""
    if not weight_decay:
        return 0.0
    return 0.5 * weight_decay * sum(p.square().sum() for p in module.parameters())


class _GraphAEBase(BaseClusterer):
    """Reconstruction training (full batch, cached on disk by data + initial weights + settings,
    :func:`dglclust.train.pretrain_graph.pretrain_full_batch`) shared by the family."""

    def _train_reconstruction(self, module, loss_fn, graph, x, params, *, epochs, lr, tag, settings):
        from ..train.pretrain_graph import graph_fingerprint_parts, pretrain_full_batch

        module.train()
        info = pretrain_full_batch(module, loss_fn, data=graph_fingerprint_parts(graph, x), epochs=int(epochs),
                                   lr=float(lr), tag=tag, settings=settings, cache=bool(params["cache"]),
                                   verbose=bool(self.verbose))
        self.pretrain_time_ = info["seconds"]
        self.pretrain_info_ = info
        return info


class GAE(_GraphAEBase):
    r"""Graph auto-encoder (Kipf & Welling 2016) + KMeans on its embedding.

    Two-layer GCN encoder (``hidden_dims=[32]``, ``latent_dim=16``), inner-product decoder,
    weighted binary cross-entropy against :math:`A + I` (exact, O(n) memory,
    :func:`dglclust.nn.recon.gram_bce`), Adam lr 0.01 for 200 epochs; then KMeans
    (``n_init=20``). ``soft_assignments_`` are Student's t on the KMeans centers.

    Cost per epoch: the encoder O(E h + n d h) time and O(n (d + h)) memory; the exact loss
    O(n^2 l) time, O(n l + tile^2) memory (l = latent_dim; on the CPU the compiled kernel
    ``gram_pairwise_sum``: 4.2 s per epoch at 100,000 nodes on 2 Xeon cores; a 200-epoch VGAE
    fit took 16 min there). Above 200,000 nodes (``minibatch``,
    ``batch_size``) the loss's all-pairs term is estimated from ``batch_size^2 / 16`` uniformly
    sampled pairs (negative sampling; the edge terms stay exact): O((E + pairs) l) time, unbiased.
    KMeans above 200,000 nodes is MiniBatchKMeans (:func:`dglclust.train.kmeans_init`).

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import GAE
        >>> g = load_dataset("digits")[0]
        >>> GAE(n_clusters=10, random_state=0, verbose=False).fit_predict(g).shape
        (1797,)
    """

    name = "gae"
    variational = False
    inference = "graph"

    def _make_module(self, in_dim, params):
        return GAEModule(in_dim, params["hidden_dims"], int(params["latent_dim"]), self.variational,
                         params["norm"])

    def _infer(self, graph, x):
        self.module_.eval()
        mu = self.module_(graph, x)["mu"].float()
        q = student_t(mu, torch.as_tensor(self.cluster_centers_, device=mu.device))
        return mu, q, argmax_labels(q)

    def _fit(self, graph, x, y, params, seed):
        module = self._make_module(x.shape[1], params).to(x.device)
        target = target_coo(graph, add_self_loops=True, norm="none", device=x.device)
        pos_weight, norm = bce_weights(x.shape[0], int(target[0].numel()))
        tile = int(params["tile"])
        pairs = self._sampled_pairs(x.shape[0], params)
        gen = torch.Generator().manual_seed(int(seed) + 104729)

        def loss_fn():
            with self._autocast():
                out = module(graph, x)
            return gae_loss(out, target, pos_weight, norm, tile, pairs, gen)

        self._train_reconstruction(module, loss_fn, graph, x, params, epochs=params["epochs"], lr=params["lr"],
                                   tag=self.name, settings={"precision": self.precision_, "tile": tile,
                                                            "pairs": pairs, "seed": int(seed) if pairs else None})
        module.eval()
        with torch.no_grad(), self._autocast():
            mu = module(graph, x)["mu"].float()
        centers, labels = self._kmeans(mu, params, seed)
        self.module_ = module
        self.labels_ = labels
        self.embedding_ = mu.cpu().numpy()
        self.soft_assignments_ = student_t(mu, centers).cpu().numpy()
        self.cluster_centers_ = centers.cpu().numpy()
        self.n_iter_ = int(params["epochs"])
        self.history_ = []
        if y is not None:
            from ..metrics import evaluate

            self.history_.append({"epoch": int(params["epochs"]), **evaluate(y, labels)})


class VGAE(GAE):
    r"""Variational graph auto-encoder (Kipf & Welling 2016) + KMeans on the mean embedding
    :math:`\mu`. As :class:`GAE`, plus the ``log sigma`` GCN head, the reparameterized sample
    :math:`Z = \mu + \sigma \odot \epsilon` in training and the KL term of the ELBO."""

    name = "vgae"
    variational = True


class DAEGC(_GraphAEBase):
    r"""Deep Attentional Embedded Graph Clustering (Wang et al., IJCAI 2019).

    Graph attention auto-encoder (``256-16``, topological relevance :math:`M = (B + B^2)/2`,
    :mod:`dglclust.nn.gat`), L2-normalized embedding, inner-product decoder with an unweighted
    BCE against :math:`A + I`; pretrained for ``pretrain_epochs`` (Adam lr 0.005, weight decay
    5e-3; cached), KMeans initializes Student's t centers, then ``epochs`` of self-training
    ``BCE + gamma KL(P || Q)`` (``gamma = 10``, lr 1e-4, P refreshed every ``update_interval``);
    labels are ``argmax Q`` after the last epoch. ``start="graph"`` clusters the smoothed embedding
    for the centres and ``q_hops`` > 0 reads Q on it (as SDCN's; defaults: the paper's, off).

    Cost: forming M once takes the 2-hop products, O(sum of squared degrees) time and memory for
    ``proximity_order`` t = 2 (refused above :attr:`max_two_hop_pairs`), O(E) for t = 1. Each epoch:
    the attention encoder O(E h + n d h) time, O(E + n (d + h)) memory; the reconstruction loss
    O(n^2 l) exact (tiled, O(n l) memory) or, in mini-batch mode (above 200,000 nodes or with
    ``batch_size``), O((E + batch_size^2/16) l) with the all-pairs term from sampled pairs. At
    ``sbm-1m`` (t = 1): 30 s per epoch and 10.6 GB on 2 cores (docs/scale.md). ``q_hops`` = h adds
    O(h E l) per epoch.
    """

    name = "daegc"
    inference = "graph"
    #: ``fit`` raises :class:`GraphTooLargeError` when forming ``B^t`` (t = ``proximity_order`` >= 2)
    #: would pass through more than this many 2-hop pairs (sum of squared degrees + 1)
    max_two_hop_pairs = 300_000_000

    def _check_scale(self, graph, n, d, params):
        order = int(params["proximity_order"])
        if order < 2 or graph.num_edges() == 0:
            return
        deg = graph.in_degrees().double() + 1.0
        pairs = int(float((deg * deg).sum()))
        if pairs > self.max_two_hop_pairs:
            too_large(type(self).__name__,
                      f"its attention weights M = (B + ... + B^{order})/{order} need the 2-hop "
                      f"products of this graph: {pairs:,} pairs (sum of squared degrees), "
                      f"~{pairs * 40 / 2**30:,.0f} GB while they are formed",
                      f"the limit is {self.max_two_hop_pairs:,} pairs; set proximity_order=1 "
                      "(M = B, O(E); a deviation from the paper's t = 2) or use GAE/VGAE")

    def _make_module(self, in_dim, params):
        return DAEGCModule(in_dim, self.n_clusters_, params["hidden_dims"], int(params["latent_dim"]),
                           float(params["negative_slope"]), float(params["alpha"]))

    def _infer(self, graph, x):
        structure = attention_structure(graph, int(self.params_["proximity_order"]), device=x.device)
        out = self._with_q(self.module_, graph, self.module_(structure, x), self.params_)
        return out["z"], out["q"], argmax_labels(out["q"])

    def _fit(self, graph, x, y, params, seed):
        module = self._make_module(x.shape[1], params).to(x.device)
        structure = attention_structure(graph, int(params["proximity_order"]), device=x.device)
        target = target_coo(graph, add_self_loops=True, norm="none", device=x.device)
        tile, wd = int(params["tile"]), float(params["weight_decay"])
        pairs = self._sampled_pairs(x.shape[0], params)
        gen = torch.Generator().manual_seed(int(seed) + 104729)

        def rec_loss(z):
            return gram_bce(z, target, pos_weight=1.0, reduction="mean", tile=tile, pairs=pairs,
                            generator=gen)

        def pretrain_loss():
            with self._autocast():
                z = module.embed(structure, x)
            rec = rec_loss(z)
            return rec + _l2(module, wd), {"rec": rec.detach()}

        self._train_reconstruction(
            module, pretrain_loss, graph, x, params, epochs=params["pretrain_epochs"], lr=params["pretrain_lr"],
            tag="daegc", settings={"weight_decay": wd, "order": int(params["proximity_order"]),
                                   "precision": self.precision_, "tile": tile, "pairs": pairs,
                                   "seed": int(seed) if pairs else None})
        self._init_centers(module, lambda: module.embed(structure, x), params, seed, graph=graph)
        gamma = float(params["kl_weight"])

        def loss_fn(out, p):
            kl = kl_div(out["q"].log(), p)
            rec = rec_loss(out["z"])
            return rec + gamma * kl, {"rec": rec.detach(), "kl": kl.detach()}

        def forward():
            with self._autocast():
                return self._with_q(module, graph, module(structure, x), params)

        trainer = SelfTrainer(module.parameters(), forward, loss_fn, lambda out: argmax_labels(out["q"]),
                              epochs=int(params["epochs"]), lr=float(params["lr"]), weight_decay=wd,
                              update_interval=int(params["update_interval"]), y_true=y,
                              verbose=bool(self.verbose), desc="DAEGC", **self._stop_rule(params))
        out = trainer.run()
        self._store_self_training(module, trainer, out, "q", "z")
