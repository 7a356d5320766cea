"""adagae_graph: brute-force semantics, ties/duplicates, kernel == reference, opcheck, bad input."""
import re

import pytest
import torch

import dglclust.ops as ops
from dglclust.ops import _ext, adagae_graph
from dglclust.ops.adagae import adagae_graph_reference, symmetrize_csr

HAS_KERNEL = _ext.has_kernel("adagae_graph", "cpu")
needs_kernel = pytest.mark.skipif(not HAS_KERNEL, reason="compiled adagae_graph kernel not available")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
IMPLS = {"api": adagae_graph, "reference": adagae_graph_reference}


def brute_force(x, k):
    """Dense exact definition: float64 distances, order by (distance, index), closed form."""
    n = x.shape[0]
    x64 = x.to(torch.float64)
    dist = ((x64[:, None, :] - x64[None, :, :]) ** 2).sum(-1)
    dist.fill_diagonal_(float("inf"))
    dist, order = torch.sort(dist, dim=1, stable=True)  # stable: equal distances keep index order
    t = dist[:, k] if k < n - 1 else dist[:, k - 1]
    gap = t[:, None] - dist[:, :k]
    denom = gap.sum(1, keepdim=True)
    w = torch.where(denom > 0, gap / denom.clamp_min(1e-300), torch.full_like(gap, 1.0 / k))
    P = torch.zeros(n, n, dtype=torch.float64)
    P.scatter_(1, order[:, :k], w)
    support = torch.zeros(n, n, dtype=torch.bool)
    support.scatter_(1, order[:, :k], True)
    return P, support


def to_dense(indptr, indices, values, n):
    rows = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
    P = torch.zeros(n, n, dtype=torch.float64)
    P[rows, indices] = values.to(torch.float64)
    support = torch.zeros(n, n, dtype=torch.bool)
    support[rows, indices] = True
    return P, support


def check_structure(indptr, indices, values, n, k, dtype):
    assert indptr.dtype == torch.int64 and indices.dtype == torch.int64 and values.dtype == dtype
    assert torch.equal(indptr, torch.arange(0, n * k + 1, k))
    idx = indices.view(n, k)
    assert bool((idx[:, 1:] > idx[:, :-1]).all()), "columns must be strictly ascending in each row"
    assert not bool((idx == torch.arange(n)[:, None]).any()), "no self-loops"
    assert bool((values >= 0).all())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(values.view(n, k).to(torch.float64).sum(1), torch.ones(n, dtype=torch.float64),
                               atol=tol, rtol=0)


