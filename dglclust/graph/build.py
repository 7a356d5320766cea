"""kNN graphs, edge-list validation and CSR structure (see :mod:`dglclust.graph` for the
symmetric / deduplicated / no-self-loop convention every function here returns)."""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .._compat import import_dgl

__all__ = [
    "knn_graph",
    "knn_indices",
    "symmetrize",
    "from_edges",
    "to_csr",
    "canonicalize",
    "check_graph",
    "check_features",
]

METRICS = ("heat", "cosine", "ip")

# Elements of one similarity tile (rows x n). 2**24 fp32 values = 64 MiB.
_TILE_ELEMENTS = 1 << 24


# --------------------------------------------------------------------------------------------
# validation helpers (shared with dglclust.data)
# --------------------------------------------------------------------------------------------
def check_features(features, name="features", scale=False) -> torch.Tensor:
    """Return ``features`` as a floating 2-D torch tensor (float64 stays float64, everything
    else becomes float32), raising an actionable ``ValueError`` when it is not 2-D, not numeric,
    empty, or holds NaN/inf; with ``scale``, also when it holds values beyond
    :data:`MAX_FEATURE_ABS` (as :func:`check_feature_scale`, from the same block-wise scan)."""
    if isinstance(features, torch.Tensor):
        x = features.detach()
    else:
        try:
            arr = np.asarray(features)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(
                f"{name} must be a 2-D numeric array (nodes x features); could not convert "
                f"it: {exc}"
            ) from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise ValueError(
                f"{name} must be a 2-D numeric array (nodes x features), got dtype {arr.dtype}; "
                "encode non-numeric columns first"
            )
        x = torch.from_numpy(np.ascontiguousarray(arr))
    if x.dim() != 2:
        hint = " (use features.reshape(-1, 1) for a single feature)" if x.dim() == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (nodes x features), got shape {tuple(x.shape)}{hint}"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"{name} is empty: shape {tuple(x.shape)}; need at least one node and one feature"
        )
    if x.is_complex():
        raise ValueError(f"{name} must be real-valued, got dtype {x.dtype}")
    if x.dtype != torch.float64:
        x = x.to(torch.float32)
    bad, peak = _scan_rows(x)
    _check_rows(bad, x.shape[0], name)
    if scale:
        _check_peak(peak, name)
    return x


#: largest |feature| accepted: squares and sums of squares of larger values overflow float32
MAX_FEATURE_ABS = 1e15
#: values per block read by :func:`check_feature_scale` (2**22 float32 values = 16 MiB)
_CHECK_BLOCK_ELEMENTS = 1 << 22


def _scan_rows(x: torch.Tensor) -> tuple:
    """``(ids of the rows holding NaN/inf, largest |value| of the other rows)``, reading ``x`` in
    blocks of rows (``_CHECK_BLOCK_ELEMENTS`` values): no temporary of the matrix's size, so a
    memory-mapped matrix is streamed, not copied."""
    bad_rows, peak = [], 0.0
    if x.numel():
        step = max(1, _CHECK_BLOCK_ELEMENTS // max(1, x.shape[1]))
        for start in range(0, x.shape[0], step):
            block = x[start:start + step]
            if block.is_floating_point():
                finite = torch.isfinite(block).all(dim=1)
                if not bool(finite.all()):
                    bad_rows.append(torch.nonzero(~finite).flatten() + start)
                    block = block[finite]
            if block.numel():
                peak = max(peak, float(block.abs().max()))
    bad = torch.cat(bad_rows) if bad_rows else torch.zeros(0, dtype=torch.int64)
    return bad, peak


def check_feature_scale(x: torch.Tensor, what="node features") -> torch.Tensor:
    """``x`` as float32, or ``ValueError`` when it holds NaN/inf (also after the cast to float32)
    or values beyond :data:`MAX_FEATURE_ABS`, whose products overflow float32 in every model.
    Read in blocks of rows: float32 features (e.g. memory-mapped ones,
    :func:`dglclust.data.open_features`) come back as they are, neither copied nor held whole."""
    bad, peak = _scan_rows(x)
    _check_rows(bad, x.shape[0], what)
    _check_peak(peak, what)
    return x.float()


def _check_rows(bad: torch.Tensor, n: int, what: str) -> None:
    if bad.numel():
        raise ValueError(f"{what} contain NaN or inf in {bad.numel()} of {n} rows (first bad rows: "
                         f"{bad[:5].tolist()}); impute or drop those rows before clustering")


def _check_peak(peak: float, what: str) -> None:
    if peak > MAX_FEATURE_ABS:  # also every value the float32 cast would turn into inf
        raise ValueError(f"{what} reach {peak:.3g} in absolute value; values beyond "
                         f"{MAX_FEATURE_ABS:.0e} overflow float32 (max 3.4e38) in the models' "
                         "products and distances. Rescale them first, e.g. standardize each column "
                         "(sklearn.preprocessing.StandardScaler) or divide by x.abs().max()")


def _check_num_nodes(num_nodes) -> int:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, numbers.Integral) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive integer, got {num_nodes!r}")
    return int(num_nodes)


