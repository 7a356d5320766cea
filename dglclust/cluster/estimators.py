"""AE+KMeans, DEC, IDEC and SDCN estimators."""
from __future__ import annotations

import torch

from ..models import ClusteringAE, SDCNModule
from ..train import SelfTrainer, kl_div
from .base import BaseClusterer, argmax_labels

__all__ = ["AEKMeans", "DEC", "IDEC", "SDCN"]


class AEKMeans(BaseClusterer):
    """Autoencoder (SDCN architecture) pretrained with MSE, then KMeans on its embedding.

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import AEKMeans
        >>> g = load_dataset("digits")[0]
        >>> labels = AEKMeans(n_clusters=10, random_state=0, verbose=False).fit_predict(g)
    """

    name = "ae"
    inference = "features"

    def _make_module(self, in_dim, params):
        return ClusteringAE(in_dim, self.n_clusters_, params["ae_dims"], params["latent_dim"],
                            params.get("alpha", 1.0))

    def _infer(self, graph, x):
        out = self.module_(x, decode=False)
        return out["z"], out["q"], argmax_labels(out["q"])

    def _fit(self, graph, x, y, params, seed):
        module = self._make_module(x.shape[1], params).to(x.device)
        self._pretrain_ae(module.ae, x, params, seed)
        z, labels = self._init_centers(module, self._rows(lambda idx: module.ae.encode(x[idx])[-1].float(),
                                                          x.shape[0]), params, seed)
        with torch.no_grad():
            q = self._rows(lambda idx: module(x[idx], decode=False)["q"], x.shape[0])()
        self.module_ = module
        self.labels_ = labels
        self.embedding_ = z.cpu().numpy()
        self.soft_assignments_ = q.cpu().numpy()
        self.cluster_centers_ = module.centers.detach().cpu().numpy()
        self.history_ = []
        if y is not None:
            from ..metrics import evaluate

            self.history_.append({"epoch": 0, **evaluate(y, labels)})
        self.n_iter_ = 0


class _DECBase(BaseClusterer):
    """DEC when ``recon_weight == 0`` (encoder only), IDEC otherwise.

    Cost: pretraining and each epoch O(n d h) time (d features, h the widest AE layer), memory
    O(n h + n k) full-batch; no graph term. Above 200,000 nodes (or with ``batch_size`` /
    ``minibatch=True``) an epoch is one chunked forward-only pass (P, labels) plus steps on node
    batches: memory O(batch h + n k) (:mod:`dglclust.train.minibatch`). ``predict``/``transform``
    embed new feature rows."""

    inference = "features"
    _make_module = AEKMeans._make_module
    _infer = AEKMeans._infer

    def _fit(self, graph, x, y, params, seed):
        module = self._make_module(x.shape[1], params).to(x.device)
        self._pretrain_ae(module.ae, x, params, seed)
        n = x.shape[0]
        self._init_centers(module, self._rows(lambda idx: module.ae.encode(x[idx])[-1].float(), n),
                           params, seed)
        rw, kw = float(params["recon_weight"]), float(params["kl_weight"])
        decode = rw > 0
        if decode:
            train_params = list(module.parameters())
        else:  # DEC drops the decoder
            train_params = list(module.ae.encoder.parameters()) + [module.centers]

        def loss_fn(out, p, idx=None):
            kl = kl_div(out["q"].log(), p)
            parts = {"kl": kl.detach()}
            loss = kw * kl
            if decode:
                rec = torch.nn.functional.mse_loss(out["x_hat"], x if idx is None else x[idx])
                parts["rec"] = rec.detach()
                loss = loss + rw * rec
            return loss, parts

        def forward(idx=None):
            with self._autocast():
                return module(x if idx is None else x[idx], decode=decode)

        def forward_eval(idx):  # the full pass: P and the labels need q and z only
            with self._autocast():
                return module(x[idx], decode=False)

        trainer = SelfTrainer(train_params, forward, loss_fn,
                              lambda out: argmax_labels(out["q"]), epochs=int(params["epochs"]),
                              lr=float(params["lr"]), update_interval=int(params["update_interval"]),
                              y_true=y, verbose=bool(self.verbose), desc=type(self).__name__,
                              **self._stop_rule(params),
                              **self._minibatch(n, params, seed, lambda idx: forward_eval(idx), x))
        out = trainer.run()
        self._store_self_training(module, trainer, out, "q", "z")


class DEC(_DECBase):
    """Deep Embedded Clustering: pretrained encoder fine-tuned with KL(P || Q)."""

    name = "dec"


class IDEC(_DECBase):
    """Improved DEC: KL(P || Q) plus the autoencoder's reconstruction loss."""

    name = "idec"


