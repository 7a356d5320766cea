"""scikit-learn-style estimators over the models.

The constructor stores its arguments unchanged; work happens in :meth:`fit`, which returns
``self``. Fitted attributes end in ``_``: ``labels_`` (numpy int array), ``embedding_``,
``soft_assignments_``, ``history_`` (per-epoch dicts with the loss and, when the graph carries
labels, ``acc/nmi/ari/f1``), ``fit_time_``, ``pretrain_time_``, ``n_iter_``.
``random_state`` is local to the fit: the caller's global RNG state is restored afterwards.
"""
from __future__ import annotations

import json
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin

from .. import configs
from ..configs.validate import InvalidParameterError, validate_params
from ..graph.build import check_feature_scale
from ..train import resolve_device
from ..utils import jsonable, torch_rng_scope


def argmax_labels(t: torch.Tensor) -> np.ndarray:
    """Hard labels (int64 numpy) = row-wise argmax of soft assignments."""
    return t.argmax(1).cpu().numpy().astype(np.int64)

__all__ = ["BaseClusterer", "check_graph", "CollapsedClusteringWarning", "GraphTooLargeError",
           "InvalidParameterError"]

_FORMAT = "dglclust-estimator"
#: what the chunked full pass of a mini-batch fit keeps of the model's output
_FULL_PASS_KEYS = ("q", "z", "pred", "logits")
_FORMAT_VERSION = 1


class CollapsedClusteringWarning(UserWarning):
    """A fit ended with fewer non-empty clusters than ``n_clusters``."""


class GraphTooLargeError(ValueError):
    """The graph is beyond what the model's method can do on this machine; raised by ``fit``
    before any work, with the estimated cost. ``DGLCLUST_ALLOW_LARGE=1`` turns it into a warning."""


def too_large(owner: str, what: str, advice: str) -> None:
    """Raise :class:`GraphTooLargeError` ``"{owner}: {what}; {advice}"`` (a warning instead when
    the environment sets ``DGLCLUST_ALLOW_LARGE=1``)."""
    import os

    msg = (f"{owner}: {what}; {advice} (set DGLCLUST_ALLOW_LARGE=1 to try anyway; docs/scale.md "
           "lists what each model can do at scale)")
    if os.environ.get("DGLCLUST_ALLOW_LARGE") == "1":
        warnings.warn(msg, UserWarning, stacklevel=3)
        return
    raise GraphTooLargeError(msg)


def check_quadratic(owner: str, n: int, max_nodes: int, what: str, measured: tuple, epochs: int,
                    extra: str = "", instead: str = "use SDCN, AGCN, DEC/IDEC or GAE/VGAE") -> None:
    """The scale guard of a model whose every epoch is O(n^2): above ``max_nodes`` nodes,
    :func:`too_large` with the time per epoch extrapolated quadratically from ``measured`` =
    ``(nodes, seconds per epoch)`` on the 2-core machine."""
    if n <= max_nodes:
        return
    n0, sec0 = measured
    minutes = sec0 / 60.0 * (n / n0) ** 2
    seen = f"{sec0:g} s" if sec0 < 120 else f"{sec0 / 60.0:g} min"
    too_large(owner, f"{n:,} nodes: {what} over all node pairs, O(n^2) per epoch: ~{minutes:,.0f} "
                     f"minutes per epoch here ({seen} measured at {n0:,} nodes on 2 cores), "
                     f"{int(epochs)} epochs{extra}",
              f"the limit is {max_nodes:,} nodes; for larger graphs {instead}")


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
    x = check_feature_scale(x, "node features")
    y = None
    if label_key in graph.ndata:
        lab = graph.ndata[label_key]
        if lab.dim() != 1 or lab.shape[0] != graph.num_nodes():
            raise ValueError(f"graph.ndata[{label_key!r}] must hold one label per node "
                             f"({graph.num_nodes()}), got shape {tuple(lab.shape)}")
        y = lab.cpu().numpy().astype(np.int64)
    return x, y


