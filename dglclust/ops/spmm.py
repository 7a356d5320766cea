"""Normalized sparse propagation ``Y = D^-1/2 (A + I) D^-1/2 X`` (or ``D^-1 (A + I) X``).

:func:`normalized_spmm` works on a CSR matrix (``indptr``, ``indices``, optional edge weights),
:func:`graph_spmm` on a ``DGLGraph`` (messages flow along edges ``src -> dst``: row ``i`` of the
CSR lists the sources of the edges into ``i``). Both run

* the compiled kernel ``torch.ops.dglclust.normalized_spmm`` (CPU: row-parallel, AVX-512, degree
  scaling folded into the gather; CUDA: warp-per-row) when the extension provides it for the
  device and ``x`` is float32 / float64, else
* the reference :func:`dglclust.ops._reference.normalized_spmm_ref` (DGL ``update_all`` on the
  CPU, ``torch.sparse`` elsewhere). ``DGLCLUST_NO_EXT=1`` forces it.

The structure is prepared once and cached (per graph and device for :func:`graph_spmm`; for raw
tensors, keyed by the identity and version of ``indptr`` / ``indices``): it is validated (bad node
ids raise ``ValueError``), indices are stored as int32, rows sorted by column, the per-node inverse
(square-root) degrees are cached per ``norm`` / ``add_self_loops`` / dtype (recomputed per call only
for weighted graphs), and, when a backward is needed, the transpose structure is built: the backward
multiplies by ``N^T``, which for a symmetric graph (detected once, or asserted with
``symmetric=True``) reuses the forward CSR.

Gradients: w.r.t. ``x`` always (also double backward). A gradient w.r.t. ``edge_weight`` (when it
``requires_grad``) is not computed by the compiled kernel; such calls run the differentiable
reference instead (slower, but exact, including the dependence of the degrees on the weights).

The op is registered with ``torch.library.register_fake`` and ``register_autograd``, so it works
under autograd, ``torch.library.opcheck`` and ``torch.compile`` (the structure preparation runs
eagerly, outside the compiled graph).
"""
from __future__ import annotations

import collections
import threading
import weakref

import torch

from . import _ext
from ._reference import normalized_spmm_ref

__all__ = ["normalized_spmm", "graph_spmm", "graph_csr", "CSRPlan", "csr_plan",
           "propagate_features"]

_NORMS = ("sym", "row", "none")
_KERNEL_DTYPES = (torch.float32, torch.float64)
_INT32_MAX = 2**31 - 1


# --------------------------------------------------------------------------------------------------
# prepared structure
# --------------------------------------------------------------------------------------------------
def _inv_pow(d, power):
    """``d ** -power`` where ``d > 0``, else 0 (power 0.5 or 1)."""
    d = torch.where(d > 0, d, float("inf"))  # inf ** -p == 0
    return d.rsqrt_() if power == 0.5 else d.reciprocal_()


def _segment_sum(values, indptr, n):
    """Per-row sums of CSR ``values`` (rows given by ``indptr``); empty rows give 0."""
    if values.numel() == 0:
        return torch.zeros(n, dtype=values.dtype, device=values.device)
    return torch.segment_reduce(values, "sum", offsets=indptr)


