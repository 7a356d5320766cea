"""Spectral clustering of a sparse weighted graph (Ng, Jordan & Weiss), never dense in n x n.

``A = D^-1/2 W D^-1/2`` of a symmetric non-negative ``W`` (self-loops allowed, as in AdaGAE's
learned graph); its ``c`` largest eigenvectors are found with the sparse Lanczos solver
:func:`scipy.sparse.linalg.eigsh`, each row is scaled to unit length, and KMeans clusters the rows.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> from dglclust.train.spectral import spectral_clustering
    >>> w = sp.block_diag([np.ones((5, 5)), np.ones((4, 4))]).tocsr()
    >>> out = spectral_clustering(w, 2, random_state=0)
    >>> sorted(np.bincount(out["labels"]).tolist())
    [4, 5]
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

__all__ = ["to_scipy_csr", "normalized_adjacency", "spectral_embedding", "spectral_clustering"]

# Below this many nodes the dense symmetric solver is used (exact and faster than ARPACK there).
DENSE_MAX_NODES = 512


def to_scipy_csr(graph, n=None) -> sp.csr_matrix:
    """``graph`` as a float64 ``scipy.sparse.csr_matrix``: a scipy sparse matrix, a CSR triple
    ``(indptr, indices, values)`` of tensors/arrays (``values`` may be ``None`` for ones) or a
    DGLGraph (unit weights)."""
    if sp.issparse(graph):
        return sp.csr_matrix(graph, dtype=np.float64)
    if hasattr(graph, "adj_tensors"):
        indptr, indices, _ = graph.adj_tensors("csr")
        graph = (indptr, indices, None)
    if isinstance(graph, (tuple, list)) and len(graph) == 3:
        indptr, indices, values = (None if t is None else _np(t) for t in graph)
        n = len(indptr) - 1 if n is None else int(n)
        if values is None:
            values = np.ones(len(indices))
        return sp.csr_matrix((values.astype(np.float64), indices.astype(np.int64),
                              indptr.astype(np.int64)), shape=(n, n))
    raise TypeError("graph must be a scipy sparse matrix, a CSR triple (indptr, indices, values) "
                    f"or a DGLGraph, got {type(graph).__name__}")


def _np(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def normalized_adjacency(w: sp.spmatrix) -> sp.csr_matrix:
    """``D^-1/2 W D^-1/2`` (rows/columns of zero degree stay zero)."""
    w = sp.csr_matrix(w, dtype=np.float64)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"the graph must be square, got shape {w.shape}")
    if w.nnz and w.data.min() < 0:
        raise ValueError("spectral clustering needs non-negative edge weights; got negative values")
    deg = np.asarray(w.sum(axis=1)).reshape(-1)
    inv = np.zeros_like(deg)
    pos = deg > 0
    inv[pos] = deg[pos] ** -0.5
    d = sp.diags(inv)
    return (d @ w @ d).tocsr()


def _top_eigs(a, c, rng, tol, maxiter):
    """The ``c`` largest eigenpairs of a symmetric normalized adjacency ``a`` (connected graph):
    dense ``eigh`` for small matrices, else Lanczos (``eigsh``) on ``a + I``. Decreasing order."""
    n = a.shape[0]
    if n <= max(DENSE_MAX_NODES, 3 * c + 2):
        from scipy.linalg import eigh

        vals, vecs = eigh(a.toarray(), subset_by_index=[n - c, n - 1])
    else:
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh

        # A + I is positive semi-definite with eigenvalues in [0, 2]: the wanted ones are largest
        shifted = (a + sp.identity(n, format="csr")).tocsr()
        v0 = rng.uniform(-1.0, 1.0, n)
        ncv = min(n, max(2 * c + 1, c + 32))
        try:
            vals, vecs = eigsh(shifted, k=c, which="LA", v0=v0, ncv=ncv, tol=tol, maxiter=maxiter)
        except ArpackNoConvergence as exc:
            if exc.eigenvectors is not None and exc.eigenvectors.shape[1] == c:
                warnings.warn(f"eigsh did not fully converge ({exc}); using its current Ritz vectors",
                              RuntimeWarning, stacklevel=3)
                vals, vecs = exc.eigenvalues, exc.eigenvectors
            else:
                raise
        vals = vals - 1.0
    order = np.argsort(vals, kind="stable")[::-1]
    return vals[order], vecs[:, order]


def spectral_embedding(w, n_components: int, *, normalize_rows: bool = True, random_state=None,
                       tol: float = 1e-8, maxiter: int | None = None):
    """The ``n_components`` leading eigenvectors of ``D^-1/2 W D^-1/2`` (rows scaled to unit
    length when ``normalize_rows``). Returns ``(embedding (n x c), eigenvalues (c,))``, eigenvalues
    in decreasing order. ``W`` must be symmetric; it is symmetrized as ``(W + W^T) / 2`` if not.

    A graph with several connected components is solved per component (the eigenvalue 1 then has
    one eigenvector per component, which a single Lanczos run cannot resolve) and the ``c`` largest
    eigenpairs over all components are kept (ties: larger components first); with more components
    than ``c`` the smallest components get all-zero rows.
    """
    from scipy.sparse.csgraph import connected_components

    w = to_scipy_csr(w)
    n = w.shape[0]
    c = int(n_components)
    if c < 1 or c > n:
        raise ValueError(f"n_components={c} must be between 1 and the number of nodes ({n})")
    if abs(w - w.T).max() > 1e-10 * max(1.0, abs(w).max()):
        w = (w + w.T) / 2
    a = normalized_adjacency(w)
    rng = np.random.default_rng(random_state)
    n_comp, comp = connected_components(a, directed=False)
    if n_comp == 1:
        vals, vecs = _top_eigs(a, c, rng, tol, maxiter)
    else:
        sizes = np.bincount(comp, minlength=n_comp)
        cands = []  # (eigenvalue, -size, component, column)
        parts = {}
        for j in np.argsort(-sizes, kind="stable"):
            idx = np.flatnonzero(comp == j)
            kj = min(c, idx.size)
            if idx.size == 1:
                v, u = np.ones(1), np.ones((1, 1))
            else:
                v, u = _top_eigs(a[idx][:, idx], kj, rng, tol, maxiter)
            parts[j] = (idx, u)
            cands.extend((float(v[t]), -int(idx.size), int(j), t) for t in range(kj))
        # stable choice: eigenvalue (rounded against solver noise) desc, then larger components
        cands.sort(key=lambda r: (-round(r[0], 9), r[1], r[2], r[3]))
        chosen = cands[:c]
        vals = np.array([r[0] for r in chosen])
        vecs = np.zeros((n, c))
        for col, (_, _, j, t) in enumerate(chosen):
            idx, u = parts[j]
            vecs[idx, col] = u[:, t]
    if normalize_rows:
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.maximum(norms, 1e-12)
    return vecs, vals


def spectral_clustering(w, n_clusters: int, *, n_init: int = 10, normalize_rows: bool = True,
                        random_state=None, tol: float = 1e-8) -> dict:
    """Spectral clustering of the graph ``w`` (see :func:`to_scipy_csr` for accepted forms).

    Returns ``{"labels": (n,) int64, "embedding": (n x c), "eigenvalues": (c,), "centers":
    (c x c), "inertia": float}``. ``random_state`` seeds the Lanczos start vector and KMeans.
    """
    from sklearn.cluster import KMeans

    c = int(n_clusters)
    if c < 2:
        raise ValueError(f"n_clusters must be at least 2, got {n_clusters!r}")
    rng = np.random.default_rng(random_state)
    emb, vals = spectral_embedding(w, c, normalize_rows=normalize_rows,
                                   random_state=int(rng.integers(2**31 - 1)), tol=tol)
    km = KMeans(n_clusters=c, n_init=int(n_init), random_state=int(rng.integers(2**31 - 1)))
    # one OpenMP thread, as dglclust.train.kmeans_init: scikit-learn's OpenMP runtime spinning
    # against torch's is far slower than a single thread on a small shared machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        labels = km.fit_predict(emb)
    return {"labels": labels.astype(np.int64), "embedding": emb, "eigenvalues": vals,
            "centers": km.cluster_centers_, "inertia": float(km.inertia_)}