def _check_k(k, n) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer number of neighbours, got {k!r}")
    if k >= n:
        raise ValueError(
            f"k={k} neighbours requested but there are only {n} nodes: k must be at most n - 1 = "
            f"{n - 1} (each node's k nearest *other* nodes); use a smaller k"
        )
    return int(k)


def _as_index_tensor(a, what) -> torch.Tensor:
    """1-D or 2-D integer id array -> int64 tensor; integral floats (np.loadtxt output) accepted."""
    if isinstance(a, torch.Tensor):
        t = a.detach().cpu()
    else:
        try:
            arr = np.asarray(a)
        except Exception as exc:  # ragged nested lists
            raise ValueError(
                f"{what} must be a rectangular integer array; could not convert it: {exc}"
            ) from exc
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{what} must hold integer node ids, got dtype {arr.dtype}")
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{what} must hold integer node ids, got dtype {t.dtype}")
    if t.is_floating_point():
        if t.numel() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{what} must hold integer node ids; found NaN or inf")
        frac = t != t.round()
        if t.numel() and bool(frac.any()):
            raise ValueError(
                f"{what} must hold integer node ids; found non-integer value {t[frac][0].item()}"
            )
    elif t.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        try:
            t = t.to(torch.int64)
        except Exception as exc:
            raise ValueError(f"{what} must hold integer node ids, got dtype {t.dtype}") from exc
    return t.to(torch.int64)


def _check_range(ids: torch.Tensor, num_nodes: int, what="edge list") -> None:
    if ids.numel() == 0:
        return
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0:
        raise ValueError(
            f"{what} contains node id {lo}, but ids must be 0-based in 0..{num_nodes - 1} "
            f"(num_nodes={num_nodes}); remap the ids to 0..num_nodes-1"
        )
    if hi >= num_nodes:
        raise ValueError(
            f"{what} contains node id {hi}, out of range for num_nodes={num_nodes} (valid ids are "
            f"0..{num_nodes - 1}); pass the right num_nodes or remap 1-based ids with edges - 1"
        )


# --------------------------------------------------------------------------------------------
# edges
# --------------------------------------------------------------------------------------------
def symmetrize(src, dst, num_nodes):
    """Undirected, deduplicated, self-loop-free version of the directed edges ``src -> dst``.

    Returns ``(src, dst)`` int64 tensors holding both directions of every edge ``{i, j}`` with
    ``i != j`` exactly once, sorted by ``(src, dst)``. Self-loops are dropped (the propagation op
    adds ``I`` itself); ids outside ``0..num_nodes-1`` raise ``ValueError``.

    Example:
        >>> from dglclust.graph import symmetrize
        >>> s, d = symmetrize([0, 1, 2], [1, 0, 2], num_nodes=3)
        >>> s.tolist(), d.tolist()
        ([0, 1], [1, 0])
    """
    n = _check_num_nodes(num_nodes)
    src = _as_index_tensor(src, "src").reshape(-1)
    dst = _as_index_tensor(dst, "dst").reshape(-1)
    if src.numel() != dst.numel():
        raise ValueError(
            f"src and dst must have the same length, got {src.numel()} and {dst.numel()}"
        )
    _check_range(src, n)
    _check_range(dst, n)
    s = torch.cat([src, dst])
    d = torch.cat([dst, src])
    keep = s != d
    key = torch.unique(s[keep] * n + d[keep])  # sorted
    return key // n, key % n