class CSRPlan:
    """A validated CSR structure prepared for :func:`normalized_spmm`, with cached derived data.

    Attributes:
        num_nodes: ``n`` (the matrix is ``n x n``).
        indptr: int64 ``(n + 1,)``; indices: int32 (int64 when ``n >= 2**31``) ``(nnz,)``, each row
            sorted by column.
        order: ``None`` when the input rows were already sorted, else the int64 permutation with
            ``indices = input_indices[order]`` (edge weights are permuted the same way).
        edge_ids: for plans of a ``DGLGraph``, the DGL edge id of every CSR position.

    Derived data computed on first use and cached: the per-node scales for each
    ``(norm, add_self_loops, dtype)`` (weighted graphs: recomputed per call by segment sums over
    the CSR and its transpose) and the transpose (``symmetric`` tells whether ``A`` equals ``A^T``
    structurally).
    """

    def __init__(self, indptr, indices, num_nodes=None, *, symmetric=None, edge_ids=None):
        if not isinstance(indptr, torch.Tensor) or not isinstance(indices, torch.Tensor):
            raise TypeError("normalized_spmm: indptr and indices must be tensors (a CSR matrix); "
                            "for a DGLGraph use dglclust.ops.graph_spmm(g, x)")
        if indptr.dim() != 1 or indices.dim() != 1:
            raise ValueError(f"normalized_spmm: indptr and indices must be 1-D, got shapes "
                             f"{tuple(indptr.shape)} and {tuple(indices.shape)}")
        if indptr.is_floating_point() or indptr.is_complex() or indptr.dtype == torch.bool or \
                indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
            raise TypeError(f"normalized_spmm: indptr and indices must be integer tensors, got "
                            f"{indptr.dtype} and {indices.dtype}")
        if indptr.device != indices.device:
            raise ValueError(f"normalized_spmm: indptr is on {indptr.device} but indices on "
                             f"{indices.device}; move both to the device of x")
        if indptr.numel() < 1:
            raise ValueError("normalized_spmm: indptr must have num_nodes + 1 entries (at least 1)")
        n = indptr.numel() - 1 if num_nodes is None else int(num_nodes)
        if indptr.numel() != n + 1:
            raise ValueError(f"normalized_spmm: indptr has {indptr.numel()} entries but the graph "
                             f"has {n} nodes (indptr must have num_nodes + 1 entries)")
        nnz = indices.numel()
        indptr = indptr.to(torch.int64).contiguous()
        # --- validation (once per plan) -----------------------------------------------------
        first, last = (int(v) for v in indptr[[0, -1]].tolist())
        if first != 0 or last != nnz:
            raise ValueError(f"normalized_spmm: indptr must start at 0 and end at the number of "
                             f"edges ({nnz}), got indptr[0] = {first} and indptr[-1] = {last}")
        deg = indptr[1:] - indptr[:-1]
        if n > 0 and bool((deg < 0).any()):
            row = int(torch.nonzero(deg < 0)[0, 0])
            raise ValueError(f"normalized_spmm: indptr must be non-decreasing, but "
                             f"indptr[{row + 1}] < indptr[{row}]")
        if nnz > 0:
            lo, hi = (int(v) for v in torch.aminmax(indices))
            if lo < 0 or hi >= n:
                bad = lo if lo < 0 else hi
                raise ValueError(f"normalized_spmm: indices contains node id {bad} outside "
                                 f"[0, {n}) (the graph has {n} nodes)")
        # --- canonical form: int32 indices, rows sorted by column ----------------------------
        index_dtype = torch.int32 if n <= _INT32_MAX else torch.int64
        order = None
        if nnz > 1:
            idx64 = indices.to(torch.int64)
            new_row = torch.zeros(nnz, dtype=torch.bool, device=indices.device)
            starts = indptr[:-1][deg > 0]
            new_row[starts] = True
            unsorted = (idx64[1:] < idx64[:-1]) & ~new_row[1:]
            if bool(unsorted.any()):
                rows = self._row_ids(indptr, nnz, n)
                order = torch.argsort(rows * max(n, 1) + idx64, stable=True)
                indices = idx64[order]
        self.num_nodes = n
        self.nnz = nnz
        self.indptr = indptr
        self.indices = indices.to(index_dtype).contiguous()
        self.order = order
        self.edge_ids = edge_ids if (edge_ids is None or order is None) else edge_ids[order]
        self.device = indptr.device
        self._degree = deg  # unweighted row degrees (without self-loops)
        self._symmetric = None if symmetric is None else bool(symmetric)
        self._asserted = symmetric is not None
        self._transpose = None  # (t_indptr, t_indices, t_perm) or (None, None, rev) if symmetric
        self._scales = {}
        self._lock = threading.Lock()

    @staticmethod
    def _row_ids(indptr, nnz, n):
        return torch.repeat_interleave(torch.arange(n, device=indptr.device),
                                       indptr[1:] - indptr[:-1], output_size=nnz)

    def rows(self):
        """Row id (int64) of every CSR position (not cached)."""
        return self._row_ids(self.indptr, self.nnz, self.num_nodes)

    def to(self, device):
        """A copy of the plan on ``device`` (derived data is recomputed there on demand)."""
        device = torch.device(device)
        p = object.__new__(CSRPlan)
        p.__dict__.update(self.__dict__)
        p.indptr, p.indices = self.indptr.to(device), self.indices.to(device)
        p.order = None if self.order is None else self.order.to(device)
        p.edge_ids = None if self.edge_ids is None else self.edge_ids.to(device)
        p._degree = self._degree.to(device)
        p._transpose = None if self._transpose is None else tuple(
            None if t is None else t.to(device) for t in self._transpose)
        p._scales, p._lock, p.device = {}, threading.Lock(), device
        return p

    # ---- transpose / symmetry ------------------------------------------------------------------
    def transpose(self):
        """``(t_indptr, t_indices, t_perm)`` of ``A^T``; ``t_perm[q]`` is the position in ``A``'s
        CSR of the edge at position ``q`` of ``A^T``'s CSR. For a symmetric structure
        ``t_indptr`` and ``t_indices`` are ``None`` (``A^T`` has ``A``'s structure) and ``t_perm``
        maps every position to its reverse edge."""
        with self._lock:
            if self._transpose is None:
                n, nnz = self.num_nodes, self.nnz
                if self._asserted and self._symmetric:
                    self._transpose = (None, None, None)
                    return self._transpose
                idx64 = self.indices.to(torch.int64)
                t_perm = torch.argsort(idx64, stable=True)
                t_indptr = torch.zeros(n + 1, dtype=torch.int64, device=self.device)
                if nnz:
                    t_indptr[1:] = torch.cumsum(torch.bincount(idx64, minlength=n), 0)
                del idx64
                t_indices = self._row_ids(self.indptr, nnz, n)[t_perm].to(self.indices.dtype)
                sym = bool(torch.equal(t_indptr, self.indptr)
                           and torch.equal(t_indices, self.indices))
                if nnz <= _INT32_MAX:  # halves the memory of the cached permutation
                    t_perm = t_perm.to(torch.int32)
                if self._symmetric is None or not self._asserted:
                    self._symmetric = sym
                if sym:
                    self._transpose = (None, None, t_perm)
                else:
                    self._transpose = (t_indptr, t_indices.contiguous(), t_perm)
            return self._transpose

    @property
    def symmetric(self):
        """Whether ``A`` equals ``A^T`` structurally (computed on first use; an asserted value
        wins)."""
        if self._symmetric is None:
            self.transpose()
        return self._symmetric

    # ---- degree scales -------------------------------------------------------------------------
    def scales(self, norm, add_self_loops, dtype, edge_weight=None):
        """``(row_scale, col_scale)`` of ``norm`` (``None`` = identity); cached when unweighted."""
        if norm == "none":
            return None, None
        key = (norm, bool(add_self_loops), dtype)
        if edge_weight is None and key in self._scales:
            return self._scales[key]
        sl = 1.0 if add_self_loops else 0.0
        n = self.num_nodes
        if edge_weight is None:
            deg_r = self._degree.to(dtype) + sl
        else:
            deg_r = _segment_sum(edge_weight, self.indptr, n) + sl
        if norm == "row":
            out = (_inv_pow(deg_r, 1.0), None)
        else:
            rs = _inv_pow(deg_r, 0.5)
            if edge_weight is None and self._symmetric:
                cs = rs
            elif edge_weight is None:
                col = torch.bincount(self.indices, minlength=n) if self.nnz else \
                    torch.zeros(n, device=self.device)
                cs = _inv_pow(col.to(dtype) + sl, 0.5)
            elif self._asserted and self._symmetric:
                cs = rs  # asserted: the weighted matrix is symmetric
            else:
                # column sums = row sums of the transpose (weights permuted into its CSR order)
                t_indptr, _, t_perm = self.transpose()
                w_t = edge_weight if t_perm is None else edge_weight[t_perm]
                deg_c = _segment_sum(w_t, self.indptr if t_indptr is None else t_indptr, n) + sl
                cs = _inv_pow(deg_c, 0.5)
            out = (rs, cs)
        if edge_weight is None:
            self._scales[key] = out
        return out


