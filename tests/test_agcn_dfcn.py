"""AGCN (H/S) and DFCN: fusion layers, IGAE, attention path, configs, estimators, quality on digits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust.cluster import AGCN, AGCNH, AGCNS, DFCN, get_estimator
from dglclust.configs import load_config, paper_numbers
from dglclust.data import from_arrays, load_dataset
from dglclust.metrics import evaluate
from dglclust.nn.fusion import (
    SAIF,
    AttentionWeights,
    HeterogeneityFusion,
    ScaleFusion,
    global_self_attention,
)
from dglclust.nn.igae import IGAE, igae_loss, igae_targets
from dglclust.nn.recon import gram_mse
from dglclust.ops import graph_spmm

# small architectures / short schedules for the quality checks (paper widths are much larger)
AGCN_FAST = {"ae_dims": [128, 128, 256], "pretrain_epochs": 200, "epochs": 100, "n_init": 5,
             "pretrain_restarts": 1}  # one pretraining run: the 3 restarts cost ~75 s of the suite
DFCN_FAST = {"pca_dim": 30, "lr": 1e-3, "pretrain_epochs": 30, "igae_pretrain_epochs": 30,
             "joint_pretrain_epochs": 30, "epochs": 40, "n_init": 5, "eval_every": 1000}


@pytest.fixture(scope="module", autouse=True)
def _hermetic_pretraining_cache(tmp_path_factory):
    """Pretrained weights go to a fresh folder: every test pretrains from scratch once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DGLCLUST_CACHE", str(tmp_path_factory.mktemp("agcn_dfcn_cache")))
        yield


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")[0]


@pytest.fixture(scope="module")
def small_graph():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 5)), rng.normal(4, 1, (20, 5))]).astype(np.float32)
    return from_arrays(x, labels=np.repeat([0, 1], 20), knn=4)


def _dense_adj(g, norm="row"):
    n = g.num_nodes()
    return graph_spmm(g, torch.eye(n, dtype=torch.float64), norm=norm)


# -- layers -----------------------------------------------------------------------------------------
def test_attention_weights_softmax_l2():
    att = AttentionWeights(6, 3)
    m = att([torch.randn(7, 2), torch.randn(7, 4)])
    assert m.shape == (7, 3) and (m > 0).all()
    assert torch.allclose(m.norm(dim=1), torch.ones(7), atol=1e-6)
    with pytest.raises(ValueError, match="concatenated features"):
        att([torch.randn(7, 2)])


def test_heterogeneity_fusion_shape_grad_formula():
    fuse = HeterogeneityFusion(8)
    z, h = torch.randn(5, 8, requires_grad=True), torch.randn(5, 8, requires_grad=True)
    out, m = fuse(z, h)
    assert out.shape == (5, 8) and m.shape == (5, 2)
    logits = torch.nn.functional.leaky_relu(fuse.attention.linear(torch.cat([z, h], 1)), 0.2)
    m_ref = torch.nn.functional.normalize(torch.softmax(logits, 1), dim=1)
    assert torch.allclose(out, m_ref[:, :1] * z + m_ref[:, 1:] * h, atol=1e-6)
    out.sum().backward()
    assert z.grad is not None and h.grad is not None and fuse.attention.linear.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same shape"):
        fuse(z, h[:, :4])


@pytest.mark.parametrize("attention", [True, False])
def test_scale_fusion(attention):
    fuse = ScaleFusion([3, 4, 2], attention=attention)
    feats = [torch.randn(6, d, requires_grad=True) for d in (3, 4, 2)]
    out, u = fuse(feats)
    assert out.shape == (6, 9) and u.shape == (6, 3)
    assert torch.allclose(out[:, 3:7], u[:, 1:2] * feats[1])
    if not attention:
        assert torch.equal(out, torch.cat(feats, 1))
    out.square().sum().backward()
    assert all(f.grad is not None for f in feats)
    with pytest.raises(ValueError, match="widths"):
        fuse(feats[:2])