def _split_edges(edges):
    """Accept (E, 2), (2, E) or a ``(src, dst)`` tuple; return (src, dst) int64 tensors."""
    if isinstance(edges, tuple) and len(edges) == 2:
        src = _as_index_tensor(edges[0], "edges").reshape(-1)
        dst = _as_index_tensor(edges[1], "edges").reshape(-1)
        if src.numel() != dst.numel():
            raise ValueError(
                "edges given as (src, dst) must have equal lengths, got "
                f"{src.numel()} and {dst.numel()}"
            )
        return src, dst
    try:
        t = _as_index_tensor(edges, "edges")
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(
            f"edges must be an integer array of shape (E, 2) or (2, E); could not convert it: {exc}"
        ) from exc
    if t.dim() == 2 and t.shape[1] == 2:
        return t[:, 0].contiguous(), t[:, 1].contiguous()
    if t.dim() == 2 and t.shape[0] == 2:
        return t[0].contiguous(), t[1].contiguous()
    if t.numel() == 0:
        return t.reshape(-1), t.reshape(-1)
    raise ValueError(
        f"edges must have shape (E, 2) (one 'src dst' pair per row) or (2, E), got shape "
        f"{tuple(t.shape)}"
    )


def from_edges(edges, num_nodes):
    """Build a DGLGraph from an edge list, following the graph convention.

    Args:
        edges: integer node ids as an array of shape ``(E, 2)`` (one ``src dst`` pair per row, like
            SDCN's ``graph/<name>_graph.txt``), ``(2, E)``, or a ``(src, dst)`` *tuple* of 1-D
            arrays. A ``(2, 2)`` array is read as ``(E, 2)``. Integral floats (``np.loadtxt``)
            are accepted.
        num_nodes: number of nodes; ids must lie in ``0..num_nodes-1``.

    Returns:
        A DGLGraph with ``num_nodes`` nodes whose edges are symmetrized, deduplicated and free of
        self-loops (each undirected edge stored in both directions). Isolated nodes are kept.

    Raises:
        ValueError: wrong shape, non-integer ids, or an id out of range (the message names the id
        and ``num_nodes``).
    """
    dgl = import_dgl()
    n = _check_num_nodes(num_nodes)
    src, dst = _split_edges(edges)
    src, dst = symmetrize(src, dst, n)
    return dgl.graph((src, dst), num_nodes=n, idtype=torch.int64)