class BaseClusterer(ClusterMixin, BaseEstimator):
    """Base class: subclasses set ``name`` (the config file) and implement ``_fit``.

    A scikit-learn estimator (``get_params``/``set_params``, ``sklearn.base.clone``, ``repr``,
    ``fit_predict``); every argument is validated by :mod:`dglclust.configs.validate` when the
    estimator is built and on ``set_params``. ``save(path)`` / ``Class.load(path)`` round-trip a
    fitted estimator (weights and fitted attributes, loaded with ``weights_only=True``).
    ``predict`` / ``transform`` cluster / embed new nodes for the models whose method defines it
    (``inference`` is ``"features"``: new feature rows, a graph is optional; ``"graph"``: a graph
    over the new nodes; ``None``: not defined, see the model's docstring).
    """

    name: str = ""
    #: how predict/transform work on new data: "features", "graph" or None (not defined)
    inference: str | None = None

    def __init__(self, n_clusters=None, random_state=None, device=None, verbose=True, **hyperparameters):
        defaults = configs.load_config(self.name)
        unknown = sorted(set(hyperparameters) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected hyperparameter(s) {unknown}; "
                            f"valid ones: {sorted(defaults)}")
        validate_params(type(self).__name__, {"n_clusters": n_clusters, "random_state": random_state,
                                              "device": device, "verbose": verbose, **hyperparameters},
                        defaults)
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
        for k in params:
            if k not in _COMMON and k not in defaults:
                raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}; valid ones: "
                                 f"{sorted(set(_COMMON) | set(defaults))}")
        validate_params(type(self).__name__, params, defaults)
        for k, v in params.items():
            if k in _COMMON:
                setattr(self, k, v)
            else:
                self.hyperparameters[k] = v
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

    def __repr__(self, N_CHAR_MAX=None):
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
        validate_params(type(self).__name__, {"random_state": self.random_state}, {})
        return int(self.random_state)

    def fit(self, graph, y=None):
        """Cluster the nodes of ``graph`` (a DGLGraph with ``ndata["feat"]``); returns ``self``.
        ``y`` is ignored (scikit-learn API); labels in ``ndata["label"]`` only feed ``history_``."""
        from ..data.feature_store import advise

        x, labels = check_graph(graph)
        graph = _simple_symmetric(graph, type(self).__name__)
        n = x.shape[0]
        params = self.params_
        validate_params(type(self).__name__, params, configs.load_config(self.name))
        self.n_clusters_ = self._resolve_n_clusters(n, labels)
        self._check_scale(graph, n, int(x.shape[1]), params)
        self.n_features_in_ = int(x.shape[1])
        self.device_ = resolve_device(self.device)
        from ..train.precision import resolve_precision

        self.precision_ = resolve_precision(str(params.get("precision", "fp32")), self.device_)
        seed = self._seed()
        self.seed_ = seed
        t0 = time.perf_counter()
        self.pretrain_time_ = 0.0
        x = self._fit_input_pca(x, params)
        try:
            with torch_rng_scope(seed):
                self._fit(graph, x.to(self.device_), labels, params, seed)
        finally:  # batch_order="rows" read a mapped x page by page (_batching): read-ahead again
            if params.get("batch_order", "random") == "rows":
                advise(x, "normal")
        self.fit_time_ = time.perf_counter() - t0
        self._after_fit()
        return self

    def _fit_input_pca(self, x, params):
        """``input_pca`` (the AE-based models): the model reads the top principal components of
        the features (``"clusters"``: as many as clusters; an int: that many; ``None``: the
        features themselves). The projection is kept in ``input_mean_``/``input_components_`` and
        applied to new nodes by ``predict``/``transform``."""
        from ..data.projection import apply_pca, fit_pca

        k = params.get("input_pca")
        self.input_mean_ = self.input_components_ = None
        if k is None:
            return x
        k = self.n_clusters_ if k == "clusters" else int(k)
        # checked: fit() has scanned x for NaN/inf (check_graph)
        self.input_mean_, self.input_components_ = fit_pca(x, k, checked=True)
        return apply_pca(x, self.input_mean_, self.input_components_)

    def _after_fit(self):
        """Warnings about the result: a collapsed clustering, a pretrained AE from the cache."""
        info = getattr(self, "pretrain_info_", None)
        infos = [i for i in (info if isinstance(info, (list, tuple)) else [info]) if isinstance(i, dict)]
        cached = [i for i in infos if i.get("cached")]
        self.pretrain_cached_ = bool(cached)
        if cached and self.verbose:
            print(f"{type(self).__name__}: pretrained weights loaded from the cache "
                  f"({', '.join(str(i.get('path')) for i in cached)}; pretraining skipped); set "
                  "DGLCLUST_CACHE elsewhere or delete the file to pretrain again", flush=True)
        check_collapse(type(self).__name__, self.labels_, self.n_clusters_, stacklevel=4)

    def _check_scale(self, graph, n: int, d: int, params: dict) -> None:
        """Models whose method cannot handle some sizes override this and call :func:`too_large`
        with the estimated cost (before any work)."""

    def fit_predict(self, graph, y=None):
        return self.fit(graph).labels_

    def _fit(self, graph, x, y, params, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise AttributeError(f"this {type(self).__name__} instance is not fitted yet; call fit(graph) first")

    # -- inference on new data ---------------------------------------------------------------
    def _make_module(self, in_dim: int, params: dict):
        """The model for ``in_dim`` features (used by ``fit`` and ``load``); estimators without
        it are saved and loaded with their fitted attributes only."""
        raise NotImplementedError

    def _infer(self, graph, x):
        """``(embedding, soft assignments, hard labels)`` of new nodes (tensors / numpy)."""
        raise NotImplementedError

    def _inference_input(self, X):
        self._check_fitted()
        if self.inference is None:
            raise NotImplementedError(
                f"{type(self).__name__} does not define predict/transform for new nodes (its "
                "clustering is tied to the fitted graph); refit on the new graph instead")
        if getattr(self, "module_", None) is None:
            raise RuntimeError(f"this {type(self).__name__} has no trained network (loaded from a "
                               "file without one); refit it")
        graph = None
        if hasattr(X, "ndata") and hasattr(X, "num_nodes"):
            x, _ = check_graph(X)
            graph = _simple_symmetric(X, type(self).__name__)
        elif self.inference == "graph":
            raise TypeError(f"{type(self).__name__}.predict/transform need a DGLGraph over the new "
                            "nodes (the GCN branch propagates over it), e.g. "
                            "dglclust.data.from_arrays(X, edges=...)")
        else:
            from ..data.arrays import as_feature_matrix

            x = as_feature_matrix(X, "X")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but {type(self).__name__} was fitted "
                             f"with {self.n_features_in_}")
        if getattr(self, "input_components_", None) is not None:
            from ..data.projection import apply_pca

            x = apply_pca(x, self.input_mean_, self.input_components_)
        return graph, x.to(self.device_)

    def predict(self, X):
        """Cluster of each new node: ``X`` is a DGLGraph (with ``ndata["feat"]``) or, for the
        AE-based models (``inference == "features"``), an ``(n, n_features)`` array."""
        graph, x = self._inference_input(X)
        with torch.no_grad():
            _, _, labels = self._infer(graph, x)
        return labels

    def transform(self, X):
        """Embedding of new nodes (the space ``embedding_`` is in); ``X`` as for :meth:`predict`."""
        graph, x = self._inference_input(X)
        with torch.no_grad():
            z, _, _ = self._infer(graph, x)
        return z.detach().cpu().numpy()

    # -- figures -----------------------------------------------------------------------------
    def plot_history(self, path, **kwargs):
        """Training curves of ``history_`` (losses; metrics when the graph had labels) to an
        image file; see :func:`dglclust.plots.plot_history`."""
        from ..plots import plot_history

        self._check_fitted()
        return plot_history(self.history_, path, title=kwargs.pop("title", type(self).__name__), **kwargs)

    def plot_embedding(self, path, method="tsne", labels=None, **kwargs):
        """2-D picture (t-SNE / PCA / UMAP) of ``embedding_`` coloured by ``labels_`` (or by
        ``labels``, e.g. the ground truth); see :func:`dglclust.plots.plot_embedding`."""
        from ..plots import plot_embedding

        self._check_fitted()
        return plot_embedding(self.embedding_, self.labels_ if labels is None else labels, path,
                              method=method, **kwargs)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path):
        """Write the fitted estimator to ``path`` (atomically): parameters, fitted attributes and
        the trained network's weights. ``type(self).load(path)`` restores it."""
        from ..utils import atomic_write

        self._check_fitted()
        arrays, meta = {}, {}
        for k, v in vars(self).items():
            if not k.endswith("_") or k.startswith("_") or k == "module_":
                continue
            if isinstance(v, np.ndarray):
                arrays[k] = torch.from_numpy(np.ascontiguousarray(v))
            elif isinstance(v, torch.Tensor):
                arrays[k] = v.detach().cpu()
            elif isinstance(v, torch.device):
                meta[k] = {"__device__": str(v)}
            else:
                meta[k] = v
        params = {k: (str(v) if isinstance(v, torch.device) else v) for k, v in self.get_params().items()}
        module = getattr(self, "module_", None)
        blob = {
            "format": _FORMAT, "format_version": _FORMAT_VERSION, "estimator": self.name,
            "class": type(self).__name__, "params_json": json.dumps(params, default=jsonable),
            "meta_json": json.dumps(meta, default=jsonable), "arrays": arrays,
            "state_dict": None if module is None else {k: v.detach().cpu() for k, v in module.state_dict().items()},
        }
        with atomic_write(path, "wb") as fh:
            torch.save(blob, fh)
        return path

    @classmethod
    def load(cls, path, device=None):
        """A fitted estimator saved by :meth:`save` (``torch.load(weights_only=True)``); on
        ``device`` (default: the one it was fitted on when available, else the CPU)."""
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{path}: not a file written by save() ({type(exc).__name__}: {exc})") from None
        if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a file written by dglclust's save()")
        if blob.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"{path}: saved with format version {blob.get('format_version')}, "
                             f"this dglclust reads version {_FORMAT_VERSION}")
        from . import get_estimator

        target = get_estimator(blob["estimator"])
        if not issubclass(target, cls):
            raise TypeError(f"{path} holds a {blob['class']}, not a {cls.__name__}; load it with "
                            f"{blob['class']}.load or dglclust.cluster.load")
        params = json.loads(blob["params_json"])
        est = target(**params)
        for k, v in json.loads(blob["meta_json"]).items():
            setattr(est, k, torch.device(v["__device__"]) if isinstance(v, dict) and "__device__" in v else v)
        for k, v in blob["arrays"].items():
            setattr(est, k, v.numpy())
        dev = torch.device(device) if device is not None else getattr(est, "device_", torch.device("cpu"))
        if dev.type == "cuda" and not torch.cuda.is_available():
            dev = torch.device("cpu")
        est.device_ = dev
        if blob.get("state_dict") is not None:
            try:
                comps = getattr(est, "input_components_", None)  # input_pca: the model reads components
                in_dim = int(est.n_features_in_) if comps is None else int(comps.shape[0])
                module = est._make_module(in_dim, est.params_)
            except NotImplementedError:
                module = None
            if module is not None:
                module.load_state_dict(blob["state_dict"])
                est.module_ = module.to(dev).eval()
        return est

    # -- helpers shared by the AE-based estimators -----------------------------------------
    def _pretrain_ae(self, ae, x, params, seed, tag="ae", embed=None):
        """Pretrain ``ae`` (cached). With ``pretrain_restarts > 1`` the restart kept is the best by
        ``start_select``: ``"loss"`` (reconstruction) or a label-free score of KMeans on the
        embedding ``embed()`` (default ``ae.encode(x)[-1]``), see :mod:`dglclust.train.select`."""
        from ..train import pretrain_autoencoder
        from ..train.minibatch import batch_run
        from ..train.select import partition_scores

        select_by = str(params.get("start_select", "loss"))
        embed = embed or (lambda: ae.encode(x)[-1])

        def select(_module):
            with self._autocast():
                z = embed().float()
            _, labels, _ = self._kmeans_raw(z, params, seed)
            return partition_scores(z, labels, seed)

        bs = int(params["pretrain_batch_size"])
        info = pretrain_autoencoder(
            ae, x, epochs=int(params["pretrain_epochs"]), batch_size=bs,
            lr=float(params["pretrain_lr"]), seed=seed, restarts=int(params.get("pretrain_restarts", 1)),
            tag=tag, verbose=bool(self.verbose), precision=self.precision_,
            select=None if select_by == "loss" else select, select_by=select_by,
            run=batch_run(params, bs, x, type(self).__name__))
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
        self.n_iter_ = int(trainer.epochs if trainer.stopped_epoch is None else trainer.stopped_epoch)
        self.stopped_epoch_ = trainer.stopped_epoch

    def _init_centers(self, module, embed, params, seed, graph=None):
        """KMeans initialization of a self-training model: ``embed()`` runs without gradients under
        the estimator's autocast, KMeans (``params["n_init"]`` restarts) clusters it, and its centres
        are copied into ``module.centers``. Returns ``(embedding, KMeans labels)``.

        ``params["start"]``: ``"paper"`` (default) clusters ``z = embed()`` itself, as the papers
        do; ``"graph"`` (models that take a graph, which they pass here) clusters the smoothed
        embedding ``N^h (z - mean z)`` (``h = start_hops`` rounds of symmetric-normalized
        propagation with self-loops, ``N = D^-1/2 (A + I) D^-1/2``, SGC's smoothing, as the
        ``kmeans-prop`` baseline; :func:`dglclust.ops.propagate_features`) and sets each centre to
        the mean of ``z`` over its cluster, so the centres stay in the space the model's Student's
        t reads. Label-free; O(h E d) more work. Measured in docs/protocol.md."""
        with torch.no_grad(), self._autocast():
            z = embed()
        if str(params.get("start", "paper")) == "graph":
            if graph is None:
                raise ValueError(f"{type(self).__name__}: start='graph' needs the graph; "
                                 "pass it to _init_centers")
            centers, labels = self._graph_start(graph, z, params, seed)
        else:
            centers, labels = self._kmeans(z, params, seed)
        self.start_labels_ = labels  # the partition self-training starts from
        if int(params.get("q_hops", 0)) > 0:
            # Q reads the smoothed embedding: the centres are its cluster means
            centers = self._cluster_means(self._q_space(graph, z.detach().float(), params), labels).to(centers.dtype)
        with torch.no_grad():
            module.centers.copy_(centers)
        from ..train.distributed import broadcast

        broadcast([module.centers])  # multi-process fits: rank 0's centres everywhere
        return z, labels

    def _graph_start(self, graph, z, params, seed):
        """Centres of the ``start="graph"`` initialization (see :meth:`_init_centers`)."""
        zf = z.detach().float()
        _, labels = self._kmeans(self._smoothed(graph, zf, int(params.get("start_hops", 2))), params, seed)
        return self._cluster_means(zf, labels).to(z.dtype), labels

    def _cluster_means(self, z, labels):
        """``(n_clusters, d)`` means of the rows of ``z`` over ``labels`` (an empty cluster: 0)."""
        idx = torch.as_tensor(labels, dtype=torch.long, device=z.device)
        k = self.n_clusters_
        sums = torch.zeros(k, z.shape[1], dtype=z.dtype, device=z.device).index_add_(0, idx, z)
        counts = torch.bincount(idx, minlength=k).clamp_min(1).to(z.dtype)
        return sums / counts[:, None]

    @staticmethod
    def _smoothed(graph, z, hops):
        """``N^h (z - mean z)``: ``hops`` rounds of symmetric-normalized propagation with self-loops
        of the centred embedding (label-free; O(h E d), differentiable). Centred first: the
        symmetric normalization scales a common offset of z by ~sqrt(degree), and KMeans then
        splits the nodes by degree (measured on planted partitions)."""
        from ..ops import propagate_features

        return propagate_features(graph, z - z.mean(0), hops, norm="sym")

    @classmethod
    def _q_space(cls, graph, z, params):
        """The embedding that the Student's-t Q reads when ``q_hops`` > 0: the smoothed embedding
        of the graph start (:meth:`_smoothed`) with ``h = q_hops``. On graphs whose features carry
        the clusters weakly, Q on ``z`` itself loses most of the graph start (planted partitions:
        40 ACC against the start's 62; docs/models/sdcn-dec-idec-ae.md)."""
        if graph is None:
            raise ValueError("q_hops > 0 needs the graph: Q is computed on the propagated embedding")
        if hasattr(graph, "smooth"):  # a node batch of mini-batch training (train.history)
            return graph.smooth(z, int(params["q_hops"]), norm="sym")
        return cls._smoothed(graph, z, int(params["q_hops"]))

    def _with_q(self, module, graph, out, params, key="z"):
        """``out`` with Q (``out["q"]``) recomputed on the smoothed ``out[key]`` (the embedding the
        model's Student's t reads; :meth:`_q_space`) when ``q_hops`` > 0, else unchanged. In fp32,
        against ``module.centers`` and ``module.alpha``. O(q_hops E l + n k l) more per forward."""
        if int(params.get("q_hops", 0)) > 0:
            from ..ops import student_t

            with torch.autocast(device_type=out[key].device.type, enabled=False):
                out["q"] = student_t(self._q_space(graph, out[key].float(), params), module.centers,
                                     module.alpha)
        return out

    def _kmeans_raw(self, z, params, seed):
        from ..train import kmeans_init

        return kmeans_init(z, self.n_clusters_, int(params.get("n_init", 20)), seed,
                           verbose=bool(self.verbose))

    def _kmeans(self, z, params, seed):
        centers, labels, inertia = self._kmeans_raw(z, params, seed)
        self.kmeans_inertia_ = inertia
        return centers, labels

    def _minibatch(self, n, params, seed, full_forward_rows, x=None) -> dict:
        """SelfTrainer arguments for mini-batch training (:mod:`dglclust.train.minibatch`): ``{}``
        when the fit is full-batch, else ``batches`` (shuffled node batches from a generator seeded
        by ``seed``) and ``full_forward`` (``full_forward_rows(idx)`` over all nodes in chunks,
        keeping ``q``/``z``/``pred``). With ``batch_order="rows"`` the memory-mapped features
        ``x`` are read page by page during the batches and with read-ahead during the full pass
        (rows in order). Sets ``batch_size_`` (``None``: full-batch)."""
        from contextlib import nullcontext

        from ..data.feature_store import advised
        from ..train import distributed as dist
        from ..train.minibatch import chunked

        bs, batches, run = self._batching(n, params, seed, x)
        if bs is None:
            return {}
        dev = self.device_

        def full_forward():  # rows in order: with read-ahead where the batches read page by page
            with advised(x, "normal", then="random") if run > 1 else nullcontext():
                return dist.gather_rows(
                    full_forward_rows, n,
                    lambda fn, lo, hi: chunked(fn, hi, dev, keys=_FULL_PASS_KEYS, start=lo))
        return {"batches": batches, **self._batch_step(n, bs, params), "full_forward": full_forward}

    def _sampled_pairs(self, n, params):
        """Pairs sampled per step for an all-pairs reconstruction term in mini-batch mode
        (``minibatch``/``batch_size``, :func:`dglclust.train.minibatch.resolve_batching`:
        ``batch_size`` nodes give ``batch_size^2 / 16`` pairs, at least 2^16), or ``None`` for the
        exact O(n^2 d) sum (GAE/VGAE/DAEGC, DFCN). Sets ``batch_size_``."""
        from ..train.minibatch import resolve_batching

        bs = resolve_batching(n, params, type(self).__name__)
        self.batch_size_ = bs
        return None if bs is None else max(1 << 16, bs * bs // 16)

    def _batching(self, n, params, seed, x=None):
        """``(batch_size, batches, run)`` of a mini-batch fit, ``(None, None, 1)`` for full batch
        (:func:`dglclust.train.minibatch.resolve_batching`); ``batches(epoch)`` deals this rank's
        shuffled node batches (generator seeded by ``seed``; runs of consecutive rows of the
        features ``x`` with ``batch_order="rows"``: ``run`` rows each,
        :func:`dglclust.train.minibatch.batch_run`). Sets ``batch_size_`` and ``world_size_``."""
        from ..data.feature_store import advise
        from ..train import distributed as dist
        from ..train.minibatch import batch_run, node_batches, resolve_batching

        bs = resolve_batching(n, params, type(self).__name__)
        self.batch_size_ = bs
        self.world_size_ = dist.world_size()
        if bs is None:
            return None, None, 1
        run = batch_run(params, bs, x, type(self).__name__)
        if run > 1:  # runs of rows: the mapped file page by page, not read-ahead (until the fit ends)
            advise(x, "random")
        gen = torch.Generator().manual_seed(int(seed) + 7919)
        dev = self.device_
        return bs, lambda epoch: dist.shard_batches(list(node_batches(n, bs, gen, dev, run))), run

    def _graph_minibatch(self, graph, x, params, seed, forward) -> tuple[dict, object]:
        """Mini-batch training of a GCN model (:mod:`dglclust.train.history`): ``({}, None)`` when
        the fit is full-batch (see :meth:`_minibatch`), else the SelfTrainer arguments and
        ``batch_forward(idx)``. ``forward(graph_like, idx)`` runs the model on the rows ``idx``
        with ``graph_like`` in place of the graph (its GCN layers propagate over the batch's rows
        with the other nodes' inputs from the history); its first GCN layer must take ``x`` (its
        product with the graph is computed once, :meth:`HistoryGraph.fixed_product`). The
        full pass of each epoch refreshes the history; the first one runs until it is exact. Sets
        ``batch_size_``, ``world_size_`` and ``history_gb_`` (memory of the history)."""
        from contextlib import nullcontext

        from ..train.history import HistoryGraph
        from ..train.minibatch import chunked

        n = x.shape[0]
        bs, batches, run = self._batching(n, params, seed, x)
        if bs is None:
            return {}, None
        history = HistoryGraph(graph, fixed={0: x}, device=self.device_)
        if run > 1:  # a file larger than the memory: the product's neighbour gathers page by page
            history.gather_advice = "random"
        dev = self.device_

        def refresh():  # every rank refreshes all rows: each needs the whole history
            # rows in order (x and the first layer's product): read-ahead; the node batches read
            # runs of rows page by page
            with history.advised("normal", then="random") if run > 1 else nullcontext():
                return chunked(lambda idx: forward(history.view(idx, refresh=True), idx), n, dev,
                               keys=_FULL_PASS_KEYS)

        def full_forward():
            out = refresh() if history.store else history.initialize(refresh)
            self.history_gb_ = round(history.nbytes / 2**30, 3)
            return out

        return ({"batches": batches, "full_forward": full_forward, **self._batch_step(n, bs, params)},
                lambda idx: forward(history.view(idx), idx))

    @staticmethod
    def _batch_step(n, batch_size, params) -> dict:
        """How a mini-batch self-training epoch steps, from ``batch_lr`` (the SelfTrainer
        arguments ``lr_scale`` and ``accumulate``):

        * ``epoch`` (the default) reads ``lr`` as the step of a whole epoch, so each of the
          epoch's ``s`` optimizer steps uses ``lr / s`` and an epoch moves the weights about as far
          as one full-batch step does (measured: DEC on ACM with 256-node batches ends 2.1 ACC
          under full-batch with ``step``, within 0.4 with ``epoch``; docs/scale.md);
        * ``step`` uses ``lr`` for every batch step;
        * ``accumulate`` sums the gradients of the epoch's batches (each batch's mean loss weighted
          by its share of the nodes) and takes one step of ``lr``: the full-batch recipe's steps in
          mini-batch memory. For models whose loss is a mean over nodes of per-node terms (DEC,
          IDEC) that step is the full-batch step, to rounding; for the GCN models (SDCN, AGCN) the
          gradient through out-of-batch neighbours, read from the history, is left out.

        ``s`` counts the steps of one rank (the ranks average their gradients before each step)."""
        import math

        from ..train import distributed as dist

        mode = params.get("batch_lr", "epoch")
        if mode not in ("epoch", "step", "accumulate"):
            raise ValueError(f"batch_lr={mode!r} is invalid; use 'epoch' (lr is the step of a "
                             "whole epoch, split over its mini-batch steps), 'step' (lr for "
                             "every mini-batch step) or 'accumulate' (one step of lr per epoch "
                             "on the gradients of all its batches)")
        if mode != "epoch":
            return {"lr_scale": 1.0, "accumulate": mode == "accumulate"}
        steps = math.ceil(math.ceil(n / batch_size) / dist.world_size())
        return {"lr_scale": 1.0 / max(steps, 1), "accumulate": False}

    @staticmethod
    def _rows(fn, n):
        """``fn(idx)`` over all ``n`` rows as a no-argument function: one call when ``n`` is at
        most one chunk (the full-batch path, unchanged), else chunked without gradients
        (:func:`dglclust.train.minibatch.chunked`), so a 1M-node embedding never holds the wide
        hidden layers of all nodes at once."""
        from ..train.minibatch import FULL_PASS_CHUNK, chunked

        def run():
            if n <= FULL_PASS_CHUNK:
                return fn(slice(None))
            return chunked(lambda idx: {"v": fn(idx)}, n, None)["v"]
        return run

    @staticmethod
    def _target_fn(graph, params):
        """The self-training target of ``params["target"]`` as a SelfTrainer ``target_fn``:
        ``"q"`` (the papers') is None, the trainer's default ``P = target(Q)``; ``"graph"`` is
        ``P = target(N^h Q)``, Q averaged over ``h = target_hops`` rounds of row-normalized
        propagation with self-loops (``N = D^-1 (A + I)``; rows stay distributions) before the
        sharpening. It keeps the graph start: the argmax of Q on the unsmoothed embedding loses
        3-5 ACC of the start partition, its 2-hop average does not (docs/protocol.md).
        ``params["target_power"]`` (default 2, DEC's) is the sharpening's power
        (:func:`dglclust.ops.target_distribution`). Label-free; O(h E k) per refresh."""
        from ..ops import propagate_features, target_distribution

        power = float(params.get("target_power", 2.0))
        if str(params.get("target", "q")) != "graph":
            return None if power == 2.0 else (lambda out: target_distribution(out["q"], power))
        hops = int(params.get("target_hops", 2))
        return lambda out: target_distribution(propagate_features(graph, out["q"], hops, norm="row"), power)

    @staticmethod
    def _stop_rule(params) -> dict:
        """SelfTrainer arguments of the stop rule: ``stop`` ("fixed": all ``epochs``; "labels":
        DEC's label-change rule), ``stop_tol``, ``stop_patience``, ``stop_min_epochs``."""
        return {"stop": str(params.get("stop", "fixed")), "tol": float(params.get("stop_tol", 1e-3)),
                "patience": int(params.get("stop_patience", 1)),
                "min_epochs": int(params.get("stop_min_epochs", 0))}


def check_collapse(owner: str, labels, n_clusters: int, stacklevel: int = 2):
    """Warn (:class:`CollapsedClusteringWarning`) when ``labels`` use fewer than ``n_clusters``
    clusters."""
    sizes = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_clusters)
    used = int((sizes > 0).sum())
    if used < n_clusters:
        shown = ", ".join(str(int(c)) for c in np.sort(sizes)[::-1][:10])
        warnings.warn(f"{owner}: the clustering uses {used} of the {n_clusters} requested clusters "
                      f"(sizes {shown}{', ...' if n_clusters > 10 else ''}); the fit collapsed. Try "
                      "another random_state, longer pretraining, or fewer clusters.",
                      CollapsedClusteringWarning, stacklevel=stacklevel)
    return used


def _simple_symmetric(graph, owner):
    """The models assume a symmetric graph without duplicate edges (self-loops are added by the
    propagation). A directed or multi-edge graph is symmetrized and deduplicated, with a warning;
    the caller's graph is not changed."""
    from ..graph import canonicalize, is_simple_symmetric

    if graph.num_edges() == 0 or is_simple_symmetric(graph):
        return graph
    warnings.warn(f"{owner}: the graph is directed or has duplicate edges or self-loops; the models "
                  "assume an undirected simple graph, so it is symmetrized and deduplicated for this "
                  "fit (do it yourself with dglclust.graph.canonicalize(g) to silence this)",
                  UserWarning, stacklevel=3)
    return canonicalize(graph)
