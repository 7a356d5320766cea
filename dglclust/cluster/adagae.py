"""AdaGAE estimator: adaptive graph auto-encoder + spectral clustering of the learned graph."""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from ..models.adagae import (
    AdaGAEModule,
    adagae_loss,
    connectivity,
    given_connectivity,
    neighbor_schedule,
    propagate,
    resolve_k_max,
    symmetrize,
)
from .base import BaseClusterer, too_large

__all__ = ["AdaGAE"]

_INIT_GRAPHS = ("knn", "given")


def _csr_to_scipy(csr, n):
    import scipy.sparse as sp

    indptr, indices, values = (t.detach().cpu().numpy() for t in csr)
    return sp.csr_matrix((values.astype(np.float64), indices, indptr), shape=(n, n))


class AdaGAE(BaseClusterer):
    r"""Adaptive Graph Auto-Encoder (Li, Zhang & Zhang, 2020) for general (and graph) data.

    Algorithm 1 of the paper: build the sparse connectivity distribution ``P`` with ``k = k0``
    neighbours from the features; train a 2-layer GCN auto-encoder on
    :math:`\hat A = D^{-1/2} W D^{-1/2}`, ``W = (P + P^T)/2``, minimizing
    ``[sum p_ij log 1/q_ij + lam tr(Z^T L Z)] / n`` with ``q_ij = softmax_j(-||z_i - z_j||^2)`` for
    ``steps_per_update`` Adam steps; rebuild ``P`` from the embedding ``Z`` with ``k`` raised by
    ``t = (k_max - k0) / n_updates``; repeat ``n_updates`` times. The graph rebuilt from the final
    ``Z`` (``k = k_max``) is clustered by spectral clustering (sparse ``eigsh`` on
    :math:`\hat A`, rows normalized, KMeans). See :mod:`dglclust.models.adagae` for the graph
    (adaptive self-loops), the exact tiled loss and the sampled normalizer.

    Hyperparameters (``dglclust/configs/adagae.yaml``; the paper's Table 4 per dataset):

    * ``hidden``: ``"auto"`` (``[256, 64]`` when ``d == 1024``, else ``[128, 64]``) or a list.
    * ``k0``, ``k_max`` (``"n/c"``, ``"n/2c"`` or an int), ``n_updates`` (``l``),
      ``k_step`` (``null``: the paper's ``(k_max - k0) / l``; an int: fixed increments, as the
      official code's ``inc_neighbors = 5``, see :func:`~dglclust.models.adagae.neighbor_schedule`),
      ``steps_per_update``, ``lr`` (Adam), ``lam``.
    * ``self_loop``: count the point itself as its nearest neighbour (paper; ``True``).
    * ``init_graph``: ``"knn"`` (paper: ``P`` from the features) or ``"given"`` (graph data: start
      from ``D^-1 (A + I)`` of the input graph's adjacency; later updates use the embedding).
    * ``assign``: ``"spectral"`` (paper), ``"kmeans"`` (KMeans on ``Z``) or ``"auto"`` (spectral
      unless the final graph has more connected components than clusters, where the spectral
      embedding collapses: then KMeans on ``Z``; ``assign_`` says which ran); ``n_init`` KMeans
      restarts.
    * ``normalizer``: ``"exact"``, ``"sampled"`` (``n_samples`` uniform points per step) or
      ``"auto"`` (exact in full-batch mode, sampled in large-graph mode); ``tile_elements`` bounds
      the distance tile.
    * ``neighbor_search``: ``"exact"`` (``O(n^2 d)`` per graph update), ``"approximate"`` (faiss
      IVF, :func:`dglclust.graph.approximate_knn`, ``O(n (sqrt(n) + 4096) d)``) or ``"auto"`` (exact in
      full-batch mode, approximate in large-graph mode).
    * ``minibatch`` / ``batch_size``: **large-graph mode** (on by itself above 200,000 nodes, or
      with ``minibatch=True`` / a ``batch_size``): approximate neighbour search, and the sampled
      normalizer evaluated on ``batch_size`` random rows per step (default 4096). The encoder and
      the sparse loss terms still run on the whole graph.
    * ``history_metrics``: spectral-cluster every intermediate graph for ``history_`` (needs labels).

    Cost: full-batch, each graph update ``O(n^2 d)`` (exact search) and each step ``O(n^2 h)``
    (exact normalizer, tiled: memory ``O(n k + tile)``); large-graph mode, each graph update
    ``O(n (sqrt(n) + 4096) d)`` and each step ``O(n (d + k) h + b m h)`` for ``k`` neighbours,
    ``b = batch_size`` rows, ``m = n_samples`` keys and ``h`` hidden units; memory ``O(n (k + d + h))``. ``k_max``
    must keep the graph under 2e8 entries (``k_max = n/c`` does not at 1M nodes: set an int).

    Fitted attributes: ``labels_``, ``embedding_`` (``Z``), ``soft_assignments_`` (Student's-t of
    the spectral embedding to the KMeans centers), ``affinity_matrix_`` (final ``W``, scipy CSR),
    ``spectral_embedding_``, ``neighbors_`` (the ``k`` schedule), ``history_`` (one entry per
    graph update), ``fit_time_``, ``timings_`` (graph solves, training, spectral clustering, per
    step), ``n_iter_`` (optimizer steps), ``assign_`` (``"spectral"`` or ``"kmeans"``, what ran),
    ``n_components_`` (of the final graph, with ``assign="auto"``), ``batch_size_`` (rows of the
    sampled normalizer per step; ``None`` in full-batch mode), ``neighbor_search_``.

    Example:
        >>> from dglclust.data import load_dataset
        >>> from dglclust.cluster import AdaGAE
        >>> g = load_dataset("jaffe")[0]
        >>> model = AdaGAE.from_config("jaffe", n_clusters=10, random_state=0, verbose=False).fit(g)
        >>> model.labels_.shape
        (213,)
    """

    name = "adagae"

    # -- validation --------------------------------------------------------------------------
    #: above this many nodes ``fit`` raises :class:`GraphTooLargeError`: every graph update
    #: searches the nearest neighbours among all n points (O(n^2 d)); a fit at 100,000 nodes took
    #: 27 minutes on 2 cores and its spectral step collapsed
    max_nodes = 100_000

    def _check_scale(self, graph, n, d, params):
        k_max = params["k_max"]
        if isinstance(k_max, str):
            try:
                k_max = resolve_k_max(k_max, n, self.n_clusters_)
            except ValueError:
                return  # _plan reports a bad k_max
        entries = n * int(k_max)
        search, normalizer, _ = self._modes(n, params)
        if entries > 200_000_000:
            too_large(type(self).__name__,
                      f"{n:,} nodes with k_max = {int(k_max):,} neighbours: the learned graph would "
                      f"hold {entries:,} entries (~{entries * 16 / 2**30:,.1f} GB)",
                      f"the limit is 2e8 graph entries: set k_max to an int <= "
                      f"{200_000_000 // n:,} (e.g. k_max=30)")
        exact = [what for what, mode in (("neighbor_search", search), ("normalizer", normalizer))
                 if mode == "exact"]
        if n > self.max_nodes and exact:
            too_large(type(self).__name__,
                      f"{n:,} nodes with the exact {' and '.join(exact)}: every graph update "
                      "searches the neighbours among all n points and every step sums over all "
                      "node pairs (O(n^2 d) time; a fit at 100,000 nodes took 27 minutes on 2 cores)",
                      f"the exact limit is {self.max_nodes:,} nodes; set minibatch=true (large-graph "
                      "mode: approximate neighbour search, sampled normalizer)")

    def _modes(self, n, params):
        """``(neighbor_search, normalizer, batch_size)`` after resolving ``"auto"`` against the
        large-graph mode (``batch_size`` ``None`` in full-batch mode)."""
        from ..train.minibatch import resolve_batching

        bs = resolve_batching(n, params, type(self).__name__)
        # the values are checked by the hyperparameter validator (dglclust.configs.validate)
        search = str(params.get("neighbor_search", "auto"))
        normalizer = str(params.get("normalizer", "auto"))
        if search == "auto":
            search = "exact" if bs is None else "approximate"
        if normalizer == "auto":
            normalizer = "exact" if bs is None else "sampled"
        return search, normalizer, bs

    def _plan(self, n, d, params):
        c = self.n_clusters_
        hidden = params.get("hidden", "auto")
        if hidden in (None, "auto"):
            hidden = [256, 64] if d == 1024 else [128, 64]
        hidden = [int(h) for h in hidden]
        init_graph = str(params.get("init_graph", "knn"))
        if init_graph not in _INIT_GRAPHS:
            raise ValueError(f"init_graph must be one of {_INIT_GRAPHS}, got {init_graph!r}")
        assign = str(params.get("assign", "spectral"))  # checked by the validator
        search, normalizer, batch_size = self._modes(n, params)
        self_loop = bool(params.get("self_loop", True))
        k0 = params["k0"]
        if isinstance(k0, bool) or not isinstance(k0, (int, np.integer)):
            raise ValueError(f"k0 must be a positive int, got {k0!r}")
        k_max = resolve_k_max(params["k_max"], n, c)
        limit = n - 2 if self_loop else n - 1
        if k_max > limit:
            raise ValueError(f"k_max = {k_max} neighbours is too many for {n} points (at most {limit}"
                             f"{' with self_loop' if self_loop else ''}); set k_max to an int <= "
                             f"{limit} or 'n/2c'")
        if k_max < 1:
            raise ValueError(f"k_max resolved to {k_max} for n = {n}, n_clusters = {c} ("
                             f"{params['k_max']!r}); set k_max to a positive int")
        schedule = neighbor_schedule(int(k0), k_max, int(params["n_updates"]), params.get("k_step"))
        steps = int(params["steps_per_update"])
        if steps < 1:
            raise ValueError(f"steps_per_update must be at least 1, got {steps}")
        return {"hidden": hidden, "init_graph": init_graph, "assign": assign,
                "normalizer": normalizer, "search": search, "batch_size": batch_size,
                "self_loop": self_loop, "schedule": schedule,
                "steps": steps, "k_max": k_max}

    # -- fit ---------------------------------------------------------------------------------
    def _fit(self, graph, x, y, params, seed):
        from ..metrics import evaluate
        from ..ops import student_t
        from ..train.spectral import spectral_clustering

        n, d = x.shape
        plan = self._plan(n, d, params)
        self.neighbors_ = plan["schedule"]
        lam = float(params["lam"])
        tile = int(params.get("tile_elements", 1 << 24))
        sample = int(params.get("n_samples", 1024)) if plan["normalizer"] == "sampled" else None
        sample_rows = plan["batch_size"] if sample is not None else None
        self.batch_size_, self.neighbor_search_ = plan["batch_size"], plan["search"]
        n_init = int(params.get("n_init", 10))
        track = bool(params.get("history_metrics", True)) and y is not None
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))

        module = AdaGAEModule(d, plan["hidden"]).to(x.device)
        opt = torch.optim.Adam(module.parameters(), lr=float(params["lr"]))
        schedule, self_loop = plan["schedule"], plan["self_loop"]

        approx = plan["search"] == "approximate"

        def build(z, k):  # (exact fits keep their random stream: no seed drawn for them)
            return connectivity(z, k, self_loop=self_loop, search=plan["search"],
                                seed=int(rng.integers(2**31 - 1)) if approx else 0)

        t_graph = time.perf_counter()
        if plan["init_graph"] == "given":
            p = given_connectivity(graph, self_loop=self_loop, device=x.device)
        else:
            p = build(x, schedule[0])
        graph_time = time.perf_counter() - t_graph
        self.history_ = []
        step = 0
        z = None
        train_time = cluster_time = 0.0
        collapsed = False
        from tqdm.auto import tqdm

        bar = tqdm(total=(len(schedule) - 1) * plan["steps"], desc=f"AdaGAE ({n:,} nodes)",
                   disable=not self.verbose, leave=False)
        for i in range(len(schedule) - 1):
            w = symmetrize(p)
            with torch.no_grad():
                ax = propagate(w, x)
            loss_v, parts = float("nan"), {}
            t_train = time.perf_counter()
            for _ in range(plan["steps"]):
                opt.zero_grad(set_to_none=True)
                z = module(w, x, ax=ax)
                loss, parts = adagae_loss(z, p, w, lam, tile, sample, gen, sample_rows)
                loss.backward()
                opt.step()
                step += 1
                loss_v = float(loss.detach())
                bar.update(1)
            bar.set_postfix(update=f"{i + 1}/{len(schedule) - 1}", k=schedule[i], loss=f"{loss_v:.4f}")
            if not np.isfinite(loss_v):
                raise FloatingPointError(f"AdaGAE loss became {loss_v} at graph update {i}; lower lr "
                                         f"(now {params['lr']}) or lam (now {lam})")
            with torch.no_grad():
                z = module(w, x, ax=ax)
            train_time += time.perf_counter() - t_train
            spread = float((z - z.mean(0)).pow(2).sum(1).mean())
            if not spread > 1e-12 and not collapsed:
                collapsed = True
                warnings.warn(f"AdaGAE: the embedding collapsed to a point after graph update {i} "
                              f"(dead ReLUs); the rebuilt graph then only reflects index order. "
                              f"Lower lr (now {params['lr']}) or lam (now {lam}).", RuntimeWarning,
                              stacklevel=3)
            t_graph = time.perf_counter()
            p = build(z, schedule[i + 1])  # next graph (the last one is clustered)
            graph_time += time.perf_counter() - t_graph
            entry = {"epoch": step, "update": i, "k": schedule[i], "k_next": schedule[i + 1],
                     "loss": loss_v, **parts}
            if track:
                t_cl = time.perf_counter()
                sc = spectral_clustering(_csr_to_scipy(symmetrize(p), n), self.n_clusters_,
                                         n_init=n_init, random_state=int(rng.integers(2**31 - 1)))
                cluster_time += time.perf_counter() - t_cl
                entry.update(evaluate(y, sc["labels"]))
                last_sc = sc
            self.history_.append(entry)
            if self.verbose:
                msg = f"[AdaGAE] update {i + 1}/{len(schedule) - 1} k={schedule[i]} loss={loss_v:.4f}"
                if track:
                    msg += f" -> k={schedule[i + 1]} SC acc={entry['acc']:.4f} nmi={entry['nmi']:.4f}"
                bar.write(msg)

        bar.close()
        w = symmetrize(p)
        affinity = _csr_to_scipy(w, n)
        assign = plan["assign"]
        if assign == "auto":
            from scipy.sparse.csgraph import connected_components

            self.n_components_ = int(connected_components(affinity, directed=False)[0])
            assign = "spectral" if self.n_components_ <= self.n_clusters_ else "kmeans"
        self.assign_ = assign
        if track:
            sc = last_sc  # the graph of the final embedding was clustered for the history already
        elif assign == "kmeans":
            sc = {"labels": None, "embedding": None}
        else:
            t_cl = time.perf_counter()
            sc = spectral_clustering(affinity, self.n_clusters_, n_init=n_init,
                                     random_state=int(rng.integers(2**31 - 1)))
            cluster_time += time.perf_counter() - t_cl
        z_np = z.detach().cpu().numpy()
        if assign == "kmeans":
            t_cl = time.perf_counter()
            centers, labels = self._kmeans(z.detach(), params, int(rng.integers(2**31 - 1)))
            cluster_time += time.perf_counter() - t_cl
            soft = student_t(z.detach().float(), centers.float()).cpu().numpy()
            self.cluster_centers_ = centers.cpu().numpy()
        else:
            labels = sc["labels"]
            emb = torch.as_tensor(sc["embedding"], dtype=torch.float32)
            soft = student_t(emb, torch.as_tensor(sc["centers"], dtype=torch.float32)).numpy()
            self.cluster_centers_ = sc["centers"]
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.labels_spectral_ = sc["labels"]
        self.spectral_embedding_ = sc["embedding"]
        self.embedding_ = z_np
        self.soft_assignments_ = soft
        self.affinity_matrix_ = affinity
        self.module_ = module
        self.graph_time_ = graph_time
        self.timings_ = {"graph_s": graph_time, "train_s": train_time, "cluster_s": cluster_time,
                         "step_s": train_time / max(1, step)}
        self.n_iter_ = step
        self.collapsed_ = collapsed
