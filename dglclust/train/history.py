"""Node batches for GCN models: each layer propagates over the batch's rows with the other nodes'
inputs taken from a stored history (GNNAutoScale-style historical embeddings).

A mini-batch of a graph model cannot run its GCN layers on the batch alone (the rows of
:math:`\\hat A H` read all neighbours), and sampling the 4-5 hop neighbourhood of SDCN's five GCN
layers reaches most of a random graph. Instead, one :class:`HistoryGraph` keeps, for every GCN layer
``k`` of the model, the layer's input of every node as of the last full pass (``n x width``,
bfloat16), and a model runs unchanged on a *view* of it (``history.view(idx)``, passed where the
model expects the graph; :class:`dglclust.nn.GCNLayer` calls ``view.propagate_rows``):

* **training step** on the node batch ``idx``: layer ``k`` computes
  :math:`m_B = \\hat A_{B,:} H^{hist}_k + \\hat a_{ii} (H_{k,B} - H^{hist}_{k,B})` -- the batch's own
  input fresh (with gradients through it and through the layer weight), its neighbours' from the
  history (constants);
* **refresh pass** (``view(idx, refresh=True)``, chunks of rows in order, no gradients): layer
  ``k`` writes the chunk's fresh inputs into the history first, then propagates; this is the
  forward-only full pass that computes the target P and the labels each epoch. Layer inputs given
  as ``fixed`` (the features, for the first layer) are exact and never stored: their product
  :math:`\\hat A X` depends on the graph alone, so it is computed once (O(E d), one pass over the
  rows in order) and a batch reads its own rows of it -- no neighbour rows of ``X`` are gathered
  after that, which matters when ``X`` is memory-mapped from a file larger than the memory
  (the product then goes to a mapped file of its own, :meth:`HistoryGraph.fixed_product`).

Before the first epoch :meth:`HistoryGraph.initialize` runs one refresh pass per stored layer, after
which the history equals the exact full-graph inputs (layer ``k``'s are exact once layers ``< k``
are). Within an epoch, neighbours are at most one epoch stale; the gradient reaches a node's lower
layers only through its own (self-loop) term. Normalizations ``"row"``, ``"sym"`` and ``"none"``
with self-loops match :func:`dglclust.ops.graph_spmm`.

Cost: memory ``n x (sum of stored widths)`` bfloat16 (SDCN 500-500-2000-10: 6 GB at 1M nodes) plus
the CSR, plus ``n x d`` float32 for the fixed layer's product (in memory, or a mapped file when the
features are mapped); time per step O(|B| deg w) for the gathers of each stored layer and O(|B| d)
for the fixed one, per refresh pass O(E w) summed over the stored layers.
:meth:`_BatchView.smooth` (SDCN's and AGCN's ``q_hops`` with node batches) adds one stored layer
of the latent width l per hop and O(n l) per step for the mean.
"""
from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from ..utils import cache_dir

__all__ = ["HistoryGraph", "csr_neighbours"]

#: output rows x width per chunk of a propagation (bounds the temporary memory)
_OUT_ELEMENTS = 1 << 24


def csr_neighbours(indptr: torch.Tensor, indices: torch.Tensor, rows: torch.Tensor):
    """``(cols, offsets)`` of the CSR rows ``rows`` (any order): their neighbours' ids one row
    after the other, and where each row's start in ``cols`` (the bags of
    ``torch.nn.functional.embedding_bag``)."""
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    offsets = torch.cumsum(counts, 0) - counts
    pos = starts.repeat_interleave(counts) + torch.arange(int(counts.sum()), device=rows.device) \
        - offsets.repeat_interleave(counts)
    return indices[pos], offsets