@pytest.mark.parametrize("n", [1, 7, 50, 129])
def test_global_self_attention_equals_dense(n):
    z = torch.randn(n, 6, dtype=torch.float32, requires_grad=True)
    out = global_self_attention(z, chunks=4)
    z2 = z.detach().clone().requires_grad_()
    ref = torch.softmax(z2 @ z2.T, dim=1) @ z2
    assert torch.allclose(out, ref, atol=1e-5)
    g = torch.randn(n, 6)
    (out * g).sum().backward()
    (ref * g).sum().backward()
    assert torch.allclose(z.grad, z2.grad, atol=1e-4)


def test_saif_formula(small_graph):
    saif = SAIF(alpha=0.3)
    za, zi = torch.randn(40, 4), torch.randn(40, 4)
    a_hat = _dense_adj(small_graph).float()
    z_l = a_hat @ (0.3 * za + 0.7 * zi)
    assert torch.allclose(saif(small_graph, za, zi), z_l, atol=1e-5)  # beta starts at 0
    with torch.no_grad():
        saif.beta.fill_(0.5)
    ref = 0.5 * torch.softmax(z_l @ z_l.T, 1) @ z_l + z_l
    assert torch.allclose(saif(small_graph, za, zi), ref, atol=1e-4)
    assert "alpha" not in dict(saif.named_parameters())
    assert "alpha" in dict(SAIF(learn_alpha=True).named_parameters())


def test_igae_and_loss_equal_dense(small_graph):
    g = small_graph
    x = g.ndata["feat"]
    igae = IGAE(5, hidden=(8, 6), latent=3).double()
    z, z_hat = igae(g, x.double())
    assert z.shape == (40, 3) and z_hat.shape == (40, 5)
    a_hat = _dense_adj(g)
    # activation before propagation: A tanh(X W)
    assert torch.allclose(igae.encoder[0](g, x.double()), a_hat @ torch.tanh(x.double() @ igae.encoder[0].weight))
    ax, adj = igae_targets(g, x.double())
    adj = (adj[0], adj[1], adj[2].double())
    loss, _parts = igae_loss(z, z_hat, ax.double(), adj, gamma=0.1)
    rec = torch.sigmoid(z @ z.T) + torch.sigmoid(z_hat @ z_hat.T)
    ref = torch.nn.functional.mse_loss(z_hat, a_hat @ x.double()) + 0.1 * ((a_hat - rec) ** 2).mean()
    assert torch.allclose(loss, ref, rtol=1e-6)
    gl = torch.autograd.grad(loss, list(igae.parameters()), retain_graph=True)
    gr = torch.autograd.grad(ref, list(igae.parameters()))
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-8) for a, b in zip(gl, gr))


def test_gram_mse_of_summed_decoders_matches_dense():
    torch.manual_seed(0)
    n = 23
    a = (torch.rand(n, n) < 0.2).double() + torch.eye(n, dtype=torch.float64)
    a = a / a.sum(1, keepdim=True)  # asymmetric (row-normalized) target
    r, c = a.nonzero(as_tuple=True)
    z1 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    for sig in (True, False):
        f = torch.sigmoid if sig else (lambda s: s)
        ref = ((a - f(z1 @ z1.T) - f(z2 @ z2.T)) ** 2).mean()
        ours = gram_mse([z1, z2], (r, c, a[r, c]), sigmoid=sig, tile=5)
        assert torch.allclose(ours, ref)
        for u, v in zip(torch.autograd.grad(ours, [z1, z2]), torch.autograd.grad(ref, [z1, z2])):
            assert torch.allclose(u, v, atol=1e-10)
    assert torch.autograd.gradcheck(lambda p, q: gram_mse([p, q], (r, c, a[r, c]), tile=7), (z1, z2))
    fast = gram_mse([z1.float(), z2.float()], (r, c, a[r, c].float()), tile=4, mm_dtype=torch.bfloat16)
    assert torch.allclose(fast.double(), ((a - torch.sigmoid(z1 @ z1.T) - torch.sigmoid(z2 @ z2.T)) ** 2).mean(),
                          rtol=2e-2)