_PLAN_CACHE: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()
_PLAN_CACHE_SIZE = 8
_PLAN_LOCK = threading.Lock()


def csr_plan(indptr, indices, symmetric=None):
    """The (cached) :class:`CSRPlan` of a CSR matrix.

    Plans of raw tensors are cached by the identity and in-place version of ``indptr`` and
    ``indices`` (a small LRU of the most recent structures), so repeated calls with the same
    tensors validate and prepare them once.
    """
    key = (id(indptr), id(indices), symmetric)
    with _PLAN_LOCK:
        hit = _PLAN_CACHE.get(key)
        if hit is not None:
            ref_p, ref_i, ver_p, ver_i, plan = hit
            if ref_p() is indptr and ref_i() is indices and ver_p == indptr._version and \
                    ver_i == indices._version:
                _PLAN_CACHE.move_to_end(key)
                return plan
            del _PLAN_CACHE[key]
    plan = CSRPlan(indptr, indices, symmetric=symmetric)
    try:
        entry = (weakref.ref(indptr), weakref.ref(indices), indptr._version, indices._version, plan)
    except TypeError:  # pragma: no cover - tensors always support weak references
        return plan
    with _PLAN_LOCK:
        _PLAN_CACHE[key] = entry
        while len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    return plan


# --------------------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------------------
_HAS_KERNEL: dict = {}