class HistoryGraph:
    """Historical layer inputs of a graph for mini-batch GCN training (see the module docstring).

    ``graph``: a symmetric DGLGraph without self-loops (dglclust's datasets; the estimators
    canonicalize others); ``fixed``: ``{layer: tensor}`` exact inputs that never change (the node
    features of the first layer); ``dtype``: storage type of the other layers' history."""

    def __init__(self, graph, fixed: dict | None = None, dtype=torch.bfloat16, device=None):
        from ..ops import graph_csr

        self.n = int(graph.num_nodes())
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        indptr, indices, _ = graph_csr(graph, self.device)
        self.indptr, self.indices = indptr, indices
        self.degree = (indptr[1:] - indptr[:-1]).to(torch.float32)
        self.fixed = dict(fixed or {})
        self.dtype = dtype
        self.store: dict[int, torch.Tensor] = {}
        self._row_sums: dict[str, torch.Tensor] = {}  # norm -> (N 1), n x 1 (smooth)
        self._products: dict[tuple, torch.Tensor] = {}  # (layer, norm, loops) -> A_hat fixed
        self._advice = "normal"
        #: read advice of a mapped fixed input while its product gathers neighbours' rows (scattered
        #: reads): ``"random"`` for a file larger than the memory (``batch_order="rows"``)
        self.gather_advice: str | None = None

    def view(self, idx: torch.Tensor, refresh: bool = False) -> "_BatchView":
        """What a model takes in place of the graph for the nodes ``idx`` (int64)."""
        return _BatchView(self, idx, refresh)

    def initialize(self, refresh_pass):
        """Run ``refresh_pass()`` (a full pass over all rows in order with refresh views) once, then
        once more per stored layer: the history then holds the exact full-graph inputs and the last
        pass's output (returned) is the exact full-graph forward."""
        out = refresh_pass()
        for _ in range(len(self.store)):
            out = refresh_pass()
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of the stored layers and of the fixed layers' products held in memory."""
        from ..data.feature_store import is_memory_mapped

        return sum(t.numel() * t.element_size() for t in self.store.values()) + \
            sum(t.numel() * t.element_size() for t in self._products.values()
                if not is_memory_mapped(t))

    def fixed_product(self, layer: int, norm="row", add_self_loops=True) -> torch.Tensor:
        r""":math:`\hat A X` (float32, ``n x d``) for the fixed input ``X`` of ``layer``, computed
        once over the rows in order (chunks of :meth:`rows_product`) and kept. When ``X`` is
        memory-mapped the product is written to a mapped file in ``cache_dir()/history`` that is
        unlinked at once (the pages go back to the file under memory pressure, nothing is left on
        disk after the process), read with the advice of :meth:`advise`; while it is computed, a
        mapped ``X`` is read with :attr:`gather_advice` (scattered rows)."""
        key = (int(layer), norm, bool(add_self_loops))
        out = self._products.get(key)
        if out is not None:
            return out
        from ..data.feature_store import advise, advised, is_memory_mapped

        fixed = self.fixed[layer]
        shape = (self.n, int(fixed.shape[1]))
        if is_memory_mapped(fixed):
            folder = cache_dir() / "history"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f".fixed-{os.getpid()}-{id(self)}-{layer}.npy"
            arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
            path.unlink()  # the mapping keeps the file until it is unmapped
            out = torch.from_numpy(arr)
        else:
            out = torch.empty(shape, dtype=torch.float32, device=fixed.device)
        step = max(1, int(_OUT_ELEMENTS // max(shape[1], 1)))
        with advised(fixed, self.gather_advice, then=self._advice) if self.gather_advice \
                else nullcontext():
            for lo in range(0, self.n, step):
                rows = torch.arange(lo, min(lo + step, self.n), device=fixed.device)
                out[lo:lo + step] = self.rows_product(rows, fixed, norm, add_self_loops)
        advise(out, self._advice)
        self._products[key] = out
        return out

    def advise(self, advice: str) -> None:
        """Read-ahead advice (:func:`dglclust.data.feature_store.advise`) for the memory-mapped
        fixed inputs and their products: ``"random"`` while node batches read runs of rows,
        ``"normal"`` for the passes over the rows in order."""
        from ..data.feature_store import advise

        self._advice = advice
        for t in (*self.fixed.values(), *self._products.values()):
            advise(t, advice)

    @contextmanager
    def advised(self, advice: str, then: str):
        """:meth:`advise` ``advice`` within the block, ``then`` after it (also for a product the
        block computes), as :func:`dglclust.data.feature_store.advised` does for one tensor."""
        self.advise(advice)
        try:
            yield
        finally:
            self.advise(then)

    # -- the propagation ------------------------------------------------------------------------
    def _scales(self, idx, norm, add_self_loops):
        d = self.degree[idx] + (1.0 if add_self_loops else 0.0)
        inv = torch.where(d > 0, d, torch.ones_like(d)).reciprocal()
        if norm == "row":
            return inv, None
        if norm == "sym":
            return inv.sqrt(), True
        return torch.ones_like(d), None

    def _col_scale(self, cols, add_self_loops):
        d = self.degree[cols] + (1.0 if add_self_loops else 0.0)
        return torch.where(d > 0, d, torch.ones_like(d)).rsqrt()

    def rows_product(self, idx, h, norm="row", add_self_loops=True) -> torch.Tensor:
        r""":math:`\hat A_{idx,:} h` in float32 without gradients (``h``: ``n x w`` of any float
        type). The neighbour rows are gathered and summed by ``torch.nn.functional.embedding_bag``
        (one fused pass, no ``|B| deg x w`` temporary), in chunks of about 16M output elements."""
        if norm not in ("row", "sym", "none"):
            raise ValueError(f"norm must be 'row', 'sym' or 'none', got {norm!r}")
        w = h.shape[1]
        out = torch.empty(idx.numel(), w, dtype=torch.float32, device=h.device)
        step = max(1, int(_OUT_ELEMENTS // max(w, 1)))
        contiguous = idx.numel() > 1 and bool((idx[1:] - idx[:-1] == 1).all())
        with torch.no_grad():
            for s in range(0, idx.numel(), step):
                r = idx[s:s + step]
                if contiguous:  # a range of rows (the refresh pass): the CSR slice as it is
                    lo, hi = int(self.indptr[r[0]]), int(self.indptr[r[-1] + 1])
                    cols = self.indices[lo:hi]
                    offsets = self.indptr[r] - lo
                else:
                    cols, offsets = csr_neighbours(self.indptr, self.indices, r)
                row_scale, sym = self._scales(r, norm, add_self_loops)
                weights = self._col_scale(cols, add_self_loops).to(h.dtype) if sym else None
                acc = torch.nn.functional.embedding_bag(cols, h, offsets, mode="sum",
                                                        per_sample_weights=weights).float()
                if add_self_loops:
                    own = h[r].float()
                    acc.add_(own * row_scale[:, None] if sym else own)
                out[s:s + step] = acc.mul_(row_scale[:, None])
        return out

    def row_sums(self, idx, norm="sym") -> torch.Tensor:
        r""":math:`(N \mathbf{1})_{idx}` (``idx x 1``, float32): the row sums of the normalized
        adjacency with self-loops, computed once per ``norm`` for all nodes (they depend on the
        graph only)."""
        if norm not in self._row_sums:
            ones = torch.ones(self.n, 1, device=self.device)
            self._row_sums[norm] = self.rows_product(torch.arange(self.n, device=self.device), ones, norm, True)
        return self._row_sums[norm][idx]

    def self_weight(self, idx, norm="row", add_self_loops=True) -> torch.Tensor:
        r"""The diagonal :math:`\hat a_{ii}` of the normalized matrix for the rows ``idx``."""
        if not add_self_loops:
            return torch.zeros(idx.numel(), device=idx.device)
        d = self.degree[idx] + 1.0
        return d.reciprocal() if norm in ("row", "sym") else torch.ones_like(d)

    def propagate(self, layer: int, idx, feat, norm, add_self_loops, refresh: bool) -> torch.Tensor:
        if feat.shape[0] != idx.numel():
            raise ValueError(f"a batch view of {idx.numel()} nodes got {feat.shape[0]} input rows")
        fixed = self.fixed.get(layer)
        if fixed is not None:
            if fixed.shape[1] != feat.shape[1]:
                raise ValueError(f"layer {layer}: the fixed input has {fixed.shape[1]} columns, "
                                 f"the model fed {feat.shape[1]}")
            return self.fixed_product(layer, norm, add_self_loops)[idx]
        h = self.store.get(layer)
        if h is None:
            if not refresh:
                raise RuntimeError(f"the history of GCN layer {layer} is empty: run a refresh pass "
                                   "(HistoryGraph.initialize) before training on batches")
            h = torch.zeros(self.n, feat.shape[1], dtype=self.dtype, device=feat.device)
            self.store[layer] = h
        if refresh:
            with torch.no_grad():
                h[idx] = feat.detach().to(h.dtype)
            return self.rows_product(idx, h, norm, add_self_loops)
        m = self.rows_product(idx, h, norm, add_self_loops)
        a = self.self_weight(idx, norm, add_self_loops).to(m.dtype)[:, None]
        return m + a * (feat.float() - h[idx].float())


class _BatchView:
    """A node batch of a :class:`HistoryGraph`, passed to a model where it expects the graph; its
    GCN layers call :meth:`propagate_rows` in order (layer 0, 1, ...)."""

    def __init__(self, history: HistoryGraph, idx: torch.Tensor, refresh: bool):
        self.history, self.idx, self.refresh = history, idx, refresh
        self._layer = 0

    def num_nodes(self) -> int:
        return int(self.idx.numel())

    def propagate_rows(self, feat, norm="row", add_self_loops=True) -> torch.Tensor:
        """:math:`\\hat A_{B,:} H` for the next GCN layer of the model (float32)."""
        k = self._layer
        self._layer += 1
        return self.history.propagate(k, self.idx, feat, norm, add_self_loops, self.refresh)

    def smooth(self, z, hops: int, norm="sym") -> torch.Tensor:
        r""":math:`N^h (Z - \bar z)` for the batch's rows (float32), ``N`` the ``norm``-normalized
        adjacency with self-loops: :func:`dglclust.ops.propagate_features` of the centred ``Z``
        over the whole graph, restricted to the batch, with the other nodes' rows from the history
        (as :meth:`propagate_rows`; one stored layer per hop, after the model's GCN layers). The
        first hop propagates ``Z`` itself and subtracts :math:`(N \mathbf{1})_B \bar z^T`, where
        :math:`\bar z` is the mean of the stored ``Z`` over all nodes (no gradient), so that the
        centring uses the mean of the whole graph, not of the batch. Equal to the full-graph value
        when the history is exact (tests/test_start_stop.py)."""
        h = self.history
        k = self._layer
        self._layer += int(hops)
        out = h.propagate(k, self.idx, z, norm, True, self.refresh)
        with torch.no_grad():
            mean = h.store[k].float().mean(0)  # O(n l) per batch: the whole graph's mean
        out = out - h.row_sums(self.idx, norm) * mean
        for j in range(1, int(hops)):
            out = h.propagate(k + j, self.idx, out, norm, True, self.refresh)
        return out
