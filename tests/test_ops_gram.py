"""gram_pairwise_sum (the all-pairs sum of inner-product decoders): kernel == torch block products ==
dense formula, gradcheck, opcheck, thread-count independence, bad input, DGLCLUST_NO_EXT."""
import pytest
import torch

from dglclust.nn import recon
from dglclust.nn.recon import pairwise_sum
from dglclust.ops import _ext
from dglclust.ops.gram import gram_pairwise_kernel, has_gram_pairwise_kernel

HAS_KERNEL = _ext.has_kernel("gram_pairwise_sum", "cpu")
needs_kernel = pytest.mark.skipif(not HAS_KERNEL, reason="compiled gram_pairwise_sum kernel not available")
KINDS = ["sigmoid_sq", "softplus"]
# n: one row; a row block (64) plus a tail; a column tile (2048) plus a tail; d: 1, odd, wide
SHAPES = [(1, 3), (65, 1), (130, 7), (2100, 5), (300, 33)]


def dense(z, kind):
    s = z @ z.T
    return (torch.sigmoid(s).square() if kind == "sigmoid_sq" else torch.nn.functional.softplus(s)).sum()


def blocks(z, kind, monkeypatch):
    """The torch block products (the fallback), whatever the extension provides."""
    with monkeypatch.context() as m:
        m.setattr(recon, "has_gram_pairwise_kernel", lambda t: False)
        zr = z.detach().clone().requires_grad_()
        total = pairwise_sum(zr, kind, tile=512)
        total.backward()
    return total.detach(), zr.grad


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_kernel_matches_block_products(kind, n, d, dtype, monkeypatch):
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(n + d), dtype=dtype) * 0.7
    total, grad = gram_pairwise_kernel(z, kind, True)
    assert total.dtype == torch.float64 and total.dim() == 0 and grad.shape == z.shape
    ref_total, ref_grad = blocks(z, kind, monkeypatch)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(total, ref_total.double(), **tol)
    torch.testing.assert_close(grad, ref_grad, **tol)
    # through the autograd function (the path GAE/VGAE/CaEGCN take)
    zk = z.clone().requires_grad_()
    out = pairwise_sum(zk, kind)
    out.backward()
    torch.testing.assert_close(out.detach().double(), ref_total.double(), **tol)
    torch.testing.assert_close(zk.grad, ref_grad, **tol)
    no_grad_total, empty = gram_pairwise_kernel(z, kind, False)
    assert empty.numel() == 0 and torch.equal(no_grad_total, total)


@needs_kernel
@pytest.mark.parametrize("kind", KINDS)
def test_kernel_is_exact_for_large_scores(kind):
    """Scores of +-100 (exp overflows in a naive softplus / sigmoid): the dense float64 formula."""
    z = torch.tensor([[10.0, 0.0], [-10.0, 0.0], [0.0, 3.0], [1.0, -2.0]], dtype=torch.float64)
    zd = z.clone().requires_grad_()
    ref = dense(zd, kind)
    ref.backward()
    for dtype, tol in ((torch.float64, dict(rtol=1e-12, atol=1e-12)), (torch.float32, dict(rtol=1e-6, atol=1e-5))):
        total, grad = gram_pairwise_kernel(z.to(dtype), kind, True)
        assert torch.isfinite(total) and torch.isfinite(grad).all()
        torch.testing.assert_close(total, ref.detach(), **tol)
        torch.testing.assert_close(grad.double(), zd.grad, **tol)


@pytest.mark.parametrize("kind", KINDS)
def test_pairwise_sum_equals_dense_and_gradchecks(kind):
    z = torch.randn(70, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True)
    out = pairwise_sum(z, kind)
    ref = dense(z, kind)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(torch.autograd.grad(out, z)[0], torch.autograd.grad(ref, z)[0])
    assert torch.autograd.gradcheck(lambda t: pairwise_sum(t, kind), (z[:9].detach().requires_grad_(),))


@needs_kernel
def test_kernel_total_does_not_depend_on_the_thread_count():
    z = torch.randn(3000, 16, generator=torch.Generator().manual_seed(5))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = gram_pairwise_kernel(z, "softplus", True)
        torch.set_num_threads(2)
        two = gram_pairwise_kernel(z, "softplus", True)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one[0], two[0])  # totals: fixed row blocks summed in order
    torch.testing.assert_close(one[1], two[1], rtol=1e-6, atol=1e-4)  # gradients: BLAS's rounding
    again = gram_pairwise_kernel(z, "softplus", True)
    assert torch.equal(again[0], one[0] if torch.get_num_threads() == 1 else two[0])


@needs_kernel
def test_opcheck():
    z = torch.randn(37, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for kind in (0, 1):
        for need in (True, False):
            torch.library.opcheck(torch.ops.dglclust.gram_pairwise_sum.default, (z, kind, need))


@needs_kernel
def test_bad_input_gets_clear_errors():
    with pytest.raises(RuntimeError, match=r"gram_pairwise_sum: kind must be 0 \(sigmoid\^2\) or 1 \(softplus\), got 2"):
        torch.ops.dglclust.gram_pairwise_sum(torch.randn(4, 2), 2, True)
    with pytest.raises(RuntimeError, match=r"gram_pairwise_sum: z must be 2-D \(n x d\), got \[4\]"):
        torch.ops.dglclust.gram_pairwise_sum(torch.randn(4), 0, True)
    with pytest.raises(RuntimeError, match="gram_pairwise_sum: the kernel supports float32 and float64, got Int"):
        torch.ops.dglclust.gram_pairwise_sum(torch.ones(4, 2, dtype=torch.int32), 0, True)
    with pytest.raises(ValueError, match=r"kind must be one of \('sigmoid_sq', 'softplus'\), got 'relu'"):
        gram_pairwise_kernel(torch.randn(4, 2), "relu", True)


def test_no_ext_env_and_other_dtypes_use_the_block_products(monkeypatch):
    z = torch.randn(30, 3)
    assert has_gram_pairwise_kernel(z) == HAS_KERNEL
    assert not has_gram_pairwise_kernel(z.half())
    monkeypatch.setenv("DGLCLUST_NO_EXT", "1")
    assert not has_gram_pairwise_kernel(z)
    zd = z.double().requires_grad_()
    out = pairwise_sum(zd, "softplus", tile=8)
    ref = dense(zd, "softplus")
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(torch.autograd.grad(out, zd)[0], torch.autograd.grad(ref, zd)[0])


def test_kernel_is_only_preferred_when_built_with_vector_exp(monkeypatch):
    """Built without AVX2/AVX-512 (e.g. DGLCLUST_NATIVE=0) the kernel's scalar exp/log loop is
    slower than torch's block products, which then run instead."""
    from dglclust.ops import gram

    assert _ext.cpu_simd() in ("avx512", "avx2", "none")
    z = torch.randn(30, 3)
    monkeypatch.setattr(gram._ext, "cpu_simd", lambda: "none")
    assert not has_gram_pairwise_kernel(z)
    monkeypatch.setattr(gram._ext, "cpu_simd", lambda: "avx2")
    assert has_gram_pairwise_kernel(z) == HAS_KERNEL
