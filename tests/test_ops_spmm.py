"""normalized_spmm / graph_spmm: compiled kernel vs the DGL reference, gradients, opcheck,
torch.compile, bad inputs, the DGLCLUST_NO_EXT fallback and (when available) CUDA."""
from __future__ import annotations

import pytest
import torch

import dglclust
from dglclust.ops import _ext, graph_csr, graph_spmm, normalized_spmm
from dglclust.ops._reference import edge_norm_values, normalized_spmm_ref
from dglclust.ops.spmm import csr_plan

dgl = dglclust._compat.import_dgl()

HAS_KERNEL = _ext.has_kernel("normalized_spmm", "cpu")
needs_kernel = pytest.mark.skipif(not HAS_KERNEL,
                                  reason=f"extension not active: {_ext.load_error()}")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _csr_from_coo(rows, cols, n):
    order = torch.argsort(rows, stable=True)
    indptr = torch.zeros(n + 1, dtype=torch.int64)
    if rows.numel():
        indptr[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
    return indptr, cols[order]


def random_csr(kind, n=40, m=160, seed=0):
    """CSR (indptr, indices) of a random graph of a given kind (rows unsorted on purpose)."""
    gen = torch.Generator().manual_seed(seed)
    if kind == "empty":
        return torch.zeros(n + 1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    if kind == "single":
        return torch.tensor([0, 0]), torch.zeros(0, dtype=torch.int64)
    if kind == "single_loop":
        return torch.tensor([0, 1]), torch.tensor([0])
    r = torch.randint(0, n, (m,), generator=gen)
    c = torch.randint(0, n, (m,), generator=gen)
    if kind == "isolated":  # the last quarter of the nodes has no edges at all
        keep = (r < 3 * n // 4) & (c < 3 * n // 4)
        r, c = r[keep], c[keep]
    if kind in ("symmetric", "isolated", "loops", "duplicates"):
        r, c = torch.cat([r, c]), torch.cat([c, r])
    if kind == "symmetric" or kind == "isolated":
        key = torch.unique(r * n + c)
        key = key[key // n != key % n]  # the dataset convention: no self-loops, no duplicates
        r, c = key // n, key % n
    if kind == "loops":  # existing self-loops (counted as edges, plus I when add_self_loops)
        r, c = torch.cat([r, torch.arange(0, n, 3)]), torch.cat([c, torch.arange(0, n, 3)])
    if kind == "duplicates":
        r, c = torch.cat([r, r[:20]]), torch.cat([c, c[:20]])
    perm = torch.randperm(r.numel(), generator=gen)  # unsorted rows
    return _csr_from_coo(r[perm], c[perm], n)


KINDS = ["symmetric", "nonsymmetric", "isolated", "loops", "duplicates", "empty", "single",
         "single_loop"]


def _weights(indices, dtype, seed=1, positive=True):
    gen = torch.Generator().manual_seed(seed)
    w = torch.rand(indices.numel(), generator=gen, dtype=torch.float64)
    w = w + (0.1 if positive else -0.5)
    return w.to(dtype)


def raw_op(indptr, indices, x, w=None, rs=None, cs=None, add_self_loops=True, t_indptr=None,
           t_indices=None, t_perm=None):
    """``torch.ops.dglclust.normalized_spmm`` with the optional arguments defaulted."""
    return torch.ops.dglclust.normalized_spmm(indptr, indices, x, w, rs, cs, add_self_loops,
                                              t_indptr, t_indices, t_perm)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------------------
# kernel vs reference
# --------------------------------------------------------------------------------------------------
@needs_kernel
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("norm", ["sym", "row", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_forward_backward_match_reference(kind, norm, weighted):
    indptr, indices = random_csr(kind)
    n = indptr.numel() - 1
    for dtype in (torch.float32, torch.float64):
        for add_self_loops in (True, False):
            w = _weights(indices, dtype) if weighted else None
            x = torch.randn(n, 7, dtype=dtype, requires_grad=True)
            y = normalized_spmm(indptr, indices, x, w, add_self_loops, norm)
            xr = x.detach().clone().requires_grad_()
            yr = normalized_spmm_ref(indptr, indices, xr, w, add_self_loops, norm)
            torch.testing.assert_close(y, yr, **_tol(dtype))
            gy = torch.randn_like(y)
            y.backward(gy)
            yr.backward(gy)
            torch.testing.assert_close(x.grad, xr.grad, **_tol(dtype))


@needs_kernel
@pytest.mark.parametrize("F,dtype", [(1, torch.float32), (16, torch.float32), (37, torch.float32),
                                     (300, torch.float32), (129, torch.float64),
                                     (256, torch.float64)])
def test_feature_widths(F, dtype):
    """Feature tails (masked vectors) and several register blocks per row."""
    indptr, indices = random_csr("nonsymmetric", n=300, m=3000, seed=F)
    x = torch.randn(300, F, dtype=dtype)
    w = _weights(indices, dtype)
    torch.testing.assert_close(normalized_spmm(indptr, indices, x, w),
                               normalized_spmm_ref(indptr, indices, x, w), **_tol(dtype))


@needs_kernel
def test_large_parallel_streaming_path():
    """Big enough for the multi-threaded row chunks and the streaming-store path (x >= 16 MiB)."""
    n, F = 66_000, 64
    gen = torch.Generator().manual_seed(3)
    r = torch.randint(0, n, (200_000,), generator=gen)
    c = torch.randint(0, n, (200_000,), generator=gen)
    indptr, indices = _csr_from_coo(r, c, n)
    x = torch.randn(n, F, generator=gen)
    y = normalized_spmm(indptr, indices, x)
    torch.testing.assert_close(y, normalized_spmm_ref(indptr, indices, x), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_negative_weights_zero_degree():
    """Rows / columns with a non-positive (weighted) degree contribute zeros, like the reference."""
    indptr, indices = torch.tensor([0, 2, 3, 4]), torch.tensor([1, 2, 0, 0])
    w = torch.tensor([-2.0, 0.5, 1.0, -1.0], dtype=torch.float64)
    x = torch.randn(3, 4, dtype=torch.float64)
    for norm in ("sym", "row"):
        y = normalized_spmm(indptr, indices, x, w, norm=norm)
        torch.testing.assert_close(y, normalized_spmm_ref(indptr, indices, x, w, True, norm))
        assert torch.isfinite(y).all()


@needs_kernel
def test_int32_and_int64_structure_and_raw_op():
    indptr, indices = random_csr("nonsymmetric")
    x = torch.randn(40, 5, dtype=torch.float64)
    ref = normalized_spmm_ref(indptr, indices, x, None, True, "row")
    deg = (indptr[1:] - indptr[:-1]).double() + 1
    for ip, ix in [(indptr, indices), (indptr.int(), indices.int()), (indptr, indices.int()),
                   (indptr.int(), indices)]:
        y = raw_op(ip, ix, x, rs=1 / deg)
        torch.testing.assert_close(y, ref)
        torch.testing.assert_close(normalized_spmm(ip, ix, x, norm="row"), ref)


# --------------------------------------------------------------------------------------------------
# DGL graphs
# --------------------------------------------------------------------------------------------------
@needs_kernel
@pytest.mark.parametrize("symmetric_graph", [True, False])
def test_graph_spmm_matches_graphconv_style_update_all(symmetric_graph):
    import dgl.function as fn

    gen = torch.Generator().manual_seed(5)
    n = 60
    src = torch.randint(0, n, (250,), generator=gen)
    dst = torch.randint(0, n, (250,), generator=gen)
    if symmetric_graph:
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
    g = dgl.graph((src, dst), num_nodes=n)
    x = torch.randn(n, 8, dtype=torch.float64, requires_grad=True)
    w = torch.rand(g.num_edges(), generator=gen, dtype=torch.float64)
    y = graph_spmm(g, x, w, norm="sym")
    # explicit message passing with D^-1/2 (A + I) D^-1/2 in DGL edge order
    gl = dgl.add_self_loop(g)
    wl = torch.cat([w, torch.ones(n, dtype=torch.float64)])
    xr = x.detach().clone().requires_grad_()
    with gl.local_scope():
        deg_in = torch.zeros(n, dtype=torch.float64).index_add_(0, gl.edges()[1], wl)
        deg_out = torch.zeros(n, dtype=torch.float64).index_add_(0, gl.edges()[0], wl)
        gl.ndata["h"] = xr * deg_out.rsqrt().unsqueeze(1)
        gl.edata["w"] = wl.unsqueeze(1)
        gl.update_all(fn.u_mul_e("h", "w", "m"), fn.sum("m", "y"))
        yr = gl.ndata["y"] * deg_in.rsqrt().unsqueeze(1)
    torch.testing.assert_close(y, yr)
    gy = torch.randn_like(y)
    (gx,) = torch.autograd.grad(y, x, gy)
    (gxr,) = torch.autograd.grad(yr, xr, gy)
    torch.testing.assert_close(gx, gxr)
    # the prepared structure is cached on the graph and knows whether it is symmetric
    plans = g._dglclust_spmm_plans[1]
    assert len(plans) == 1 and next(iter(plans.values())).symmetric == symmetric_graph


@needs_kernel
def test_graph_csr_is_in_edge_csr_and_cached():
    g = dgl.graph((torch.tensor([0, 0, 2]), torch.tensor([1, 2, 1])), num_nodes=3)
    indptr, indices, eids = graph_csr(g)
    assert indptr.tolist() == [0, 0, 2, 3]
    assert sorted(indices[0:2].tolist()) == [0, 2] and indices[2].item() == 0
    assert g.edges()[0][eids].tolist() == indices.tolist()
    assert graph_csr(g)[0] is indptr  # cached


def test_graph_cache_follows_in_place_edits():
    """An in-place edit that keeps the node and edge counts must not reuse the old structure."""
    g = dgl.graph((torch.tensor([0, 1, 1, 2]), torch.tensor([1, 0, 2, 1])), num_nodes=4)
    x = torch.randn(4, 3)
    before = graph_spmm(g, x)
    g.remove_edges(torch.tensor([2, 3]))          # drop 1-2, 2-1
    g.add_edges(torch.tensor([2, 3]), torch.tensor([3, 2]))  # add 2-3, 3-2: same counts
    after = graph_spmm(g, x)
    fresh = dgl.graph(g.edges(), num_nodes=4)
    torch.testing.assert_close(after, graph_spmm(fresh, x))
    assert not torch.allclose(before, after)
    assert graph_csr(g)[1].tolist() == graph_csr(fresh)[1].tolist()


@needs_kernel
def test_symmetric_flag_reuses_forward_structure():
    indptr, indices = random_csr("symmetric")
    plan = csr_plan(indptr, indices)
    assert plan.symmetric
    t_indptr, t_indices, rev = plan.transpose()
    assert t_indptr is None and t_indices is None
    # rev maps each edge to its reverse edge
    rows = plan.rows()
    cols = plan.indices.long()
    assert torch.equal(rows[rev], cols) and torch.equal(cols[rev], rows)
    x = torch.randn(40, 3, dtype=torch.float64, requires_grad=True)
    w = _weights(indices, torch.float64)
    w_sym = torch.ones_like(w)  # symmetric weights: symmetric=True is valid
    (g1,) = torch.autograd.grad(normalized_spmm(indptr, indices, x, w_sym, symmetric=True).sum(), x)
    (g2,) = torch.autograd.grad(normalized_spmm_ref(indptr, indices, x, w_sym).sum(), x)
    torch.testing.assert_close(g1, g2)
    # with non-symmetric weights on a symmetric structure the detected path is still exact
    (g3,) = torch.autograd.grad(normalized_spmm(indptr, indices, x, w).sum(), x)
    (g4,) = torch.autograd.grad(normalized_spmm_ref(indptr, indices, x, w).sum(), x)
    torch.testing.assert_close(g3, g4)
    # symmetric=False never assumes symmetric weights
    (g5,) = torch.autograd.grad(normalized_spmm(indptr, indices, x, w, symmetric=False).sum(), x)
    torch.testing.assert_close(g5, g4)
    assert not csr_plan(*random_csr("nonsymmetric")).symmetric


@needs_kernel
def test_plan_cache_sees_in_place_changes():
    indptr, indices = random_csr("nonsymmetric")
    x = torch.randn(40, 3)
    normalized_spmm(indptr, indices, x)
    assert csr_plan(indptr, indices) is csr_plan(indptr, indices)
    old = csr_plan(indptr, indices)
    indices[0] = (indices[0] + 1) % 40
    assert csr_plan(indptr, indices) is not old
    torch.testing.assert_close(normalized_spmm(indptr, indices, x),
                               normalized_spmm_ref(indptr, indices, x))


# --------------------------------------------------------------------------------------------------
# autograd, opcheck, torch.compile
# --------------------------------------------------------------------------------------------------
@needs_kernel
@pytest.mark.parametrize("kind", ["symmetric", "nonsymmetric", "loops"])
@pytest.mark.parametrize("norm", ["sym", "row"])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck(kind, norm, weighted):
    indptr, indices = random_csr(kind, n=12, m=40)
    w = _weights(indices, torch.float64) if weighted else None
    x = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    f = lambda x: normalized_spmm(indptr, indices, x, w, True, norm)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))


def test_edge_weight_gradient_via_reference():
    """edge_weight.requires_grad: the differentiable reference runs (degrees depend on weights)."""
    indptr, indices = random_csr("nonsymmetric", n=6, m=12)
    w = _weights(indices, torch.float64).requires_grad_()
    x = torch.randn(6, 1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: normalized_spmm(indptr, indices, x, w), (x, w))


def _op_samples():
    """Arguments of the raw op: symmetric (reused / explicit transpose) and non-symmetric structure,
    weighted and not, both dtypes, an empty graph."""
    samples = []
    f64, f32 = torch.float64, torch.float32
    for kind, dtypes in (("symmetric", (f64, f32)), ("nonsymmetric", (f64,)), ("empty", (f64,))):
        indptr, indices = random_csr(kind, n=15, m=50, seed=7)
        plan = csr_plan(indptr, indices)
        t_indptr, t_indices, t_perm = plan.transpose()
        if t_indptr is None:
            t_indptr, t_indices = plan.indptr, plan.indices
        for dtype in dtypes:
            x = torch.randn(15, 4, dtype=dtype, requires_grad=True)
            w = _weights(plan.indices, dtype)
            rs, cs = plan.scales("sym", True, dtype, w)
            ip, ix = plan.indptr, plan.indices
            samples.append((ip, ix, x, w, rs, cs, True, t_indptr, t_indices, t_perm))
            if dtype == f64:
                samples.append((ip, ix, x, None, rs, None, False, t_indptr, t_indices, None))
            if kind == "symmetric" and dtype == f64:
                samples.append((ip, ix, x, None, rs, rs, True, None, None, None))
    return samples


@needs_kernel
def test_opcheck():
    for args in _op_samples():
        torch.library.opcheck(torch.ops.dglclust.normalized_spmm.default, args)


@needs_kernel
def test_raw_op_rejects_weight_gradient():
    indptr, indices = random_csr("symmetric", n=10, m=20)
    x = torch.randn(10, 2, requires_grad=True)
    w = torch.ones(indices.numel(), requires_grad=True)
    y = raw_op(indptr, indices, x, w)
    with pytest.raises(RuntimeError, match="does not compute gradients w.r.t. edge_weight"):
        y.sum().backward()


@needs_kernel
def test_torch_compile_smoke():
    indptr, indices = random_csr("symmetric", n=30, m=90)
    lin = torch.nn.Linear(6, 4, dtype=torch.float64)

    def layer(x):
        return torch.relu(normalized_spmm(indptr, indices, lin(x)))

    x = torch.randn(30, 6, dtype=torch.float64, requires_grad=True)
    compiled = torch.compile(layer, backend="aot_eager")
    y = compiled(x)
    torch.testing.assert_close(y, layer(x))
    (gx,) = torch.autograd.grad(y.sum(), x)
    (gx_ref,) = torch.autograd.grad(layer(x).sum(), x)
    torch.testing.assert_close(gx, gx_ref)


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    indptr, indices = torch.tensor([0, 1, 3, 3]), torch.tensor([1, 0, 2])
    x = torch.randn(3, 2)
    with pytest.raises(ValueError,
                       match=r"indices contains node id 5 outside \[0, 3\) "
                             r"\(the graph has 3 nodes\)"):
        normalized_spmm(indptr, torch.tensor([1, 0, 5]), x)
    with pytest.raises(ValueError, match=r"indices contains node id -1 outside \[0, 3\)"):
        normalized_spmm(indptr, torch.tensor([1, -1, 2]), x)
    with pytest.raises(ValueError,
                       match=r"indptr must start at 0 and end at the number of edges \(3\)"):
        normalized_spmm(torch.tensor([0, 1, 2, 4]), indices, x)
    with pytest.raises(ValueError,
                       match=r"indptr must be non-decreasing, but indptr\[2\] < indptr\[1\]"):
        normalized_spmm(torch.tensor([0, 2, 1, 3]), indices, x)
    with pytest.raises(ValueError, match="x has 4 rows but the graph has 3 nodes"):
        normalized_spmm(indptr, indices, torch.randn(4, 2))
    with pytest.raises(ValueError,
                       match=r"norm must be one of \('sym', 'row', 'none'\), got 'left'"):
        normalized_spmm(indptr, indices, x, norm="left")
    with pytest.raises(ValueError, match=r"x must be 2-D \(nodes x features\), got shape \(3,\)"):
        normalized_spmm(indptr, indices, torch.randn(3))
    with pytest.raises(TypeError, match="needs a floating-point x, got torch.int64"):
        normalized_spmm(indptr, indices, torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"edge_weight must be 1-D with one value per edge \(3\), "
                                         r"got shape \(2,\)"):
        normalized_spmm(indptr, indices, x, torch.ones(2))
    with pytest.raises(TypeError, match="indptr and indices must be integer tensors"):
        normalized_spmm(indptr.float(), indices, x)
    g = dgl.graph(([0, 1], [1, 2]), num_nodes=3)
    with pytest.raises(ValueError, match="x has 2 rows but the graph has 3 nodes"):
        graph_spmm(g, torch.randn(2, 2))
    with pytest.raises(ValueError, match=r"edge_weight must be 1-D with one value per edge \(2\)"):
        graph_spmm(g, x, torch.ones(3))


@needs_kernel
def test_raw_op_validates_inside_the_kernel():
    x = torch.randn(3, 2)
    op = raw_op
    with pytest.raises(RuntimeError,
                       match=r"indices contains node id 7 outside \[0, 3\) "
                             r"\(the graph has 3 nodes\)"):
        op(torch.tensor([0, 1, 3, 3]), torch.tensor([1, 7, 2]), x)
    with pytest.raises(RuntimeError, match=r"indptr is not a valid CSR row pointer at row 1"):
        op(torch.tensor([0, 2, 1, 3]), torch.tensor([1, 0, 2]), x)
    with pytest.raises(RuntimeError,
                       match=r"indptr must start at 0 and end at the number of edges \(3\)"):
        op(torch.tensor([0, 1, 3, 4]), torch.tensor([1, 0, 2]), x)
    with pytest.raises(RuntimeError, match="x has 3 rows but indptr describes 2 nodes"):
        op(torch.tensor([0, 1, 3]), torch.tensor([1, 0, 2]), x)
    with pytest.raises(RuntimeError, match="supports float32 and float64 x, got BFloat16"):
        op(torch.tensor([0, 1, 3, 3]), torch.tensor([1, 0, 2]), x.bfloat16())
    with pytest.raises(RuntimeError,
                       match=r"edge_weight \(one value per edge\) must be 1-D with 3 entries"):
        op(torch.tensor([0, 1, 3, 3]), torch.tensor([1, 0, 2]), x, torch.ones(4))


def test_other_dtypes_use_the_reference():
    indptr, indices = random_csr("symmetric", n=20, m=60)
    x = torch.randn(20, 4)
    y = normalized_spmm(indptr, indices, x.bfloat16())
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), normalized_spmm_ref(indptr, indices, x),
                               rtol=2e-2, atol=2e-2)


# --------------------------------------------------------------------------------------------------
# DGLCLUST_NO_EXT=1 and the reference itself
# --------------------------------------------------------------------------------------------------
def test_no_ext_env_gives_the_same(monkeypatch):
    indptr, indices = random_csr("nonsymmetric")
    x = torch.randn(40, 5, dtype=torch.float64)
    w = _weights(indices, torch.float64)
    fast = normalized_spmm(indptr, indices, x, w, norm="row")
    monkeypatch.setenv("DGLCLUST_NO_EXT", "1")
    assert not _ext.has_kernel("normalized_spmm", "cpu")
    slow = normalized_spmm(indptr, indices, x, w, norm="row")
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(slow, normalized_spmm_ref(indptr, indices, x, w, True, "row"))


def test_reference_matches_dense_formula():
    indptr, indices = random_csr("duplicates", n=15, m=40)
    n = 15
    w = _weights(indices, torch.float64)
    x = torch.randn(n, 3, dtype=torch.float64)
    rows = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
    a = torch.zeros(n, n, dtype=torch.float64).index_put_((rows, indices), w, accumulate=True)
    a = a + torch.eye(n, dtype=torch.float64)
    dr, dc = a.sum(1), a.sum(0)
    dense = dr.rsqrt().unsqueeze(1) * a * dc.rsqrt().unsqueeze(0)
    torch.testing.assert_close(normalized_spmm_ref(indptr, indices, x, w), dense @ x)
    torch.testing.assert_close(normalized_spmm(indptr, indices, x, w), dense @ x)
    r, c, v = edge_norm_values(indptr, indices, n, w, True, "row", torch.float64)
    dense_row = torch.zeros(n, n, dtype=torch.float64).index_put_((r, c), v, accumulate=True)
    torch.testing.assert_close(dense_row, a / dr.unsqueeze(1))


# --------------------------------------------------------------------------------------------------
# CUDA
# --------------------------------------------------------------------------------------------------
@cuda
@pytest.mark.parametrize("kind", ["symmetric", "nonsymmetric", "isolated", "empty"])
@pytest.mark.parametrize("F,dtype", [(1, torch.float32), (16, torch.float32), (37, torch.float32),
                                     (130, torch.float64)])
def test_cuda_matches_cpu(kind, F, dtype):
    if not _ext.has_kernel("normalized_spmm", "cuda"):
        pytest.skip("the extension was built without CUDA")
    indptr, indices = random_csr(kind, n=200, m=1500)
    n = indptr.numel() - 1
    for norm in ("sym", "row", "none"):
        for weighted in (False, True):
            w = _weights(indices, dtype) if weighted else None
            x = torch.randn(n, F, dtype=dtype)
            y_cpu = normalized_spmm_ref(indptr, indices, x, w, True, norm)
            xc = x.cuda().requires_grad_()
            y = normalized_spmm(indptr.cuda(), indices.cuda(), xc, None if w is None else w.cuda(),
                                True, norm)
            torch.testing.assert_close(y.cpu(), y_cpu, **_tol(dtype))
            gy = torch.randn_like(y_cpu)
            y.backward(gy.cuda())
            xr = x.clone().requires_grad_()
            normalized_spmm_ref(indptr, indices, xr, w, True, norm).backward(gy)
            torch.testing.assert_close(xc.grad.cpu(), xr.grad, **_tol(dtype))


@cuda
def test_cuda_graph_spmm_and_opcheck():
    if not _ext.has_kernel("normalized_spmm", "cuda"):
        pytest.skip("the extension was built without CUDA")
    g = dgl.graph((torch.tensor([0, 1, 2, 3]), torch.tensor([1, 2, 3, 0])), num_nodes=4)
    x = torch.randn(4, 8, dtype=torch.float64)
    torch.testing.assert_close(graph_spmm(g, x.cuda()).cpu(), graph_spmm(g, x))
    for args in _op_samples():
        args = tuple(a.cuda().detach().requires_grad_(a.requires_grad)
                     if isinstance(a, torch.Tensor) else a for a in args)
        torch.library.opcheck(torch.ops.dglclust.normalized_spmm.default, args)