@torch.compiler.assume_constant_result
def _kernel_for(device_type: str) -> bool:
    # constant while tracing, so torch.compile sees no dispatcher query; the dispatcher answer is
    # cached per device type, DGLCLUST_NO_EXT is re-read on every call
    if not _ext.extension_loaded():
        return False
    has = _HAS_KERNEL.get(device_type)
    if has is None:
        has = _HAS_KERNEL[device_type] = _ext.has_kernel("normalized_spmm", device_type)
    return has


def _check_args(x, norm):
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be 2-D (nodes x features), got shape {shape}")
    if not x.is_floating_point():
        raise TypeError(f"normalized_spmm needs a floating-point x, got {x.dtype}; cast it "
                        "(e.g. x.float())")


def _check_weight(edge_weight, plan, x):
    if edge_weight is None:
        return None
    if not isinstance(edge_weight, torch.Tensor) or edge_weight.dim() != 1 or \
            edge_weight.numel() != plan.nnz:
        shape = (tuple(edge_weight.shape) if isinstance(edge_weight, torch.Tensor)
                 else type(edge_weight).__name__)
        raise ValueError(f"edge_weight must be 1-D with one value per edge ({plan.nnz}), got shape "
                         f"{shape}")
    if edge_weight.device != x.device:
        raise ValueError(f"edge_weight is on {edge_weight.device} but x on {x.device}; move it to "
                         "x's device")
    return edge_weight.to(x.dtype)


