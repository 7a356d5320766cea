"""student_t / target_distribution: kernel == reference, gradcheck, opcheck, compile, bad input."""
import re

import pytest
import torch
import torch.nn.functional as F

import dglclust.ops as ops
from dglclust.ops import _ext, student_t, target_distribution
from dglclust.ops.student_t import dec_kl_loss, student_t_reference, target_distribution_reference

HAS_KERNEL = _ext.has_kernel("student_t", "cpu")
needs_kernel = pytest.mark.skipif(not HAS_KERNEL, reason="compiled student_t kernel not available")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SHAPES = [(1, 1, 1), (50, 3, 4), (257, 10, 10), (120, 17, 70), (33, 40, 5)]  # (n, k, d)


def naive_dec(z, mu, alpha=1.0):
    """DEC's published expression, the semantics both paths must match."""
    q = 1.0 / (1.0 + ((z.unsqueeze(1) - mu) ** 2).sum(2) / alpha)
    q = q ** ((alpha + 1.0) / 2.0)
    return (q.t() / q.sum(1)).t()


def inputs(n, k, d, dtype, seed=0, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=dtype).requires_grad_(requires_grad)
    mu = torch.randn(k, d, generator=g, dtype=dtype).requires_grad_(requires_grad)
    return z, mu


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,k,d", SHAPES)
def test_forward_backward_match_reference(n, k, d, dtype, alpha):
    z, mu = inputs(n, k, d, dtype, seed=n + k)
    q = student_t(z, mu, alpha)
    zr, mur = z.detach().clone().requires_grad_(), mu.detach().clone().requires_grad_()
    q_ref = naive_dec(zr, mur, alpha)
    torch.testing.assert_close(q, q_ref)
    torch.testing.assert_close(student_t_reference(zr, mur, alpha), q_ref)
    grad = torch.randn(q.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    gz, gmu = torch.autograd.grad(q, (z, mu), grad)
    gz_ref, gmu_ref = torch.autograd.grad(q_ref, (zr, mur), grad)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-8)
    torch.testing.assert_close(gz, gz_ref, **tol)
    torch.testing.assert_close(gmu, gmu_ref, **tol)


@pytest.mark.parametrize("alpha", [1.0, 0.7])
def test_gradcheck_float64(alpha):
    z, mu = inputs(23, 4, 6, torch.float64, seed=3)
    assert torch.autograd.gradcheck(lambda a, b: student_t(a, b, alpha), (z, mu))
    # each input alone (needs_input_grad paths)
    assert torch.autograd.gradcheck(lambda a: student_t(a, mu.detach(), alpha), (z,))
    assert torch.autograd.gradcheck(lambda b: student_t(z.detach(), b, alpha), (mu,))


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_ops_match_reference(dtype):
    z, mu = inputs(300, 7, 12, dtype, seed=5, requires_grad=False)
    q = torch.ops.dglclust.student_t(z, mu, 1.5)
    torch.testing.assert_close(q, student_t_reference(z, mu, 1.5))
    torch.testing.assert_close(torch.ops.dglclust.target_distribution(q), target_distribution_reference(q))
    # the raw backward op against autograd of the reference
    zr, mur = z.clone().requires_grad_(), mu.clone().requires_grad_()
    g = torch.randn(q.shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
    expected = torch.autograd.grad(student_t_reference(zr, mur, 1.5), (zr, mur), g)
    got = torch.ops.dglclust.student_t_backward(g, z, mu, q, 1.5)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else {}
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, **tol)


@needs_kernel
def test_opcheck():
    z, mu = inputs(40, 3, 5, torch.float64, seed=7)
    torch.library.opcheck(torch.ops.dglclust.student_t.default, (z, mu, 1.0))
    torch.library.opcheck(torch.ops.dglclust.student_t.default, (z, mu, 0.6))
    q = student_t(z, mu).detach()
    torch.library.opcheck(torch.ops.dglclust.student_t_backward.default,
                          (torch.randn_like(q), z.detach(), mu.detach(), q, 1.0))
    torch.library.opcheck(torch.ops.dglclust.target_distribution.default, (q,))
    torch.library.opcheck(torch.ops.dglclust.target_distribution.default, (q.float(),))