# --------------------------------------------------------------------------------------------
# kNN
# --------------------------------------------------------------------------------------------
def knn_indices(x, k, metric="heat", *, tile_size=None, device=None) -> torch.Tensor:
    """Indices of each node's ``k`` most similar *other* nodes, shape ``(n, k)``, most similar
    first.

    Same selection as :func:`knn_graph` (see there for the metrics); computed in row tiles so the
    ``n x n`` similarity matrix is never stored. Returned on the CPU.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    x = check_features(x)
    n = x.shape[0]
    k = _check_k(k, n)
    dev = torch.device(device) if device is not None else x.device
    x = x.to(dev)
    if metric == "cosine":
        # zero rows stay zero: similarity 0 to everything
        x = x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    sq = (x * x).sum(dim=1) if metric == "heat" else None
    if tile_size is None:
        tile_size = max(1, min(n, _TILE_ELEMENTS // n))
    elif (
        isinstance(tile_size, bool) or not isinstance(tile_size, numbers.Integral) or tile_size < 1
    ):
        raise ValueError(f"tile_size must be a positive integer, got {tile_size!r}")
    out = torch.empty((n, k), dtype=torch.int64, device=dev)
    for start in range(0, n, int(tile_size)):
        stop = min(n, start + int(tile_size))
        sim = x[start:stop] @ x.T
        if sq is not None:
            # -||xi - xj||^2 + ||xi||^2 = 2 xi.xj - ||xj||^2: same order within row i as the
            # heat kernel exp(-||xi - xj||^2 / t) and as Euclidean distance (row constant dropped).
            sim.mul_(2).sub_(sq)
        rows = torch.arange(stop - start, device=dev)
        sim[rows, rows + start] = -float("inf")  # never pick the node itself
        out[start:stop] = sim.topk(k, dim=1).indices
    return out.cpu()


def knn_graph(x, k, metric="heat", *, tile_size=None, device=None):
    """SDCN-style kNN graph over the rows of ``x``.

    Each node is linked to its ``k`` most similar other nodes (SDCN's top-``(k+1)`` with the node
    itself skipped), then the edges are symmetrized: ``i ~ j`` when ``j`` is among ``i``'s
    neighbours *or* ``i`` among ``j``'s, so degrees are ``>= k``. Metrics:

    * ``"heat"``: heat kernel ``exp(-||xi - xj||^2 / t)``, which ranks exactly like Euclidean
      distance for every ``t > 0`` (so no ``t`` is needed);
    * ``"cosine"``: ``xi.xj / (||xi|| ||xj||)`` (all-zero rows are similar to nothing);
    * ``"ip"``: inner product ``xi.xj``.

    Similarities are computed in row tiles of ``tile_size`` rows with torch on ``device`` (default:
    ``x``'s device), keeping memory at ``tile_size x n`` instead of ``n x n``; float64 input is
    computed in float64, anything else in float32. Ties are broken arbitrarily. Differs from
    SDCN's ``calcu_graph.py`` only when a node has exact duplicates (SDCN may then keep ``k+1``
    neighbours).

    Returns:
        A CPU DGLGraph with ``n`` nodes, symmetric, deduplicated and **without self-loops** (the
        propagation op adds ``I``). No node features are attached.

    Raises:
        ValueError: ``x`` not 2-D or non-finite, ``k >= n``, unknown ``metric``.

    Example:
        >>> import torch, dglclust
        >>> g = dglclust.graph.knn_graph(torch.randn(100, 8), k=5)
        >>> bool((g.in_degrees() >= 5).all()), g.has_edges_between(0, 0)
        (True, False)
    """
    src, dst = knn_edges(x, k, metric, tile_size=tile_size, device=device)
    return from_edges((src, dst), len(x))


def knn_edges(x, k, metric="heat", *, tile_size=None, device=None):
    """The directed kNN edge list ``(src, dst)`` (int64 tensors, ``n * k`` entries, node ``i`` to
    each of its :func:`knn_indices` neighbours) -- what :func:`knn_graph` and the kNN datasets
    build their graphs from."""
    idx = knn_indices(x, k, metric, tile_size=tile_size, device=device)
    n, kk = idx.shape
    return torch.arange(n, dtype=torch.int64).repeat_interleave(kk), idx.reshape(-1)


# --------------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------------
def to_csr(g, device=None):
    """``(indptr, indices)`` int64 CSR of ``g``'s adjacency on ``device`` (default CPU).

    Row ``i`` lists the ``j`` with an edge ``i -> j`` (out-edges). For graphs following the
    convention (symmetric) this equals the in-edge CSR used by :func:`dglclust.ops.graph_csr`. No
    self-loops are added. Not cached; ``dglclust.ops.graph_csr`` caches per graph and device.
    """
    indptr, indices, _ = g.adj_tensors("csr")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return indptr.to(device=dev, dtype=torch.int64), indices.to(device=dev, dtype=torch.int64)


def is_simple_symmetric(g) -> bool:
    """Whether ``g`` follows the convention (symmetric, no duplicate edges, no self-loops)."""
    try:
        check_graph(g)
    except ValueError:
        return False
    return True


def check_graph(g):
    """Raise ``ValueError`` unless ``g`` follows the convention (symmetric, no duplicate edges,
    no self-loops); return ``g``. Use :func:`canonicalize` to fix a graph."""
    src, dst = (t.to(torch.int64) for t in g.edges())
    n = g.num_nodes()
    loops = int((src == dst).sum())
    if loops:
        raise ValueError(
            f"graph has {loops} self-loops; dglclust graphs store none (the propagation adds I "
            "once). Fix with dglclust.graph.canonicalize(g) or dgl.remove_self_loop(g)"
        )
    key = src * n + dst
    ukey = torch.unique(key)
    if ukey.numel() != key.numel():
        raise ValueError(
            f"graph has {key.numel() - ukey.numel()} duplicate edges; fix with "
            "dglclust.graph.canonicalize(g)"
        )
    rkey = torch.unique(dst * n + src)
    if not torch.equal(ukey, rkey):
        raise ValueError(
            "graph is not symmetric (some edge i->j lacks j->i); fix with "
            "dglclust.graph.canonicalize(g) or dgl.to_bidirected(g)"
        )
    return g


def canonicalize(g):
    """Copy of ``g`` following the convention (symmetrized, deduplicated, self-loops removed),
    keeping its node data (edge data is dropped because the edge set changes)."""
    src, dst = g.edges()
    out = from_edges((src, dst), g.num_nodes())
    for key, val in g.ndata.items():
        out.ndata[key] = val
    return out
