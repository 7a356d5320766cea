"""DFCN estimator: PCA, three cached pretraining phases, KMeans init, triplet self-training."""
from __future__ import annotations

import numpy as np
import torch

from ..data.projection import pca_reduce
from ..models.dfcn import DFCNModule
from ..nn.igae import igae_loss, igae_targets
from ..ops import target_distribution
from ..train import SelfTrainer, kl_div
from ..train.pretrain_graph import graph_fingerprint_parts, pretrain_full_batch
from .base import BaseClusterer, check_quadratic

__all__ = ["DFCN"]

_TRIPLET = ("mean_log", "mean")
_PREDICT = ("kmeans", "q")
_TARGET = ("z", "mean")


class DFCN(BaseClusterer):
    r"""Deep Fusion Clustering Network (Tu et al., AAAI 2021) on a DGLGraph.

    Features are PCA-reduced (``pca_dim``); an AE (d-128-256-512-20, LeakyReLU) and an IGAE
    (d-128-256-20, tanh before propagation, :math:`\hat A = D^{-1}(A+I)`) are pretrained separately,
    then jointly through the SAIF fusion (reconstruction losses only); every phase is cached on
    disk. KMeans on the fused embedding Z~ initializes the centers, then the whole network is trained
    with :math:`L_{AE} + L_{IGAE} + \lambda KL` (triplet self-supervision, P from Q on Z~).
    Labels: KMeans on the final Z~ (``predict_from="kmeans"``, as DFCN evaluates) or ``argmax Q``.
    ``start="graph"`` clusters ``start_hops`` rounds of propagation of the centred Z~ for the centres,
    and ``q_hops`` > 0 computes Q on Z~ so smoothed (P, ``argmax Q`` and the KMeans labels then read
    that space), as SDCN's (defaults: the paper's, off; O(q_hops E l) more per epoch).
    No ``n x n`` matrix is formed: the self-correlation softmax is attention and the adjacency
    reconstruction is exact and tiled. ``DFCN.from_config("acm")`` applies the paper's settings.

    Cost per epoch (full batch, the paper's recipe): O(E (h + d') + n (d' h + h^2)) for the AE and
    IGAE (h: layer widths, d' = ``pca_dim``) plus O(n^2 l) for the self-correlation attention and
    the adjacency reconstruction (l = 20 latent, d' for ``Z_hat``); memory O(n (d' + sum of
    widths) + E). **Large-graph mode** (``minibatch=True``, ``batch_size``, or ``"auto"`` above
    200,000 nodes; :func:`dglclust.train.minibatch.resolve_batching`): the network still runs on
    the whole graph (small widths, as GAE), but the two O(n^2) terms are estimated: the attention
    attends to ``batch_size`` uniformly sampled nodes per pass (a ratio estimate of each row,
    :func:`dglclust.nn.global_self_attention`) and the adjacency loss's all-pairs part comes from
    ``batch_size^2 / 16`` sampled pairs (unbiased; the edge terms stay exact). Each epoch is then
    O(E (h + d') + n (d' h + h^2 + batch_size l)); the AE and IGAE branches run under activation
    checkpointing (``checkpoint: auto``, :class:`~dglclust.models.dfcn.DFCNModule`), so memory is
    O(n (d' + l) + E) plus one branch's activations. Measured against the exact path on ACM in docs/scale.md.

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import DFCN
        >>> g = load_dataset("digits")[0]
        >>> model = DFCN.from_config("digits", random_state=0, verbose=False, epochs=5).fit(g)
        >>> model.labels_.shape
        (1797,)
    """

    name = "dfcn"
    #: above this many nodes ``fit`` raises :class:`GraphTooLargeError`: the self-correlation
    #: attention and the adjacency reconstruction are exact over all n^2 pairs (tiled); an epoch
    #: took ~10 s at 20,000 nodes (bf16, 2 cores), growing as n^2
    max_nodes = 100_000

    def _check_scale(self, graph, n, d, params):
        from ..train.minibatch import resolve_batching

        if resolve_batching(n, params, type(self).__name__) is not None:
            return  # large-graph mode: O(n batch_size) per epoch
        check_quadratic(type(self).__name__, n, self.max_nodes,
                        "its fusion attention and adjacency reconstruction are exact",
                        (20_000, 10.0), params["epochs"], " plus three pretraining phases",
                        instead="set minibatch=true (sampled attention keys and pairs), or use SDCN, "
                                "AGCN, DEC/IDEC or GAE/VGAE")

    def _fit(self, graph, x, y, params, seed):
        triplet, predict_from, target = params["triplet"], params["predict_from"], params["target_from"]
        if triplet not in _TRIPLET or predict_from not in _PREDICT or target not in _TARGET:
            raise ValueError(f"triplet must be one of {_TRIPLET}, predict_from one of {_PREDICT} and "
                             f"target_from one of {_TARGET}; got {triplet!r}, {predict_from!r}, {target!r}")
        x = pca_reduce(x, params["pca_dim"], checked=True)  # fit() has checked x
        norm, gamma, tile = params["norm"], float(params["gamma"]), int(params["tile"])
        mm_dtype = torch.bfloat16 if self.precision_ == "bf16" else None  # adjacency-loss products
        module = DFCNModule(x.shape[1], self.n_clusters_, params["ae_dims"], params["igae_dims"],
                            params["latent_dim"], norm, params["igae_activation"], params["ae_negative_slope"],
                            params["fusion_alpha"], params["learn_fusion_alpha"], params["alpha"]).to(x.device)
        ax, adj = igae_targets(graph, x, norm)
        pairs = self._sampled_pairs(x.shape[0], params)  # None: exact O(n^2) terms
        gen = torch.Generator().manual_seed(int(seed) + 104729)
        if pairs is not None:  # large-graph mode: the attention sees batch_size sampled keys
            module.fusion.keys, module.fusion.generator = self.batch_size_, gen
        # recompute the branches' activations in the backward pass instead of keeping them
        # (``checkpoint`` is validated with the other hyperparameters: "auto", true or false)
        ckpt = params["checkpoint"]
        module.checkpoint = pairs is not None if ckpt == "auto" else bool(ckpt)

        def reconstruction(out):
            rec_ae = torch.nn.functional.mse_loss(out["x_hat"], x)
            rec_igae, parts = igae_loss(out["z_igae"], out["z_hat"], ax, adj, gamma, tile, mm_dtype,
                                        pairs, gen)
            return rec_ae + rec_igae, {"rec_ae": rec_ae.detach(), **parts}

        def igae_step():
            with self._autocast():
                z, z_hat = module.igae(graph, x)
            return igae_loss(z, z_hat, ax, adj, gamma, tile, mm_dtype, pairs, gen)

        def joint_step():
            with self._autocast():
                out = module(graph, x, assign=False)
            return reconstruction(out)

        # 1-3: AE (mini-batch), IGAE, then both through SAIF (full batch); all cached
        self._pretrain_ae(module.ae, x, params, seed, tag=f"ae-slope{params['ae_negative_slope']}")
        data = graph_fingerprint_parts(graph, x)
        settings = {"gamma": gamma, "norm": norm, "precision": self.precision_, "gram_mm": str(mm_dtype),
                    "activation": params["igae_activation"]}
        if pairs is not None:
            settings.update(pairs=pairs, keys=self.batch_size_, seed=int(seed))
        info = [self.pretrain_info_]
        for sub, step, phase in ((module.igae, igae_step, "igae"), (module, joint_step, "joint")):
            info.append(pretrain_full_batch(
                sub, step, data=data, epochs=int(params[f"{phase}_pretrain_epochs"]),
                lr=float(params[f"{phase}_pretrain_lr"]), tag=f"dfcn-{phase}", settings=settings,
                verbose=bool(self.verbose)))
        self.pretrain_info_ = info
        self.pretrain_time_ = sum(i["seconds"] for i in info)

        gen.manual_seed(int(seed) + 15485863)  # the same draws whether or not pretraining was cached
        self._init_centers(module, lambda: module(graph, x, assign=False)["z"].float(), params, seed,
                           graph=graph)
        lam = float(params["kl_weight"])

        def loss_fn(out, p):
            rec, parts = reconstruction(out)
            qs = (out["q"], out["q_ae"], out["q_igae"])
            if triplet == "mean_log":  # official code: mean of the three KL(P || Q_k)
                log_q = sum(q.clamp_min(1e-12).log() for q in qs) / 3.0
            else:  # paper formula: KL(P || (Q + Q' + Q'') / 3)
                log_q = (sum(qs) / 3.0).clamp_min(1e-12).log()
            kl = kl_div(log_q, p)
            return rec + lam * kl, {**parts, "kl": kl.detach()}

        def predict(out):
            if predict_from == "q":
                return out["q"].argmax(1).cpu().numpy().astype(np.int64)
            from ..train import kmeans_init

            z = out["z"]
            if int(params.get("q_hops", 0)) > 0:  # the space Q reads: the smoothed Z~
                z = self._q_space(graph, z.float(), params)
            return kmeans_init(z, self.n_clusters_, int(params["n_init"]), seed)[1]

        def forward():
            with self._autocast():
                return self._with_q(module, graph, module(graph, x), params)

        def target_fn(out):  # P from Q on Z~ (paper, official code) or from the mean of Q, Q', Q''
            q = out["q"] if target == "z" else (out["q"] + out["q_ae"] + out["q_igae"]) / 3.0
            return target_distribution(q)

        trainer = SelfTrainer(module.parameters(), forward, loss_fn, predict, epochs=int(params["epochs"]),
                              lr=float(params["lr"]), update_interval=int(params["update_interval"]),
                              y_true=y, eval_every=int(params["eval_every"]), verbose=bool(self.verbose),
                              target_fn=target_fn, desc="DFCN", **self._stop_rule(params))
        out = trainer.run()
        self.module_ = module
        self.history_ = trainer.history
        self.labels_ = predict(out)
        self.embedding_ = out["z"].cpu().numpy()
        self.soft_assignments_ = out["q"].cpu().numpy()
        self.cluster_centers_ = module.centers.detach().cpu().numpy()
        self.n_iter_ = int(params["epochs"] if trainer.stopped_epoch is None else trainer.stopped_epoch)
        self.stopped_epoch_ = trainer.stopped_epoch