class SDCN(BaseClusterer):
    r"""Structural Deep Clustering Network (Bo et al., WWW 2020) on a DGLGraph.

    AE 500-500-2000-10 pretrained (cached); KMeans (``n_init=20``) initializes the Student's-t
    centers, by default on 2 hops of normalized propagation of the centred embedding
    (``start="graph"``, label-free: centres = cluster means of z) or, with ``start="paper"``, on
    the embedding itself as in the paper; a 5-layer GCN fed ``(1 - sigma) Z + sigma H`` predicts
    the clusters; loss ``0.1 KL(P||Q) + 0.01 KL(P||Z) + MSE``; P refreshed every epoch, by default
    from Q averaged over 2 hops of row-normalized propagation (``target="graph"``, label-free) or,
    with ``target="q"``, from Q as in the paper. Labels are ``argmax Z`` of the final epoch.
    Otherwise the paper settings are the defaults; ``SDCN.from_config("citeseer")`` applies
    dataset-specific ones, ``start="paper", target="q"`` the paper's start and target.

    ``q_hops`` > 0 computes Q on ``q_hops`` rounds of normalized propagation of the centred
    embedding (the graph start's space; with node batches, the other nodes' rows come from the
    layer-input history, :meth:`dglclust.train.history._BatchView.smooth`) and ``target_power`` sharpens the target
    as ``Q^power`` instead of DEC's ``Q^2`` (docs/protocol.md; SDCN uses 2 and 16 on CiteSeer, AGCN on ACM).

    Cost: each epoch O(n d h + E h) time (d features, h the widest layer, E edges; ``q_hops``
    adds O(q_hops E l), l the latent width), memory O(n (d + sum of widths)); nothing n x n. On
    node batches (above 200,000 nodes, or ``batch_size``) the GCN layers read the other nodes'
    inputs from a bfloat16 history (n x sum of widths, :mod:`dglclust.train.history`) and the
    first layer its product with the graph, computed once (n x d float32; a mapped file when the
    features are mapped). ``predict``/``transform`` take a DGLGraph over the new
    nodes (the GCN branch propagates over it).

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import SDCN
        >>> g = load_dataset("digits")[0]
        >>> model = SDCN(n_clusters=10, random_state=0, verbose=False).fit(g)
        >>> model.labels_.shape
        (1797,)
    """

    name = "sdcn"
    inference = "graph"

    def _make_module(self, in_dim, params):
        """The model (``.ae``, ``.centers``, ``forward(graph, x)`` -> ``x_hat/z/logits/pred/q``);
        SDCN-family subclasses (AGCN) override this and reuse the training below."""
        return SDCNModule(in_dim, self.n_clusters_, params["ae_dims"], params["latent_dim"],
                          params["sigma"], params["norm"], params["alpha"])

    def _infer(self, graph, x):
        out = self._with_q(self.module_, graph, self.module_(graph, x), self.params_)
        key = "pred" if self.params_.get("predict_from", "gcn") == "gcn" else "q"
        return out["z"], out["pred"], argmax_labels(out[key])

    def _fit(self, graph, x, y, params, seed):
        module = self._make_module(x.shape[1], params).to(x.device)
        self._pretrain_ae(module.ae, x, params, seed)
        self._init_centers(module, self._rows(lambda idx: module.ae.encode(x[idx])[-1].float(), x.shape[0]),
                           params, seed, graph=graph)
        kw, gw = float(params["kl_weight"]), float(params["gcn_kl_weight"])
        key = "pred" if params.get("predict_from", "gcn") == "gcn" else "q"

        def loss_fn(out, p, idx=None):
            kl = kl_div(out["q"].log(), p)
            ce = kl_div(torch.log_softmax(out["logits"], dim=1), p)
            rec = torch.nn.functional.mse_loss(out["x_hat"], x if idx is None else x[idx])
            return kw * kl + gw * ce + rec, {"kl": kl.detach(), "gcn_kl": ce.detach(), "rec": rec.detach()}

        def on_rows(g, idx):
            with self._autocast():
                return self._with_q(module, g, module(g, x[idx]), params)

        batching, batch_forward = self._graph_minibatch(graph, x, params, seed, on_rows)

        def forward(idx=None):
            return on_rows(graph, slice(None)) if idx is None else batch_forward(idx)

        trainer = SelfTrainer(module.parameters(), forward, loss_fn,
                              lambda out: argmax_labels(out[key]), epochs=int(params["epochs"]),
                              lr=float(params["lr"]), update_interval=int(params["update_interval"]),
                              target_fn=self._target_fn(graph, params), y_true=y,
                              verbose=bool(self.verbose), desc=type(self).__name__,
                              **self._stop_rule(params), **batching)
        out = trainer.run()
        self._store_self_training(module, trainer, out, key, "z", soft="pred")