def assert_matches_brute(out, x, k):
    n = x.shape[0]
    check_structure(*out, n, k, x.dtype)
    P, support = to_dense(*out, n)
    P_ref, support_ref = brute_force(x, k)
    assert torch.equal(support, support_ref), f"{int((support != support_ref).sum())} neighbour entries differ"
    tol = dict(atol=1e-6, rtol=1e-5) if x.dtype == torch.float32 else dict(atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(P, P_ref, **tol)


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,d,k", [(2, 3, 1), (7, 2, 3), (60, 5, 6), (40, 3, 39), (40, 3, 38), (1100, 8, 10)])
def test_matches_brute_force(impl, dtype, n, d, k):
    g = torch.Generator().manual_seed(n * 31 + k)
    x = (torch.randn(n, d, generator=g) * 3 + 5).to(dtype)  # off-center: exercises the centering
    assert_matches_brute(IMPLS[impl](x, k), x, k)


def test_docstring_example_and_hand_computed_rows():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    indptr, indices, values = adagae_graph(x, k=2)
    # row 0: squared distances 1, 9, 49 -> t = 49, gaps 48, 40
    assert indices[:2].tolist() == [1, 2]
    torch.testing.assert_close(values[:2], torch.tensor([48 / 88, 40 / 88]))
    # k = n - 1: d_{k+1} := d_k, so the farthest neighbour gets weight 0
    _, indices, values = adagae_graph(x, k=3)
    torch.testing.assert_close(values[:3], torch.tensor([48 / 88, 40 / 88, 0.0]))


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_equal_distances_equal_weights_and_uniform_rule(impl):
    # point 0 at the origin, two points at distance 1, two at distance 2 (squared 1 and 4)
    x = torch.tensor([[0.0], [1.0], [-1.0], [2.0], [-2.0]])
    _, indices, values = IMPLS[impl](x, 2)
    assert indices[:2].tolist() == [1, 2]
    torch.testing.assert_close(values[:2], torch.tensor([0.5, 0.5]))  # equal distances, equal weights
    # k = 1: the 2 nearest (k+1) are tied -> denominator 0 -> uniform 1/k; the tie goes to index 1
    _, indices, values = IMPLS[impl](x, 1)
    assert indices[0].item() == 1 and values[0].item() == 1.0
    assert_matches_brute(IMPLS[impl](x, 1), x, 1)


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_all_points_identical(impl, dtype):
    n, k = 9, 4
    x = torch.full((n, 3), 0.3, dtype=dtype)
    indptr, indices, values = IMPLS[impl](x, k)
    assert torch.equal(values, torch.full((n * k,), 1.0 / k, dtype=dtype))  # never 0/0
    expected = [[j for j in range(n) if j != i][:k] for i in range(n)]  # smallest indices win
    assert indices.view(n, k).tolist() == expected


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_duplicate_points(impl, dtype):
    g = torch.Generator().manual_seed(3)
    base = torch.randn(120, 6, generator=g).to(dtype)
    # 12 copies of row 0 and 3 copies of row 1, scattered (non-integer values: centered path)
    x = torch.cat([base, base[:1].repeat(12, 1), base[1:2].repeat(3, 1)])
    x = x[torch.randperm(x.shape[0], generator=g)]
    k = 5
    out = IMPLS[impl](x, k)
    assert_matches_brute(out, x, k)
    # every copy of row 0 has >= k+1 exact duplicates -> uniform row
    _, _, values = out
    copies = (x == base[0]).all(1).nonzero().squeeze(1)
    assert torch.equal(values.view(-1, k)[copies], torch.full((copies.numel(), k), 1.0 / k, dtype=dtype))


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_integer_features_many_ties(impl, dtype):
    # binary bag-of-words-like features: integer Hamming distances, massive exact ties and
    # duplicates, spread over several 512-row blocks of the kernel
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(1300, 12, generator=g) < 0.3).to(dtype)
    assert_matches_brute(IMPLS[impl](x, 7), x, 7)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_symmetrize(impl):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(80, 4, generator=g, dtype=torch.float64)
    k = 6
    P, support = to_dense(*IMPLS[impl](x, k), 80)
    wptr, wind, wval = IMPLS[impl](x, k, symmetrize=True)
    W, wsupport = to_dense(wptr, wind, wval, 80)
    torch.testing.assert_close(W, (P + P.T) / 2)
    assert torch.equal(wsupport, support | support.T)  # union pattern, zero weights kept
    assert torch.equal(W, W.T)
    assert wptr[-1].item() == wind.numel() == int((support | support.T).sum())
    idx_rows = [wind[wptr[i]:wptr[i + 1]] for i in range(80)]
    assert all(bool((r[1:] > r[:-1]).all()) for r in idx_rows)
    torch.testing.assert_close(W.sum(), torch.tensor(80.0, dtype=torch.float64))


def test_symmetrize_csr_helper():
    indptr = torch.tensor([0, 1, 3, 3])
    indices = torch.tensor([1, 0, 2])
    values = torch.tensor([0.5, 0.25, 1.0])
    wptr, wind, wval = symmetrize_csr(indptr, indices, values)
    assert wptr.tolist() == [0, 1, 3, 4] and wind.tolist() == [1, 0, 2, 1]
    torch.testing.assert_close(wval, torch.tensor([0.375, 0.375, 0.5, 0.5]))


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("symmetrize", [False, True])
def test_kernel_matches_reference(dtype, symmetrize):
    g = torch.Generator().manual_seed(11)
    for n, d, k in [(700, 16, 10), (1500, 3, 25), (50, 2, 49)]:
        x = torch.randn(n, d, generator=g).to(dtype)
        a = torch.ops.dglclust.adagae_graph(x, k, symmetrize)
        b = adagae_graph_reference(x, k, symmetrize)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        torch.testing.assert_close(a[2], b[2])


@needs_kernel
def test_kernel_independent_of_thread_count():
    x = torch.randn(1200, 9, generator=torch.Generator().manual_seed(2))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = adagae_graph(x, 8, symmetrize=True)
        torch.set_num_threads(max(2, before))
        b = adagae_graph(x, 8, symmetrize=True)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


@needs_kernel
@pytest.mark.parametrize("symmetrize", [False, True])
def test_opcheck(symmetrize):
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    torch.library.opcheck(torch.ops.dglclust.adagae_graph.default, (x, 5, symmetrize))