@torch.compiler.disable
def _prepare(plan, x, w, add_self_loops, norm, need_backward):
    """Tensors for the compiled op: (indptr, indices, w, row_scale, col_scale, t_indptr, t_indices,
    t_perm), all on x's device; ``w`` is in the plan's CSR order. Runs eagerly (never traced by
    torch.compile)."""
    rs, cs = plan.scales(norm, add_self_loops, x.dtype, w)
    t_indptr = t_indices = t_perm = None
    if need_backward:
        t_indptr, t_indices, t_perm = plan.transpose()
        if t_indptr is None:  # symmetric structure: A^T uses A's CSR
            if w is None or (plan._asserted and plan._symmetric):
                t_perm = None  # weights symmetric too: the backward reuses everything
            else:
                t_indptr, t_indices = plan.indptr, plan.indices
        elif w is None:
            t_perm = None
    return plan.indptr, plan.indices, w, rs, cs, t_indptr, t_indices, t_perm


def _use_kernel(x, edge_weight):
    weight_grad = edge_weight is not None and edge_weight.requires_grad and torch.is_grad_enabled()
    return x.dtype in _KERNEL_DTYPES and not weight_grad and _kernel_for(x.device.type)


def _kernel_spmm(plan, x, w, add_self_loops, norm):
    """The compiled op on a plan; ``w`` (or ``None``) is in the plan's CSR order."""
    need_backward = torch.is_grad_enabled() and x.requires_grad
    indptr, indices, w, rs, cs, t_indptr, t_indices, t_perm = _prepare(
        plan, x, w, add_self_loops, norm, need_backward)
    return torch.ops.dglclust.normalized_spmm(indptr, indices, x, w, rs, cs, bool(add_self_loops),
                                              t_indptr, t_indices, t_perm)


def normalized_spmm(indptr, indices, x, edge_weight=None, add_self_loops=True, norm="sym", *,
                    symmetric=None):
    """Normalized sparse-dense product for a CSR graph.

    Computes ``Y = D_r^{-1/2} (A + I) D_c^{-1/2} X`` for ``norm="sym"``, ``Y = D_r^{-1} (A + I) X``
    for ``norm="row"`` (SDCN) or ``Y = (A + I) X`` for ``norm="none"``; ``add_self_loops=False``
    drops the ``I``. Row ``i`` of the CSR (``indices[indptr[i]:indptr[i+1]]``) lists the columns
    ``j`` of the entries ``A[i, j]`` (for a graph: the sources of the edges into ``i``). ``D_r`` /
    ``D_c`` are the row / column sums of ``A (+ I)`` (weighted; equal for symmetric graphs); rows
    and columns whose degree is not positive contribute zeros. Duplicate entries add up.

    Args:
        indptr: ``(n + 1,)`` integer row pointer; ``indices``: ``(nnz,)`` integer column ids.
        x: ``(n, F)`` floating-point features.
        edge_weight: optional ``(nnz,)`` values of ``A`` in CSR order (default: ones).
        add_self_loops: add the identity to ``A`` (once; stored self-loops count as edges).
        norm: ``"sym"``, ``"row"`` or ``"none"``.
        symmetric: ``None`` (default) detects once per structure whether ``A == A^T`` so the
            backward reuses the forward CSR; ``True`` asserts that ``A`` *including its edge
            weights* is symmetric (skips the check); ``False`` always uses the transpose.

    Returns:
        ``(n, F)`` tensor, differentiable in ``x`` (the backward multiplies by ``N^T``) and, through
        the reference path, in ``edge_weight``.

    Example:
        >>> import torch
        >>> from dglclust.ops import normalized_spmm
        >>> indptr, indices = torch.tensor([0, 1, 2]), torch.tensor([1, 0])
        >>> normalized_spmm(indptr, indices, torch.eye(2))
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    _check_args(x, norm)
    plan = csr_plan(indptr, indices, symmetric)
    if x.shape[0] != plan.num_nodes:
        raise ValueError(f"x has {x.shape[0]} rows but the graph has {plan.num_nodes} nodes")
    if plan.device != x.device:
        raise ValueError(f"the graph structure is on {plan.device} but x on {x.device}; move "
                         "indptr and indices to x's device")
    edge_weight = _check_weight(edge_weight, plan, x)
    if _use_kernel(x, edge_weight):
        w = edge_weight if edge_weight is None or plan.order is None else edge_weight[plan.order]
        return _kernel_spmm(plan, x, w, add_self_loops, norm)
    return normalized_spmm_ref(indptr, indices, x, edge_weight, add_self_loops, norm)


# --------------------------------------------------------------------------------------------------
# DGL graphs
# --------------------------------------------------------------------------------------------------
def _graph_cache(g, name):
    """A dict cached on ``g`` and tied to its current structure: DGL's in-place edits
    (``add_edges``, ``remove_edges``, ``add_nodes``, ``remove_nodes``) replace the graph index
    ``g._graph``, and a cache built for another index is dropped, so an edit that keeps the node
    and edge counts never returns the old graph's structure."""
    gidx = getattr(g, "_graph", None)
    holder = getattr(g, name, None)
    if not (isinstance(holder, tuple) and len(holder) == 2 and holder[0] is gidx):
        holder = (gidx, {})
        try:
            setattr(g, name, holder)
        except AttributeError:  # pragma: no cover - DGLGraph accepts attributes
            pass
    return holder[1]