# -- configs and estimator API ---------------------------------------------------------------------
def test_configs_variants_and_paper_numbers():
    assert load_config("agcn")["variant"] == "s"
    assert load_config("agcn-h")["variant"] == "h" and load_config("agcn-s")["variant"] == "s"
    assert load_config("agcn-h", "citeseer")["lr"] == pytest.approx(1e-4)
    assert paper_numbers("agcn-s", "acm")["acc"] == pytest.approx(90.59)
    assert paper_numbers("agcn-h", "acm")["acc"] == pytest.approx(90.47)
    assert paper_numbers("dfcn", "dblp")["acc"] == pytest.approx(76.0)
    with pytest.raises(KeyError):
        load_config("agcn-x")


def test_registry_and_from_config():
    assert get_estimator("agcn-h") is AGCNH and get_estimator("agcn-s") is AGCNS
    assert get_estimator("agcn") is AGCN and get_estimator("DFCN") is DFCN
    assert AGCN.from_config("citeseer").params_["lr"] == pytest.approx(1e-4)
    assert AGCNH.from_config("acm").params_["lr"] == pytest.approx(1e-3)
    assert AGCNH.from_config("acm").params_["variant"] == "h"
    assert AGCN.from_config("usps").params_["kl_weight"] == 1000
    # USPS: AGCN-S keeps the official code's 1000 / 1000; AGCN-H takes the graph datasets' weights
    # (chosen on the tuning seeds: results/experiments/agcn-h-usps-kl-weights)
    assert AGCNS.from_config("usps").params_["gcn_kl_weight"] == 1000
    h = AGCNH.from_config("usps").params_
    assert (h["kl_weight"], h["gcn_kl_weight"]) == (pytest.approx(0.1), pytest.approx(0.01))
    assert DFCN.from_config("citeseer").params_["lr"] == pytest.approx(1e-4)
    assert DFCN.from_config("acm").params_["lr"] == pytest.approx(5e-5)
    assert DFCN.from_config("dblp").params_["pca_dim"] == 50
    with pytest.raises(TypeError, match="unexpected hyperparameter"):
        DFCN(3, bogus=1)
    with pytest.raises(ValueError, match="variant must be one of"):
        AGCN(2, variant="x", verbose=False, epochs=1, pretrain_epochs=1).fit(
            from_arrays(np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32), knn=3))


@pytest.mark.parametrize("cls,kw", [
    (AGCNH, {"ae_dims": [8, 8, 16], "latent_dim": 3}),
    (AGCNS, {"ae_dims": [8, 8, 16], "latent_dim": 3}),
    (DFCN, {"pca_dim": 4, "ae_dims": [8, 8, 16], "igae_dims": [8, 8], "latent_dim": 3, "eval_every": 2}),
    (DFCN, {"pca_dim": None, "ae_dims": [8, 8, 16], "igae_dims": [8, 8], "latent_dim": 3, "predict_from": "q",
                "triplet": "mean", "target_from": "mean", "learn_fusion_alpha": True}),
])
def test_fit_api(cls, kw, small_graph):
    est = cls(n_clusters=2, random_state=0, verbose=False, epochs=4, pretrain_epochs=2, n_init=2, **kw)
    assert est.fit(small_graph) is est
    assert est.labels_.shape == (40,) and est.labels_.dtype == np.int64
    assert est.embedding_.shape == (40, 3)
    assert est.soft_assignments_.shape == (40, 2)
    assert np.allclose(est.soft_assignments_.sum(1), 1.0, atol=1e-5)
    assert est.history_[0]["epoch"] == 0 and est.history_[-1]["epoch"] == 4
    assert "acc" in est.history_[-1] and est.fit_time_ > 0
    again = cls(n_clusters=2, random_state=0, verbose=False, epochs=4, pretrain_epochs=2, n_init=2, **kw)
    assert np.array_equal(again.fit(small_graph).labels_, est.labels_)  # seeded and cached: same result


