"""dglclust.graph: kNN graphs against brute force, edge-list validation, the graph convention."""
import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust.graph import (
    canonicalize,
    check_graph,
    from_edges,
    knn_graph,
    knn_indices,
    symmetrize,
    to_csr,
)
from dglclust._compat import import_dgl

dgl = import_dgl()


def edge_set(g):
    s, d = g.edges()
    return set(zip(s.tolist(), d.tolist()))


def assert_convention(g):
    s, d = (t.tolist() for t in g.edges())
    pairs = list(zip(s, d))
    assert len(pairs) == len(set(pairs)), "duplicate edges"
    assert all(a != b for a, b in pairs), "self-loop"
    assert set(pairs) == {(b, a) for a, b in pairs}, "not symmetric"


def brute_force_neighbours(x, k, metric, t=2.0):
    """Dense n x n similarity, self excluded, top-k as sets."""
    x = x.double()
    if metric == "heat":
        sim = torch.exp(-torch.cdist(x, x) ** 2 / t)
    elif metric == "cosine":
        xn = x / x.norm(dim=1, keepdim=True)
        sim = xn @ xn.T
    else:
        sim = x @ x.T
    sim.fill_diagonal_(-float("inf"))
    order = torch.argsort(sim, dim=1, descending=True)
    return [set(order[i, :k].tolist()) for i in range(x.shape[0])], order[:, :k]


@pytest.mark.parametrize("metric", ["heat", "cosine", "ip"])
@pytest.mark.parametrize("k", [1, 3, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_knn_matches_brute_force(metric, k, dtype):
    gen = torch.Generator().manual_seed(k)
    x = torch.randn(61, 5, generator=gen, dtype=torch.float64).to(dtype)
    ref_sets, ref_order = brute_force_neighbours(x, k, metric)
    for tile in (None, 1, 7, 1000):  # the tile size must not matter
        idx = knn_indices(x, k, metric, tile_size=tile)
        assert idx.shape == (61, k) and idx.dtype == torch.int64
        assert [set(r) for r in idx.tolist()] == ref_sets
        assert torch.equal(idx, ref_order)  # most similar first
    g = knn_graph(x, k, metric, tile_size=7)
    expected = {(i, j) for i, nb in enumerate(ref_sets) for j in nb}
    expected |= {(j, i) for i, j in expected}
    assert edge_set(g) == expected
    assert g.num_nodes() == 61
    assert_convention(g)
    assert bool((g.in_degrees() >= k).all())


def test_knn_heat_equals_euclidean_and_accepts_numpy():
    x = np.random.default_rng(0).normal(size=(40, 3))
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    idx = knn_indices(x, 4)
    assert np.array_equal(idx.numpy(), np.argsort(d, axis=1)[:, :4])


def test_knn_cosine_zero_row_and_clusters():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.01], [0.0, 1.0], [0.01, 3.0]])
    g = knn_graph(x, 1, "cosine")
    assert_convention(g)
    assert (1, 2) in edge_set(g) and (3, 4) in edge_set(g)
    g = knn_graph(torch.tensor([[0.0], [0.1], [5.0], [5.2]]), 1)
    assert edge_set(g) == {(0, 1), (1, 0), (2, 3), (3, 2)}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=torch.randn(5, 2), k=5), r"k=5 .*only 5 nodes.*at most n - 1 = 4"),
        (dict(x=torch.randn(5, 2), k=9), r"k=9 .*only 5 nodes"),
        (dict(x=torch.randn(5, 2), k=0), r"k must be a positive integer"),
        (dict(x=torch.randn(5, 2), k=2.5), r"k must be a positive integer"),
        (dict(x=torch.randn(5, 2), k=2, metric="euclid"), r"metric must be one of"),
        (dict(x=torch.randn(5), k=2), r"must be 2-D \(nodes x features\), got shape \(5,\)"),
        (dict(x=torch.randn(2, 3, 4), k=1), r"must be 2-D .*got shape \(2, 3, 4\)"),
        (dict(x=np.array([["a", "b"], ["c", "d"]]), k=1), r"numeric array"),
        (dict(x=torch.randn(4, 2), k=1, tile_size=0), r"tile_size must be a positive integer"),
    ],
)
def test_knn_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        knn_graph(**kwargs)


def test_knn_non_finite_counts_rows():
    x = torch.randn(10, 3)
    x[2, 0] = float("nan")
    x[7, 1] = float("inf")
    x[7, 2] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or inf in 2 of 10 rows \(first bad rows: \[2, 7\]\)"):
        knn_graph(x, 3)


def test_symmetrize_dedupes_and_drops_self_loops():
    s, d = symmetrize([0, 1, 2, 2, 3, 0], [1, 0, 2, 3, 2, 1], num_nodes=4)
    assert s.dtype == torch.int64
    assert list(zip(s.tolist(), d.tolist())) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    s, d = symmetrize(torch.tensor([0]), torch.tensor([3]), 4)
    assert list(zip(s.tolist(), d.tolist())) == [(0, 3), (3, 0)]
    with pytest.raises(ValueError, match="same length"):
        symmetrize([0, 1], [1], 3)
    with pytest.raises(ValueError, match=r"node id 3, out of range for num_nodes=3"):
        symmetrize([0], [3], 3)