def test_target_distribution_semantics():
    q = torch.tensor([[0.5, 0.5], [0.9, 0.1]], requires_grad=True)
    p = target_distribution(q)
    assert not p.requires_grad  # a constant of the loss: no gradient flows into q
    f = q.detach().sum(0)
    w = q.detach() ** 2 / f
    torch.testing.assert_close(p, w / w.sum(1, keepdim=True))
    torch.testing.assert_close(p.sum(1), torch.ones(2))
    # a column with no mass contributes 0 instead of 0/0
    q0 = torch.tensor([[0.7, 0.0, 0.3], [0.2, 0.0, 0.8]], dtype=torch.float64)
    p0 = target_distribution(q0)
    assert torch.isfinite(p0).all() and (p0[:, 1] == 0).all()
    torch.testing.assert_close(p0, target_distribution_reference(q0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dec_loss_matches_naive(dtype):
    z, mu = inputs(500, 6, 9, dtype, seed=8)
    zr, mur = z.detach().clone().requires_grad_(), mu.detach().clone().requires_grad_()
    q = student_t(z, mu)
    loss = F.kl_div(q.log(), target_distribution(q), reduction="batchmean")
    loss.backward()
    qr = naive_dec(zr, mur)
    w = qr ** 2 / qr.sum(0)
    pr = (w.t() / w.sum(1)).t().detach()
    loss_r = F.kl_div(qr.log(), pr, reduction="batchmean")
    loss_r.backward()
    torch.testing.assert_close(loss, loss_r)
    torch.testing.assert_close(z.grad, zr.grad)
    torch.testing.assert_close(mu.grad, mur.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dec_kl_loss_matches_kl_div(dtype):
    z, mu = inputs(400, 5, 7, dtype, seed=12)
    q = student_t(z, mu)
    p = target_distribution(q)
    loss = dec_kl_loss(q, p)
    g = torch.autograd.grad(loss, (z, mu))
    q2 = student_t(z, mu)
    ref = F.kl_div(q2.log(), p, reduction="batchmean")
    g_ref = torch.autograd.grad(ref, (z, mu))
    torch.testing.assert_close(loss, ref)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)
    qd = q.detach().to(torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: dec_kl_loss(t, p.to(torch.float64)), (qd,))
    # p = 0 entries contribute nothing (no 0 * log 0 = nan)
    p0 = p.detach().clone()
    p0[:, 0] = 0
    assert torch.isfinite(dec_kl_loss(q, p0))
    with pytest.raises(ValueError, match=re.escape("dec_kl_loss needs q and p of the same (n, k) shape")):
        dec_kl_loss(q, p[:, :2])


@needs_kernel
def test_torch_compile_fullgraph_forward_backward():
    z, mu = inputs(64, 5, 8, torch.float32, seed=9)

    def loss_fn(a, b):
        q = student_t(a, b, 1.0)
        p = target_distribution(q)
        return F.kl_div(q.log(), p, reduction="batchmean") + dec_kl_loss(q, p)

    compiled = torch.compile(loss_fn, fullgraph=True)
    out = compiled(z, mu)
    out.backward()
    grads = (z.grad.clone(), mu.grad.clone())
    z.grad = mu.grad = None
    ref = loss_fn(z, mu)
    ref.backward()
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(grads[0], z.grad)
    torch.testing.assert_close(grads[1], mu.grad)


@needs_kernel
def test_kernel_deterministic_across_thread_counts():
    z, mu = inputs(9000, 10, 10, torch.float32, seed=10, requires_grad=False)
    q = student_t(z, mu)
    g = torch.randn(q.shape, generator=torch.Generator().manual_seed(0))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = torch.ops.dglclust.student_t_backward(g, z, mu, q, 1.0) + (target_distribution(q),)
        torch.set_num_threads(max(2, before))
        b = torch.ops.dglclust.student_t_backward(g, z, mu, q, 1.0) + (target_distribution(q),)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_empty_batch():
    z, mu = inputs(0, 3, 4, torch.float32)
    q = student_t(z, mu)
    assert q.shape == (0, 3)
    q.sum().backward()
    assert torch.equal(mu.grad, torch.zeros(3, 4))


def test_no_ext_env_forces_reference(monkeypatch):
    monkeypatch.setenv("DGLCLUST_NO_EXT", "1")
    assert not _ext.has_kernel("student_t", "cpu") and ops.backend() == "reference"
    z, mu = inputs(20, 3, 4, torch.float64)
    torch.testing.assert_close(student_t(z, mu), naive_dec(z, mu))
    assert torch.autograd.gradcheck(lambda a, b: student_t(a, b), (z, mu))


def test_half_precision_uses_reference():
    z, mu = inputs(10, 3, 4, torch.float32, requires_grad=False)
    q = student_t(z.half(), mu.half())
    assert q.dtype == torch.float16
    torch.testing.assert_close(q.float(), naive_dec(z, mu), atol=2e-3, rtol=2e-3)


BAD_INPUTS = [
    (lambda: student_t(torch.randn(5, 3), torch.randn(2, 4)), ValueError,
     "student_t needs z (n x d) and centers (k x d) with the same d, got (5, 3) and (2, 4)"),
    (lambda: student_t(torch.randn(5), torch.randn(2, 5)), ValueError,
     "student_t needs z (n x d) and centers (k x d) with the same d, got (5,) and (2, 5)"),
    (lambda: student_t(torch.randn(5, 3), torch.randn(0, 3)), ValueError,
     "student_t needs at least one center (centers has 0 rows)"),
    (lambda: student_t(torch.randn(5, 3), torch.randn(2, 3, dtype=torch.float64)), TypeError,
     "student_t: z and centers must have the same dtype, got torch.float32 and torch.float64; cast one "
     "of them (e.g. centers.to(z.dtype))"),
    (lambda: student_t(torch.ones(5, 3, dtype=torch.int64), torch.ones(2, 3, dtype=torch.int64)), TypeError,
     "student_t needs floating-point z and centers, got torch.int64 and torch.int64"),
    (lambda: student_t(torch.randn(5, 3), torch.randn(2, 3), alpha=0.0), ValueError,
     "student_t: alpha (degrees of freedom) must be a positive finite number, got 0.0"),
    (lambda: student_t(torch.randn(5, 3), torch.randn(2, 3), alpha=float("nan")), ValueError,
     "student_t: alpha (degrees of freedom) must be a positive finite number, got nan"),
    (lambda: target_distribution(torch.rand(5)), ValueError,
     "target_distribution needs q of shape (n, k), got (5,)"),
    (lambda: target_distribution(torch.ones(2, 2, dtype=torch.int64)), TypeError,
     "target_distribution needs a floating-point q, got torch.int64"),
]


@pytest.mark.parametrize("case", range(len(BAD_INPUTS)))
def test_bad_inputs(case):
    fn, exc, message = BAD_INPUTS[case]
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        fn()


@needs_kernel
def test_bad_inputs_raw_op():
    with pytest.raises(RuntimeError, match=re.escape("student_t: z must be (n, d) and centers (k, d)")):
        torch.ops.dglclust.student_t(torch.randn(5, 3), torch.randn(2, 4), 1.0)
    with pytest.raises(RuntimeError, match=re.escape("student_t: alpha must be a positive finite number")):
        torch.ops.dglclust.student_t(torch.randn(5, 3), torch.randn(2, 3), -1.0)


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_cuda_matches_reference(dtype, alpha):
    for n, k, d in [(1000, 10, 10), (333, 40, 70), (5, 1, 1)]:
        z, mu = inputs(n, k, d, dtype, seed=n)
        zc = z.detach().cuda().requires_grad_()
        muc = mu.detach().cuda().requires_grad_()
        q = student_t(zc, muc, alpha)
        q_ref = naive_dec(z, mu, alpha)
        torch.testing.assert_close(q.cpu(), q_ref.detach())
        g = torch.randn(q.shape, dtype=dtype)
        got = torch.autograd.grad(q, (zc, muc), g.cuda())
        expected = torch.autograd.grad(q_ref, (z, mu), g)
        tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else {}
        for a, b in zip(got, expected):
            torch.testing.assert_close(a.cpu(), b, **tol)
        p = target_distribution(q)
        torch.testing.assert_close(p.cpu(), target_distribution_reference(q_ref))


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_double_backward_matches_gradgradcheck(alpha):
    """Second derivatives through the op (silently zero on the extension before)."""
    from dglclust.ops import student_t

    g = torch.Generator().manual_seed(int(alpha * 10))
    z = torch.randn(6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    c = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, b: student_t(a, b, alpha), (z, c))
    assert torch.autograd.gradgradcheck(lambda a: student_t(a, c.detach(), alpha), (z,))
    assert torch.autograd.gradgradcheck(lambda b: student_t(z.detach(), b, alpha), (c,))