def test_dfcn_pretraining_cached(small_graph):
    kw = {"n_clusters": 2, "random_state": 1, "verbose": False, "epochs": 1, "pca_dim": 4,
          "ae_dims": [8, 8, 16], "igae_dims": [8, 8], "latent_dim": 3, "pretrain_epochs": 2,
          "igae_pretrain_epochs": 3, "joint_pretrain_epochs": 3}
    first = DFCN(**kw).fit(small_graph)
    assert [i["cached"] for i in first.pretrain_info_] == [False, False, False]
    second = DFCN(**kw).fit(small_graph)
    assert [i["cached"] for i in second.pretrain_info_] == [True, True, True]
    third = DFCN(**{**kw, "joint_pretrain_epochs": 4}).fit(small_graph)
    assert [i["cached"] for i in third.pretrain_info_] == [True, True, False]


@pytest.mark.parametrize("predict_from", ["q", "kmeans"])
def test_dfcn_q_hops_and_graph_start_read_the_smoothed_embedding(small_graph, predict_from):
    """DFCN with ``q_hops`` h: Q (``soft_assignments_``) is the Student's t of N^h (Z~ - mean Z~)
    against the fitted centres; the labels are its argmax (``predict_from="q"``) or KMeans on that
    same smoothed Z~ (``"kmeans"``); ``start="graph"`` records the smoothed start's partition."""
    from dglclust.ops import propagate_features, student_t
    from dglclust.train import kmeans_init

    est = DFCN(n_clusters=2, random_state=0, verbose=False, epochs=3, pretrain_epochs=2, n_init=2, pca_dim=4,
               ae_dims=[8, 8, 16], igae_dims=[8, 8], latent_dim=3, q_hops=2, start="graph",
               predict_from=predict_from).fit(small_graph)
    z = torch.as_tensor(est.embedding_, dtype=torch.float32)
    smooth = propagate_features(small_graph, z - z.mean(0), 2, norm="sym")
    q = student_t(smooth, est.module_.centers.detach(), 1.0)
    np.testing.assert_allclose(est.soft_assignments_, q.numpy(), atol=1e-5)
    want = q.argmax(1).numpy() if predict_from == "q" else kmeans_init(smooth, 2, 2, 0)[1]
    np.testing.assert_array_equal(est.labels_, want)
    assert len(est.start_labels_) == small_graph.num_nodes()


# -- quality on real data (digits, 1797 nodes) -----------------------------------------------------
@pytest.fixture(scope="module")
def kmeans_digits(digits):
    from sklearn.cluster import KMeans

    y = digits.ndata["label"].numpy()
    return evaluate(y, KMeans(10, n_init=10, random_state=0).fit_predict(digits.ndata["feat"].numpy()))


@pytest.mark.parametrize("cls,kw", [(AGCNH, AGCN_FAST), (AGCNS, AGCN_FAST), (DFCN, DFCN_FAST)])
def test_beats_kmeans_on_digits(cls, kw, digits, kmeans_digits):
    """Median NMI of seeds 0-2 (fp32) above KMeans + 0.03: one seed is a coin toss across CPUs and
    thread counts. Measured (fp32, one thread; Intel Xeon, 2026-12-06, one pretraining run): AGCN-H
    0.805 / 0.827 / 0.809, AGCN-S 0.798 / 0.830 / 0.803 (medians 0.031-0.037 above the floor); DFCN
    0.865 / 0.852 / 0.811; KMeans 0.742."""
    y = digits.ndata["label"].numpy()
    nmis = [evaluate(y, cls(n_clusters=10, random_state=s, verbose=False, **kw).fit(digits).labels_)["nmi"]
            for s in range(3)]
    assert np.median(nmis) > kmeans_digits["nmi"] + 0.03, (nmis, kmeans_digits)