def graph_csr(g, device=None):
    """``(indptr, indices, edge_ids)`` (int64) of a DGLGraph's in-edge CSR (row = destination),
    cached per graph and device. Row ``i`` lists the sources ``j`` of the edges ``j -> i``; the
    graph itself stays on the CPU (PyPI DGL is CPU-only)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    cache = _graph_cache(g, "_dglclust_csr")
    key = (str(device), g.num_nodes(), g.num_edges())
    if key not in cache:
        # the CSC of the adjacency (src x dst) is the in-edge CSR: indptr over destinations,
        # indices = sources, plus the DGL edge ids
        indptr, indices, eids = g.adj_tensors("csc")
        cache[key] = (indptr.to(device=device, dtype=torch.int64),
                      indices.to(device=device, dtype=torch.int64),
                      eids.to(device=device, dtype=torch.int64))
    return cache[key]


def _graph_plan(g, device, symmetric):
    cache = _graph_cache(g, "_dglclust_spmm_plans")
    key = (str(device), g.num_nodes(), g.num_edges(), symmetric)
    plan = cache.get(key)
    if plan is None:
        cpu_key = ("cpu", g.num_nodes(), g.num_edges(), symmetric)
        base = cache.get(cpu_key)
        if base is None:
            indptr, indices, eids = graph_csr(g, "cpu")
            base = CSRPlan(indptr, indices, g.num_nodes(), symmetric=symmetric, edge_ids=eids)
            cache[cpu_key] = base
        plan = base if device.type == "cpu" else base.to(device)
        cache[key] = plan
    return plan


def graph_spmm(g, x, edge_weight=None, add_self_loops=True, norm="sym", *, symmetric=None):
    """:func:`normalized_spmm` on a DGLGraph (messages flow along edges ``src -> dst``).

    ``edge_weight`` is per edge in DGL edge-id order. The prepared structure is cached on the graph
    per device, so on CUDA the graph itself stays on the CPU (PyPI DGL is CPU-only).
    ``symmetric``: see :func:`normalized_spmm` (dglclust's datasets are symmetric; ``None`` detects
    it once per graph).

    Example:
        >>> import torch, dglclust
        >>> dgl = dglclust._compat.import_dgl()
        >>> g = dgl.graph((torch.tensor([0, 1]), torch.tensor([1, 0])))
        >>> dglclust.ops.graph_spmm(g, torch.eye(2))
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    _check_args(x, norm)
    if x.shape[0] != g.num_nodes():
        raise ValueError(f"x has {x.shape[0]} rows but the graph has {g.num_nodes()} nodes")
    plan = _graph_plan(g, x.device, symmetric)
    if edge_weight is not None:
        if not isinstance(edge_weight, torch.Tensor) or edge_weight.dim() != 1 or \
                edge_weight.numel() != g.num_edges():
            raise ValueError(f"edge_weight must be 1-D with one value per edge ({g.num_edges()})")
        # DGL edge-id order -> the plan's CSR order (edge_ids already includes its `order`)
        w = edge_weight.to(device=x.device, dtype=x.dtype)[plan.edge_ids]
    else:
        w = None
    if _use_kernel(x, w):
        return _kernel_spmm(plan, x, w, add_self_loops, norm)
    return normalized_spmm_ref(plan.indptr, plan.indices, x, w, add_self_loops, norm)


