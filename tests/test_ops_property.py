"""Property tests (hypothesis) of the fused ops against plain dense numpy references on random
graphs with isolated nodes, duplicate entries, self-loops, empty rows, n = 1 and F = 1.

The references below are written from the formulas (dense matrices, float64), independent of
dglclust's own torch references; whichever backend is active (compiled kernels or the torch
fallback) must match them.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import dglclust  # noqa: E402,F401
from dglclust.ops import normalized_spmm, student_t, target_distribution  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@st.composite
def csr_graphs(draw):
    """A CSR matrix with duplicates, self-loops and empty rows; features of width 1..5."""
    n = draw(st.integers(1, 9))
    entries = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))
    entries.sort(key=lambda e: e[0])  # CSR rows in order; columns unsorted within a row
    rows = np.array([e[0] for e in entries], dtype=np.int64)
    cols = np.array([e[1] for e in entries], dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    f = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).normal(size=(n, f))
    weighted = draw(st.booleans())
    w = np.random.default_rng(seed + 1).uniform(0.1, 2.0, size=len(entries)) if weighted else None
    return n, indptr, cols, x, w


def dense_normalized(n, indptr, cols, w, add_self_loops, norm):
    a = np.zeros((n, n))
    vals = np.ones(len(cols)) if w is None else w
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            a[i, cols[p]] += vals[p]  # duplicates add up
    if add_self_loops:
        a = a + np.eye(n)
    dr, dc = a.sum(1), a.sum(0)

    def inv(d, power):
        out = np.zeros_like(d)
        out[d > 0] = d[d > 0] ** -power
        return out

    if norm == "sym":
        return inv(dr, 0.5)[:, None] * a * inv(dc, 0.5)[None, :]
    if norm == "row":
        return inv(dr, 1.0)[:, None] * a
    return a


@SETTINGS
@given(csr_graphs(), st.sampled_from(["sym", "row", "none"]), st.booleans(),
       st.sampled_from([torch.float32, torch.float64]))
def test_normalized_spmm_matches_dense(graph, norm, loops, dtype):
    n, indptr, cols, x, w = graph
    m = dense_normalized(n, indptr, cols, w, loops, norm)
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    wt = None if w is None else torch.tensor(w, dtype=dtype)
    y = normalized_spmm(torch.from_numpy(indptr), torch.from_numpy(cols), xt, wt,
                        add_self_loops=loops, norm=norm)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y.detach().numpy(), m @ x, **tol)
    g = np.random.default_rng(0).normal(size=y.shape)
    (gx,) = torch.autograd.grad(y, xt, torch.tensor(g, dtype=dtype))
    np.testing.assert_allclose(gx.numpy(), m.T @ g, **tol)


@st.composite
def embeddings(draw):
    n, k, d = draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 10.0]))
    return rng.normal(size=(n, d)) * scale, rng.normal(size=(k, d)) * scale


@SETTINGS
@given(embeddings(), st.sampled_from([1.0, 0.5, 2.5]), st.sampled_from([torch.float32, torch.float64]))
def test_student_t_and_target_match_formula(data, alpha, dtype):
    z, c = data
    d2 = ((z[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    w = (1.0 + d2 / alpha) ** (-(alpha + 1.0) / 2.0)
    q_ref = w / w.sum(1, keepdims=True)
    zt = torch.tensor(z, dtype=dtype, requires_grad=True)
    ct = torch.tensor(c, dtype=dtype, requires_grad=True)
    q = student_t(zt, ct, alpha)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(q.detach().numpy(), q_ref, **tol)
    f = q_ref.sum(0)
    p_ref = q_ref**2 / f
    p_ref = p_ref / p_ref.sum(1, keepdims=True)
    np.testing.assert_allclose(target_distribution(q).numpy(), p_ref, **tol)
    # gradients against a finite-difference-free reference: autograd of the float64 formula
    z64 = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    c64 = torch.tensor(c, dtype=torch.float64, requires_grad=True)
    d264 = (z64[:, None, :] - c64[None, :, :]).pow(2).sum(-1)
    w64 = (1.0 + d264 / alpha).pow(-(alpha + 1.0) / 2.0)
    gq = torch.from_numpy(np.random.default_rng(1).normal(size=q_ref.shape))
    ref = torch.autograd.grad(w64 / w64.sum(1, keepdim=True), (z64, c64), gq)
    got = torch.autograd.grad(q, (zt, ct), gq.to(dtype))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)
