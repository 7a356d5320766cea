"""scikit-learn-style estimators over the models.

The constructor stores its arguments unchanged; work happens in :meth:`fit`, which returns
``self``. Fitted attributes end in ``_``: ``labels_`` (numpy int array), ``embedding_``,
``soft_assignments_``, ``history_`` (per-epoch dicts with the loss and, when the graph carries
labels, ``acc/nmi/ari/f1``), ``fit_time_``, ``pretrain_time_``, ``n_iter_``.
``random_state`` is local to the fit: the caller's global RNG state is restored afterwards.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import configs
from ..train import resolve_device
from ..utils import torch_rng_scope


def argmax_labels(t: torch.Tensor) -> np.ndarray:
    """Hard labels (int64 numpy) = row-wise argmax of soft assignments."""
    return t.argmax(1).cpu().numpy().astype(np.int64)

__all__ = ["BaseClusterer", "check_graph"]

_COMMON = ("n_clusters", "random_state", "device", "verbose")


def check_graph(graph, feat_key="feat", label_key="label"):
    """Validate a DGLGraph for clustering; returns ``(x float tensor, y numpy or None)``."""
    if not hasattr(graph, "ndata") or not hasattr(graph, "num_nodes"):
        raise TypeError(f"fit() expects a DGLGraph (see dglclust.data.load_dataset / from_arrays), "
                        f"got {type(graph).__name__}")
    if feat_key not in graph.ndata:
        raise ValueError(f"the graph has no node features: set graph.ndata[{feat_key!r}] to an "
                         f"(n_nodes x n_features) tensor, or build it with dglclust.data.from_arrays")
    x = graph.ndata[feat_key]
    if x.dim() != 2:
        raise ValueError(f"node features must be 2-D (n_nodes x n_features), got shape {tuple(x.shape)}; "
                         "reshape or flatten them first")
    if x.shape[0] != graph.num_nodes():
        raise ValueError(f"features have {x.shape[0]} rows but the graph has {graph.num_nodes()} nodes")
    x = x.float()
    bad = ~torch.isfinite(x).all(dim=1)
    if bad.any():
        rows = torch.nonzero(bad).flatten()[:5].tolist()
        raise ValueError(f"node features contain NaN or inf in {int(bad.sum())} rows (first: {rows}); "
                         "impute or drop them before clustering")
    y = None
    if label_key in graph.ndata:
        lab = graph.ndata[label_key]
        if lab.dim() != 1 or lab.shape[0] != graph.num_nodes():
            raise ValueError(f"graph.ndata[{label_key!r}] must hold one label per node "
                             f"({graph.num_nodes()}), got shape {tuple(lab.shape)}")
        y = lab.cpu().numpy().astype(np.int64)
    return x, y


class BaseClusterer:
    """Base class: subclasses set ``name`` (the config file) and implement ``_fit``."""

    name: str = ""

    def __init__(self, n_clusters=None, random_state=None, device=None, verbose=True, **hyperparameters):
        defaults = configs.load_config(self.name)
        unknown = sorted(set(hyperparameters) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected hyperparameter(s) {unknown}; "
                            f"valid ones: {sorted(defaults)}")
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.hyperparameters = dict(hyperparameters)

    # -- scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep=True):
        params = {k: getattr(self, k) for k in _COMMON}
        params.update(self.hyperparameters)
        return params

    def set_params(self, **params):
        defaults = configs.load_config(self.name)
        for k, v in params.items():
            if k in _COMMON:
                setattr(self, k, v)
            elif k in defaults:
                self.hyperparameters[k] = v
            else:
                raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
        return self

    @property
    def params_(self) -> dict:
        """Effective hyperparameters: the config defaults updated by the constructor's."""
        cfg = configs.load_config(self.name)
        cfg.update(self.hyperparameters)
        return cfg

    @classmethod
    def from_config(cls, dataset: str, n_clusters=None, **overrides):
        """Estimator with the paper's settings for ``dataset`` (e.g. CiteSeer's learning rate),
        constructor arguments and hyperparameters in ``overrides`` taking precedence."""
        cfg = configs.load_config(cls.name, dataset)
        common = {k: overrides.pop(k) for k in list(overrides) if k in _COMMON}
        cfg.update(overrides)
        defaults = configs.load_config(cls.name)
        hp = {k: v for k, v in cfg.items() if k not in defaults or defaults[k] != v or k in overrides}
        return cls(n_clusters=n_clusters, **common, **hp)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting ---------------------------------------------------------------------------
    def _resolve_n_clusters(self, n, y):
        k = self.n_clusters
        if k is None:
            if y is None:
                raise ValueError("n_clusters is required when the graph has no labels")
            k = int(len(np.unique(y)))
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"n_clusters must be an int, got {k!r}")
        if k < 2 or k > n:
            raise ValueError(f"n_clusters={k} must be between 2 and the number of nodes ({n})")
        return int(k)

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.SeedSequence().entropy % (2**31 - 1))
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        raise TypeError(f"random_state must be an int or None, got {type(self.random_state).__name__}")

    def fit(self, graph, y=None):
        """Cluster the nodes of ``graph`` (a DGLGraph with ``ndata["feat"]``); returns ``self``.
        ``y`` is ignored (scikit-learn API); labels in ``ndata["label"]`` only feed ``history_``."""
        x, labels = check_graph(graph)
        n = x.shape[0]
        self.n_clusters_ = self._resolve_n_clusters(n, labels)
        self.device_ = resolve_device(self.device)
        params = self.params_
        from ..train.precision import resolve_precision

        self.precision_ = resolve_precision(str(params.get("precision", "fp32")), self.device_)
        seed = self._seed()
        self.seed_ = seed
        t0 = time.perf_counter()
        self.pretrain_time_ = 0.0
        with torch_rng_scope(seed):
            self._fit(graph, x.to(self.device_), labels, params, seed)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def fit_predict(self, graph, y=None):
        return self.fit(graph).labels_

    def _fit(self, graph, x, y, params, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise AttributeError(f"this {type(self).__name__} instance is not fitted yet; call fit(graph) first")

    # -- helpers shared by the AE-based estimators -----------------------------------------
    def _pretrain_ae(self, ae, x, params, seed, tag="ae"):
        from ..train import pretrain_autoencoder

        info = pretrain_autoencoder(
            ae, x, epochs=int(params["pretrain_epochs"]), batch_size=int(params["pretrain_batch_size"]),
            lr=float(params["pretrain_lr"]), seed=seed, restarts=int(params.get("pretrain_restarts", 1)),
            tag=tag, verbose=bool(self.verbose), precision=self.precision_)
        self.pretrain_time_ = info["seconds"]
        self.pretrain_info_ = info
        return info

    def _autocast(self):
        from ..train.precision import autocast

        return autocast(self.device_, self.precision_)

    def _store_self_training(self, module, trainer, out, key, embedding, soft=None):
        """Fitted attributes after a :class:`dglclust.train.SelfTrainer` run: ``labels_`` =
        argmax of ``out[key]``, ``embedding_`` = ``out[embedding]``, ``soft_assignments_`` =
        ``out[soft or key]``, ``cluster_centers_`` from ``module.centers``, ``history_``."""
        self.module_ = module
        self.history_ = trainer.history
        self.labels_ = argmax_labels(out[key])
        self.embedding_ = out[embedding].detach().cpu().numpy()
        self.soft_assignments_ = out[soft or key].detach().cpu().numpy()
        self.cluster_centers_ = module.centers.detach().cpu().numpy()
        self.n_iter_ = int(trainer.epochs)

    def _init_centers(self, module, embed, params, seed):
        """KMeans initialization of a self-training model: ``embed()`` runs without gradients under
        the estimator's autocast, KMeans (``params["n_init"]`` restarts) clusters it, and its centres
        are copied into ``module.centers``. Returns ``(embedding, KMeans labels)``."""
        with torch.no_grad(), self._autocast():
            z = embed()
        centers, labels = self._kmeans(z, params, seed)
        with torch.no_grad():
            module.centers.copy_(centers)
        return z, labels

    def _kmeans(self, z, params, seed):
        from ..train import kmeans_init

        centers, labels, inertia = kmeans_init(z, self.n_clusters_, int(params.get("n_init", 20)), seed)
        self.kmeans_inertia_ = inertia
        return centers, labels