@needs_kernel
def test_torch_compile_fullgraph():
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(1))
    fn = torch.compile(lambda t: adagae_graph(t, 4), fullgraph=True)
    assert all(torch.equal(u, v) for u, v in zip(fn(x), adagae_graph(x, 4)))


def test_no_ext_env_forces_reference(monkeypatch):
    monkeypatch.setenv("DGLCLUST_NO_EXT", "1")
    assert not _ext.has_kernel("adagae_graph", "cpu") and ops.backend() == "reference"
    x = torch.randn(30, 3, generator=torch.Generator().manual_seed(4))
    assert_matches_brute(adagae_graph(x, 3), x, 3)


def test_no_gradient_and_other_dtypes():
    x = torch.randn(30, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
    _, _, values = adagae_graph(x, 3)
    assert not values.requires_grad
    _, idx16, v16 = adagae_graph(x.detach().half(), 3)
    assert v16.dtype == torch.float16
    assert torch.equal(idx16, adagae_graph_reference(x.detach().half().float(), 3)[1])


BAD_INPUTS = [
    (lambda: adagae_graph(torch.randn(5, 2), 5), ValueError,
     "adagae_graph: k must satisfy 1 <= k < n (k neighbours besides the point itself), got k = 5 with n = 5"),
    (lambda: adagae_graph(torch.randn(5, 2), 0), ValueError,
     "adagae_graph: k must satisfy 1 <= k < n (k neighbours besides the point itself), got k = 0 with n = 5"),
    (lambda: adagae_graph(torch.randn(5, 2), 2.0), TypeError, "adagae_graph: k must be an int, got float"),
    (lambda: adagae_graph(torch.randn(5), 2), ValueError,
     "adagae_graph: x must be a 2-D (n, d) feature matrix, got shape (5,)"),
    (lambda: adagae_graph(torch.ones(5, 2, dtype=torch.int64), 2), TypeError,
     "adagae_graph: x must be floating point, got torch.int64; use x.float()"),
    (lambda: adagae_graph(torch.randn(1, 2), 1), ValueError, "adagae_graph: need at least 2 points, got n = 1"),
    (lambda: adagae_graph(torch.tensor([[0.0, 1.0], [float("nan"), 2.0], [1.0, 1.0]]), 1), ValueError,
     "adagae_graph: x contains NaN or Inf; clean the features (e.g. torch.nan_to_num) before building the graph"),
    (lambda: adagae_graph(torch.tensor([[0.0], [float("inf")], [1.0]]), 1), ValueError,
     "adagae_graph: x contains NaN or Inf; clean the features (e.g. torch.nan_to_num) before building the graph"),
]


@pytest.mark.parametrize("case", range(len(BAD_INPUTS)))
def test_bad_inputs(case):
    fn, exc, message = BAD_INPUTS[case]
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        fn()


@needs_kernel
def test_bad_inputs_raw_op():
    with pytest.raises(RuntimeError, match=re.escape("got k = 5 with n = 5")):
        torch.ops.dglclust.adagae_graph(torch.randn(5, 2), 5, False)
    with pytest.raises(RuntimeError, match=re.escape("adagae_graph: x contains NaN or Inf")):
        torch.ops.dglclust.adagae_graph(torch.tensor([[0.0], [float("nan")], [1.0]]), 1, False)
    with pytest.raises(RuntimeError, match=re.escape("adagae_graph: x must be float32 or float64")):
        torch.ops.dglclust.adagae_graph(torch.randn(5, 2).half(), 2, False)


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("symmetrize", [False, True])
def test_cuda_matches_cpu(dtype, symmetrize):
    g = torch.Generator().manual_seed(13)
    for n, d, k in [(3000, 32, 10), (300, 4, 299), (2500, 7, 40)]:
        x = torch.randn(n, d, generator=g).to(dtype)
        a = adagae_graph(x.cuda(), k, symmetrize)
        b = adagae_graph_reference(x, k, symmetrize)
        assert torch.equal(a[0].cpu(), b[0]) and torch.equal(a[1].cpu(), b[1])
        torch.testing.assert_close(a[2].cpu(), b[2])
    xi = (torch.rand(1300, 12, generator=g) < 0.3).to(dtype)
    assert_matches_brute(tuple(t.cpu() for t in adagae_graph(xi.cuda(), 7)), xi, 7)
