"""Shared layers and losses: AE, GCNLayer, the tiled reconstruction losses, the self-training loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust._compat import import_dgl
from dglclust.graph import from_edges
from dglclust.nn import AE, GCNLayer
from dglclust.nn.recon import gram_bce, gram_factor, gram_mse, pairwise_sum, target_coo
from dglclust.nn import recon
from dglclust.train import SelfTrainer, pretrain_autoencoder

dgl = import_dgl()


@pytest.fixture
def graph():
    gen = torch.Generator().manual_seed(0)
    return from_edges(torch.randint(0, 40, (90, 2), generator=gen), 40)


def dense_adj(g, self_loops=True):
    rows, cols, vals = target_coo(g, add_self_loops=self_loops)
    a = torch.zeros(g.num_nodes(), g.num_nodes(), dtype=torch.float64)
    a[rows, cols] = vals.double()
    return a, (rows, cols, vals.double())


def test_ae_shapes_and_mirror():
    ae = AE(12, (8, 6), 3)
    x_hat, hs = ae(torch.randn(5, 12))
    assert x_hat.shape == (5, 12) and [h.shape[1] for h in hs] == [8, 6, 3]
    assert [m.out_features for m in ae.decoder] == [6, 8, 12]
    with pytest.raises(ValueError, match="AE dimensions must be positive"):
        AE(0)


@pytest.mark.parametrize("norm", ["sym", "row"])
def test_gcn_layer_matches_dense_formula(graph, norm):
    torch.manual_seed(0)
    layer = GCNLayer(5, 3, norm=norm).double()
    x = torch.randn(40, 5, dtype=torch.float64)
    a, _ = dense_adj(graph)
    deg = a.sum(1)
    a_hat = a / deg[:, None] if norm == "row" else a / deg.sqrt()[:, None] / deg.sqrt()[None, :]
    torch.testing.assert_close(layer(graph, x), a_hat @ x @ layer.weight.detach())
    with pytest.raises(ValueError, match="Invalid norm value"):
        GCNLayer(2, 2, norm="both")
    with pytest.raises(ValueError, match="GCNLayer expects 5 input features, got 4"):
        layer(graph, torch.randn(40, 4, dtype=torch.float64))


@pytest.mark.parametrize("edge_chunk", [1 << 22, 12])  # 12 numbers: the edge terms in 3-edge chunks
@pytest.mark.parametrize("sigmoid", [True, False])
def test_gram_mse_equals_dense(graph, sigmoid, edge_chunk, monkeypatch):
    monkeypatch.setattr(recon, "_EDGE_CHUNK", edge_chunk)
    a, target = dense_adj(graph)
    z = torch.randn(40, 4, dtype=torch.float64, requires_grad=True)
    s = z @ z.T
    dense = (a - (torch.sigmoid(s) if sigmoid else s)).square().mean()
    ours = gram_mse(z, target, sigmoid=sigmoid, tile=7)
    torch.testing.assert_close(ours, dense)
    torch.testing.assert_close(torch.autograd.grad(ours, z)[0], torch.autograd.grad(dense, z)[0])


@pytest.mark.parametrize("edge_chunk", [1 << 22, 12])
def test_gram_bce_equals_dense(graph, edge_chunk, monkeypatch):
    monkeypatch.setattr(recon, "_EDGE_CHUNK", edge_chunk)
    a, target = dense_adj(graph)
    z = torch.randn(40, 4, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(3.0, dtype=torch.float64)
    dense = torch.nn.functional.binary_cross_entropy_with_logits(z @ z.T, a, pos_weight=w)
    ours = gram_bce(z, target, pos_weight=3.0, tile=9)
    torch.testing.assert_close(ours, dense)
    torch.testing.assert_close(torch.autograd.grad(ours, z)[0], torch.autograd.grad(dense, z)[0])


def test_gram_factor_gives_the_same_loss_and_gradients_as_the_wide_product(graph):
    gen = torch.Generator().manual_seed(1)
    m = torch.randn(40, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(3, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    _, target = dense_adj(graph)
    y = gram_factor(m, w)
    assert y.shape == (40, 3)
    z = m @ w
    torch.testing.assert_close(y @ y.T, z @ z.T)
    wide, narrow = gram_mse(z, target, tile=7), gram_mse(y, target, tile=7)
    torch.testing.assert_close(narrow, wide)
    for a, b in zip(torch.autograd.grad(narrow, (m, w)), torch.autograd.grad(wide, (m, w))):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda a, b: gram_factor(a, b).square().sum(), (m[:6], w))
    with pytest.raises(ValueError, match=r"M must be \(n, r\) and W \(r, d\), got \(40, 3\) and \(4, 8\)"):
        gram_factor(m, torch.randn(4, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="W must not be taller than wide"):
        gram_factor(m, torch.randn(3, 2, dtype=torch.float64))


def test_gcn_layer_returns_its_propagation_only_when_it_widens(graph):
    x = torch.randn(40, 3)
    wide = GCNLayer(3, 5)
    h, m = wide(graph, x, return_propagated=True)
    torch.testing.assert_close(m, wide.propagate(graph, x))
    torch.testing.assert_close(h, m @ wide.weight)
    torch.testing.assert_close(h, wide(graph, x))
    with pytest.raises(ValueError, match="return_propagated needs in_feats <= out_feats"):
        GCNLayer(3, 2)(graph, x, return_propagated=True)


def test_pairwise_sum_gradcheck():
    z = torch.randn(11, 3, dtype=torch.float64, requires_grad=True)
    for kind in ("sigmoid_sq", "softplus"):
        assert torch.autograd.gradcheck(lambda t: pairwise_sum(t, kind, tile=4), (z,))
    with pytest.raises(ValueError, match="kind must be one of"):
        pairwise_sum(z, "relu")


def test_pretraining_reduces_loss_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path))
    x = torch.rand(64, 10)
    ae = AE(10, (16,), 4)
    before = torch.nn.functional.mse_loss(ae(x)[0], x).item()
    info = pretrain_autoencoder(ae, x, epochs=40, batch_size=16, lr=1e-2, seed=0)
    assert info["loss"] < before and not info["cached"]
    ae2 = AE(10, (16,), 4)
    info2 = pretrain_autoencoder(ae2, x, epochs=40, batch_size=16, lr=1e-2, seed=0)
    assert info2["cached"] and info2["loss"] == pytest.approx(info["loss"])
    for p, q in zip(ae.parameters(), ae2.parameters()):
        assert torch.equal(p, q)
    # two restarts keep the better one: never worse than the single run from the same first seed
    ae3 = AE(10, (16,), 4)
    info3 = pretrain_autoencoder(ae3, x, epochs=40, batch_size=16, lr=1e-2, seed=0, restarts=2)
    assert info3["loss"] <= info["loss"] + 1e-7
    with pytest.raises(ValueError, match="invalid pretraining settings"):
        pretrain_autoencoder(ae, x, epochs=1, batch_size=0)


def test_self_trainer_one_forward_per_epoch_and_final_eval():
    calls = {"n": 0}
    w = torch.nn.Parameter(torch.tensor([2.0]))

    def forward():
        calls["n"] += 1
        return {"q": torch.softmax(torch.stack([w, -w], 1).expand(4, 2), 1), "w": w}

    def loss_fn(out, p):
        return (out["w"] - 1.0).square().sum(), {}

    tr = SelfTrainer([w], forward, loss_fn, lambda out: np.zeros(4, dtype=int), epochs=5, lr=0.1,
                     y_true=np.zeros(4, dtype=int))
    tr.run()
    assert calls["n"] == 6  # 5 training forwards + 1 final evaluation
    assert [h["epoch"] for h in tr.history] == [0, 1, 2, 3, 4, 5]
    assert tr.history[-1]["loss"] < tr.history[0]["loss"] and tr.history[-1]["acc"] == 1.0
    with pytest.raises(ValueError, match="update_interval must be >= 1"):
        SelfTrainer([w], forward, loss_fn, None, epochs=1, lr=0.1, update_interval=0)
