"""Estimator API, bad input and model quality on small real data (digits)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust.cluster import DEC, IDEC, SDCN, AEKMeans, get_estimator
from dglclust.data import from_arrays, load_dataset
from dglclust.metrics import evaluate

FAST = dict(pretrain_epochs=50, epochs=150, n_init=2, ae_dims=[32, 32, 64], latent_dim=5)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")[0]


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 6)), rng.normal(6, 1, (30, 6))]).astype(np.float32)
    return from_arrays(x, labels=np.repeat([0, 1], 30), knn=5)


def test_registry_and_unknown_model():
    assert get_estimator("SDCN") is SDCN
    with pytest.raises(KeyError, match="unknown model 'nope'; available:"):
        get_estimator("nope")


@pytest.mark.parametrize("cls", [AEKMeans, DEC, IDEC, SDCN])
def test_fit_api(cls, tiny):
    est = cls(n_clusters=2, random_state=0, verbose=False, **({k: v for k, v in FAST.items()
                                                               if k in cls(2).params_}))
    assert est.fit(tiny) is est
    n = tiny.num_nodes()
    assert est.labels_.shape == (n,) and est.labels_.dtype == np.int64
    assert est.embedding_.shape[0] == n and est.soft_assignments_.shape == (n, 2)
    np.testing.assert_allclose(est.soft_assignments_.sum(1), 1.0, rtol=1e-5)
    assert est.fit_time_ > 0 and isinstance(est.history_, list) and "acc" in est.history_[-1]
    # two well separated blobs are found by every model
    assert evaluate(tiny.ndata["label"], est.labels_)["acc"] == 1.0


def test_reproducible_and_no_global_rng_change(tiny):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = SDCN(2, random_state=3, verbose=False, **FAST).fit(tiny)
    assert torch.equal(torch.get_rng_state(), before)
    b = SDCN(2, random_state=3, verbose=False, **FAST).fit(tiny)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.soft_assignments_, b.soft_assignments_, rtol=1e-5, atol=1e-6)


def test_pretraining_is_cached(tiny):
    a = SDCN(2, random_state=5, verbose=False, **FAST).fit(tiny)
    b = SDCN(2, random_state=5, verbose=False, **FAST).fit(tiny)
    assert not a.pretrain_info_["cached"] and b.pretrain_info_["cached"]
    assert a.pretrain_info_["path"] == b.pretrain_info_["path"]
    c = SDCN(2, random_state=5, verbose=False, **{**FAST, "pretrain_epochs": 4}).fit(tiny)
    assert not c.pretrain_info_["cached"]


def test_params_and_from_config():
    est = SDCN(3, lr=0.5)
    assert est.get_params()["lr"] == 0.5 and est.params_["lr"] == 0.5 and est.params_["epochs"] == 200
    assert SDCN.from_config("citeseer").params_["lr"] == 1e-4
    assert SDCN.from_config("acm").params_["lr"] == 1e-3
    # ACM trains on 256-node batches (chosen on tuning seeds; results/experiments/sdcn-acm-minibatch)
    acm = SDCN.from_config("acm").params_
    assert (acm["minibatch"], acm["batch_size"], acm["batch_lr"]) == (True, 256, "epoch")
    assert SDCN.from_config("dblp").params_["minibatch"] == "auto"
    # AGCN-S and AGCN-H on ACM: Q on the smoothed embedding, target Q^16
    # (results/experiments/agcn-s-acm-q-smooth, agcn-h-acm-q-smooth); other datasets keep the papers' Q and target
    from dglclust.cluster import AGCNH, AGCNS

    for est in (AGCNS.from_config("acm"), AGCNH.from_config("acm")):
        assert {k: est.params_[k] for k in ("q_hops", "target_power")} == {"q_hops": 2, "target_power": 16}
    # SDCN on CiteSeer: the same (results/experiments/sdcn-q-smooth-citeseer-dblp)
    cite = SDCN.from_config("citeseer").params_
    assert (cite["q_hops"], cite["target_power"], cite["lr"]) == (2, 16, 1e-4)
    # AGCN-S on CiteSeer: the same (results/experiments/agcn-s-citeseer-q-smooth), with AGCN's CiteSeer lr
    for est in (AGCNS.from_config("citeseer"), AGCNH.from_config("citeseer")):  # agcn-h-citeseer-q-smooth
        cite = est.params_
        assert (cite["q_hops"], cite["target_power"], cite["lr"]) == (2, 16, 1e-4)
    # SDCN on the planted partitions: PCA input, smoothed Q, labels from Q, lr 1e-4 (docs/scale.md)
    for name in ("sbm-10k", "sbm-1m"):
        p = SDCN.from_config(name).params_
        assert (p["input_pca"], p["q_hops"], p["predict_from"], p["lr"]) == ("clusters", 2, "q", 1e-4)
    # CaEGCN on CiteSeer: the same (results/experiments/caegcn-citeseer-q-smooth)
    from dglclust.cluster import CaEGCN

    cite = CaEGCN.from_config("citeseer").params_
    assert (cite["q_hops"], cite["target_power"]) == (2, 16)
    for est in (AGCNH.from_config("dblp"), AGCNH.from_config("usps"), AGCNS.from_config("dblp"), AGCNS(),
                SDCN.from_config("acm"), SDCN(), CaEGCN.from_config("acm"), CaEGCN.from_config("dblp"), CaEGCN()):
        assert (est.params_["q_hops"], est.params_["target_power"]) == (0, 2)
    assert SDCN.from_config("citeseer", lr=0.01, random_state=4).get_params()["random_state"] == 4
    with pytest.raises(TypeError, match=r"unexpected hyperparameter\(s\) \['lrr'\]"):
        SDCN(3, lrr=0.1)
    assert "SDCN(n_clusters=3" in repr(SDCN(3))


def test_n_clusters_inferred_and_checked(tiny):
    est = SDCN(random_state=0, verbose=False, **FAST).fit(tiny)
    assert est.n_clusters_ == 2
    with pytest.raises(ValueError, match=r"SDCN: n_clusters=1 is invalid; n_clusters must be None or an int >= 2"):
        SDCN(1, verbose=False)
    with pytest.raises(ValueError, match=r"n_clusters=61 must be between 2"):
        SDCN(61, verbose=False).fit(tiny)
    g = from_arrays(np.random.rand(20, 3).astype(np.float32), knn=3)
    with pytest.raises(ValueError, match="n_clusters is required when the graph has no labels"):
        SDCN(verbose=False).fit(g)


def test_bad_features(tiny):
    g = tiny.clone() if hasattr(tiny, "clone") else tiny
    x = g.ndata["feat"].clone()
    x[3, 1] = float("nan")
    x[7, 0] = float("inf")
    g.ndata["feat"] = x
    with pytest.raises(ValueError, match=r"^node features contain NaN or inf in 2 of \d+ rows \(first bad rows: \[3, 7\]\); "
                       r"impute or drop those rows before clustering$"):
        SDCN(2, verbose=False).fit(g)
    g.ndata.pop("feat")
    with pytest.raises(ValueError, match="the graph has no node features"):
        SDCN(2, verbose=False).fit(g)
    with pytest.raises(TypeError, match="fit\\(\\) expects a DGLGraph"):
        SDCN(2).fit(np.zeros((3, 3)))


def test_not_fitted():
    with pytest.raises(AttributeError):
        SDCN(2).labels_


def test_sdcn_beats_kmeans_on_digits(digits):
    """SDCN's full mechanism (AE and GCN branches fused by sigma, one 30-epoch pretraining run,
    200 epochs, SDCN's default graph start and target) at half the paper's widths (250-250-1000-10
    instead of 500-500-2000-10: a third of the time), fp32 (the suite sets
    DGLCLUST_PRECISION=fp32, so the floor does not depend on the CPU's bf16 support). The median
    NMI of seeds 0-2 must beat KMeans's median by 0.02.

    Measured in fp32 on one thread (Intel Xeon, 2026-12-07): half widths 0.818 / 0.822 / 0.828 at
    45-73 s per seed beside two other fits; the paper's widths 0.849 / 0.837 / 0.846 at 130-140 s;
    KMeans 0.742 / 0.739 / 0.741. With the paper's start and target (AMD EPYC Zen 5, paper widths)
    SDCN gave 0.759 / 0.787 / 0.814, a single seed a coin toss on other CPUs."""
    from sklearn.cluster import KMeans

    y = digits.ndata["label"].numpy()
    x = digits.ndata["feat"].numpy()
    km = [evaluate(y, KMeans(10, n_init=10, random_state=s).fit_predict(x))["nmi"] for s in range(3)]
    ours = []
    for s in range(3):
        est = SDCN(n_clusters=10, random_state=s, verbose=False, pretrain_restarts=1,
                   ae_dims=[250, 250, 1000]).fit(digits)
        assert est.precision_ == "fp32"
        assert len(est.history_) == 201 and est.history_[-1]["epoch"] == 200
        ours.append(evaluate(y, est.labels_)["nmi"])
    assert np.median(ours) > np.median(km) + 0.02, (ours, km)