# --------------------------------------------------------------------------------------------------
# torch.library registrations (only when the compiled op exists)
# --------------------------------------------------------------------------------------------------
def _inverse_perm(perm):
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel(), device=perm.device, dtype=perm.dtype)
    return inv


def _register():
    if not _ext.extension_loaded() or not _ext.op_defined("normalized_spmm"):
        return

    @torch.library.register_fake("dglclust::normalized_spmm")
    def _(indptr, indices, x, edge_weight, row_scale, col_scale, add_self_loops, t_indptr,
          t_indices, t_perm):
        torch._check(x.dim() == 2, lambda: "normalized_spmm: x must be 2-D")
        torch._check(indptr.dim() == 1 and indices.dim() == 1)
        torch._check(indptr.shape[0] == x.shape[0] + 1,
                     lambda: "normalized_spmm: indptr must have x.shape[0] + 1 entries")
        return x.new_empty(x.shape)

    def setup_context(ctx, inputs, output):
        indptr, indices, x, w, rs, cs, add_self_loops, t_indptr, t_indices, t_perm = inputs
        ctx.save_for_backward(indptr, indices, w, rs, cs, t_indptr, t_indices, t_perm)
        ctx.add_self_loops = add_self_loops

    def backward(ctx, grad):
        indptr, indices, w, rs, cs, t_indptr, t_indices, t_perm = ctx.saved_tensors
        if any(ctx.needs_input_grad[i] for i in (3, 4, 5)):
            raise RuntimeError(
                "dglclust::normalized_spmm does not compute gradients w.r.t. edge_weight, "
                "row_scale or col_scale; call dglclust.ops.normalized_spmm / graph_spmm, which "
                "run the differentiable reference when edge_weight requires grad")
        if not ctx.needs_input_grad[2]:
            return None, None, None, None, None, None, None, None, None, None
        sl = ctx.add_self_loops
        if t_indptr is None:  # A^T == A (weights included)
            gx = torch.ops.dglclust.normalized_spmm(indptr, indices, grad, w, cs, rs, sl,
                                                    None, None, None)
        else:
            if w is not None and t_perm is None:
                raise RuntimeError("dglclust::normalized_spmm: a weighted graph with a transpose "
                                   "structure (t_indptr) also needs t_perm")
            wt = None if w is None else w[t_perm]
            inv = None if w is None else _inverse_perm(t_perm)
            gx = torch.ops.dglclust.normalized_spmm(t_indptr, t_indices, grad, wt, cs, rs, sl,
                                                    indptr, indices, inv)
        return None, None, gx, None, None, None, None, None, None, None

    torch.library.register_autograd("dglclust::normalized_spmm", backward,
                                    setup_context=setup_context)


_register()


def propagate_features(graph, x: torch.Tensor, hops: int, norm: str = "sym") -> torch.Tensor:
    """``hops`` rounds of ``N X`` (fp32) with ``N`` the ``norm``-normalized adjacency with
    self-loops (``"sym"``: ``D^-1/2 (A + I) D^-1/2``, SGC's smoothing). O(hops E d) time, O(n d)
    memory."""
    h = x.float()
    for _ in range(int(hops)):
        h = graph_spmm(graph, h, add_self_loops=True, norm=norm)
    return h