@pytest.mark.parametrize(
    "edges",
    [
        [[0, 1], [1, 2], [2, 2], [1, 0]],  # (E, 2) list, with a self-loop and a duplicate
        np.array([[0, 1, 2, 1], [1, 2, 2, 0]]),  # (2, E)
        (np.array([0, 1, 2]), np.array([1, 2, 2])),  # (src, dst) tuple
        np.array([[0.0, 1.0], [1.0, 2.0]]),  # np.loadtxt-style floats
        torch.tensor([[1, 0], [2, 1]], dtype=torch.int32),
    ],
)
def test_from_edges_formats(edges):
    g = from_edges(edges, num_nodes=5)
    assert g.num_nodes() == 5  # isolated nodes 3, 4 kept
    assert edge_set(g) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert g.idtype == torch.int64
    assert_convention(g)


def test_from_edges_two_by_two_is_rows_of_pairs_and_empty():
    assert edge_set(from_edges(np.array([[0, 1], [2, 3]]), 4)) == {(0, 1), (1, 0), (2, 3), (3, 2)}
    g = from_edges(np.zeros((0, 2), dtype=np.int64), 3)
    assert g.num_nodes() == 3 and g.num_edges() == 0


@pytest.mark.parametrize(
    "edges, n, match",
    [
        ([[0, 1], [1, 7]], 5, r"node id 7, out of range for num_nodes=5 \(valid ids are 0..4\)"),
        ([[0, 1], [-1, 2]], 5, r"node id -1, but ids must be 0-based in 0..4 \(num_nodes=5\)"),
        (np.arange(9).reshape(3, 3), 9, r"shape \(E, 2\).*or \(2, E\), got shape \(3, 3\)"),
        (np.arange(4), 9, r"got shape \(4,\)"),
        ([[0, 1.5]], 3, r"non-integer value 1.5"),
        ([[0, float("nan")]], 3, r"NaN or inf"),
        ([["a", "b"]], 3, r"integer node ids"),
        ([[0, 1], [2]], 3, r"rectangular integer array"),
        ((np.array([0, 1]), np.array([1])), 3, r"equal lengths, got 2 and 1"),
        ([[0, 1]], 0, r"num_nodes must be a positive integer"),
    ],
)
def test_from_edges_bad_input(edges, n, match):
    with pytest.raises(ValueError, match=match):
        from_edges(edges, n)


def test_to_csr_matches_dense_and_ops_structure():
    g = from_edges([[0, 1], [0, 3], [2, 3], [4, 1]], 6)
    indptr, indices = to_csr(g)
    assert indptr.dtype == indices.dtype == torch.int64
    assert indptr.tolist()[-1] == g.num_edges() and len(indptr) == 7
    dense = torch.zeros(6, 6)
    for i in range(6):
        dense[i, indices[indptr[i]:indptr[i + 1]]] = 1
    expected = torch.zeros(6, 6)
    s, d = g.edges()
    expected[s, d] = 1
    assert torch.equal(dense, expected) and torch.equal(dense, dense.T)
    assert torch.equal(dense.diagonal(), torch.zeros(6))  # no self-loops stored
    from dglclust.ops import graph_csr

    ip2, ix2, _ = graph_csr(g)
    assert torch.equal(ip2.long(), indptr)
    assert torch.equal(ix2.long().sort().values, indices.sort().values)
    ip3, ix3 = to_csr(g, device="cpu")
    assert ip3.device.type == "cpu"


def test_check_graph_and_canonicalize():
    raw = dgl.graph((torch.tensor([0, 0, 1, 2, 2]), torch.tensor([1, 1, 1, 0, 3])), num_nodes=5)
    raw.ndata["feat"] = torch.arange(5.0).unsqueeze(1)
    with pytest.raises(ValueError, match="self-loops"):
        check_graph(raw)
    with pytest.raises(ValueError, match="duplicate edges"):
        check_graph(dgl.graph(([0, 0, 1], [1, 1, 0]), num_nodes=2))
    with pytest.raises(ValueError, match="not symmetric"):
        check_graph(dgl.graph(([0], [1]), num_nodes=2))
    g = canonicalize(raw)
    assert check_graph(g) is g
    assert edge_set(g) == {(0, 1), (1, 0), (0, 2), (2, 0), (2, 3), (3, 2)}
    assert torch.equal(g.ndata["feat"], raw.ndata["feat"]) and g.num_nodes() == 5


def test_knn_tile_size_does_not_change_result():
    # 1500 nodes in tiles of 128 rows (128 x 1500 similarities at a time) vs one 1500 x 1500 tile
    x = torch.randn(1500, 4, generator=torch.Generator().manual_seed(0))
    a = knn_indices(x, 3, tile_size=128)
    b = knn_indices(x, 3, tile_size=1500)
    assert torch.equal(a, b)
