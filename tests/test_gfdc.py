"""GFDC: image datasets, per-batch graph, rotation, losses, estimator, bad input, CLI."""
import json
import math
import re

import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust.cluster import GFDC, get_estimator
from dglclust.cluster.gfdc import prepare_source
from dglclust.data import load_dataset, load_images, resize_images
from dglclust.data._files import FILES
from dglclust.models.gfdc import (
    GCNClusterer,
    VGGFeatures,
    WeightedGCNLayer,
    batch_graph,
    local_loss,
    local_weight,
    random_rotation,
    rotate,
)

TINY = dict(width=0.125, gcn_hidden=16, batch_size=24, source_batch_size=8, warmup_steps=0,
            eval_every=1, verbose=False)


def _bars(n, seed, size=16):
    """Two classes of synthetic images: a horizontal (class 0) or vertical (class 1) bright bar at a
    random position, plus noise."""
    g = np.random.default_rng(seed)
    x = g.uniform(0, 0.2, size=(n, 1, size, size)).astype(np.float32)
    y = np.arange(n) % 2
    for i in range(n):
        p = g.integers(3, size - 4)
        if y[i] == 0:
            x[i, 0, p:p + 2, 2:-2] = 1.0
        else:
            x[i, 0, 2:-2, p:p + 2] = 1.0
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


# ---- per-batch graph ---------------------------------------------------------------------------
def test_batch_graph_threshold_symmetric_no_self_loops():
    # squared distances: d(0,1)=0.25 (s=.779), d(1,2)=.0025 (s=.998), d(0,2)=.3025 (s=.739), 3 far
    z = torch.tensor([[0.0], [0.5], [0.55], [3.0]])
    g, w = batch_graph(z, threshold=0.7, edge_grad=False)
    src, dst = (t.tolist() for t in g.edges())
    pairs = set(zip(src, dst))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)}
    assert all(a != b for a, b in pairs)                       # no self-loops stored
    assert g.num_nodes() == 4                                  # isolated node 3 kept
    for (a, b), wi in zip(zip(src, dst), w.tolist()):
        assert wi == pytest.approx(math.exp(-float((z[a] - z[b]) ** 2)), rel=1e-5)
        assert wi > 0.7
    # a higher threshold drops the (0, 2) pair in both directions
    g2, _ = batch_graph(z, threshold=0.75, edge_grad=False)
    assert set(zip(*(t.tolist() for t in g2.edges()))) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    # far apart: no edges at all
    g3, w3 = batch_graph(torch.tensor([[0.0], [5.0]]))
    assert g3.num_edges() == 0 and w3.numel() == 0
    with pytest.raises(ValueError, match="threshold must lie in"):
        batch_graph(z, threshold=1.0)


def test_batch_graph_symmetric_on_random_features_and_differentiable():
    z = (0.4 * torch.randn(50, 8, generator=torch.Generator().manual_seed(0))).requires_grad_()
    g, w = batch_graph(z, threshold=0.5)
    assert g.num_edges() > 0
    src, dst = g.edges()
    fwd = {(a, b): x for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist())}
    assert all((b, a) in fwd and fwd[(b, a)] == pytest.approx(x, abs=1e-6) for (a, b), x in fwd.items())
    w.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_gcn_self_loop_rule_matches_dense_formula():
    """A_hat = D^-1/2 (A + I) D^-1/2 with the weighted A of the batch graph and a unit diagonal
    (s(z_i, z_i) = 1) added by the propagation, never stored."""
    z = torch.tensor([[0.0, 0.0], [0.3, 0.0], [0.0, 0.4], [5.0, 5.0]])
    g, w = batch_graph(z, threshold=0.7, edge_grad=False)
    layer = WeightedGCNLayer(2, 3, norm="sym")
    out = layer(g, z, w)
    d2 = torch.cdist(z, z) ** 2
    a = torch.exp(-d2) * (torch.exp(-d2) > 0.7)
    a.fill_diagonal_(1.0)
    dinv = a.sum(1).rsqrt()
    ref = (dinv[:, None] * a * dinv[None, :]) @ z @ layer.weight
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    # isolated node: only its self-loop, so its row is its own transform
    torch.testing.assert_close(out[3], z[3] @ layer.weight)
    assert GCNClusterer(2, 4, 3)(g, z, w).shape == (4, 3)


# ---- feature extractor and augmentation ----------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 1, 16, 16), (2, 1, 28, 28), (2, 3, 32, 20)])
def test_vgg_features_any_size(shape):
    f = VGGFeatures(shape[1], width=0.125)
    assert f(torch.rand(*shape)).shape == (shape[0], 64)
    assert VGGFeatures(shape[1], width=0.125, embed_dim=7)(torch.rand(*shape)).shape == (shape[0], 7)


def test_vgg_features_rejects_small_images():
    with pytest.raises(ValueError, match="at least 16x16"):
        VGGFeatures(1, width=0.125)(torch.rand(2, 1, 8, 8))


def test_rotation_keeps_shapes():
    x = torch.rand(5, 3, 16, 20)
    r = random_rotation(x, 180, torch.Generator().manual_seed(0))
    assert r.shape == x.shape and r.dtype == x.dtype and r.device == x.device
    assert not torch.allclose(r, x)
    torch.testing.assert_close(rotate(x, [0.0] * 5), x, atol=1e-5, rtol=0)
    sq = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(rotate(sq, [90.0, 90.0]), torch.rot90(sq, 1, (2, 3)), atol=1e-5,
                               rtol=0)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.testing.assert_close(random_rotation(x, 30, g1), random_rotation(x, 30, g2))


# ---- losses ---------------------------------------------------------------------------------------
def test_local_loss_and_weight():
    z_u = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    z_l = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # cluster 0: unlabeled mean (1, 0) vs labeled class 0 (1, 0) -> 0; cluster 1: (10,10) vs (1,1)
    # -> 162; cluster 2: absent on the labeled side -> 0; divided by K = 3
    loss = local_loss(z_u, torch.tensor([0, 0, 1]), z_l, torch.tensor([0, 1]), 3)
    assert float(loss) == pytest.approx(162.0 / 3)
    assert local_weight(0, 10) == 0.0
    assert 0 < local_weight(1, 10) < local_weight(5, 10) < local_weight(10, 10) < 1.0
    assert local_weight(10, 10) == pytest.approx(2 / (1 + math.exp(-10)) - 1)


def test_losses_decrease_on_tiny_data():
    xt, yt = _bars(72, seed=1)
    xs, ys = _bars(48, seed=2)
    model = GFDC(2, source=(xs, ys), epochs=6, lr=3e-3, lr_step=50, random_state=0, device="cpu",
                 **TINY).fit(xt, yt)
    losses = [h["loss"] for h in model.history_]
    assert losses[-1] < losses[0]
    assert {"l_cls", "l_global", "l_local", "kl", "mse", "ce", "gap", "edges", "acc", "dbi"} <= \
        set(model.history_[-1])
    assert model.labels_.shape == (72,) and model.labels_.dtype == np.int64
    assert model.soft_assignments_.shape == (72, 2)
    np.testing.assert_allclose(model.soft_assignments_.sum(1), 1.0, rtol=1e-5)
    assert model.embedding_.shape == (72, 64)  # 512 * width
    assert model.predict(xt[:10]).shape == (10,)
    # unguided ablation: L = L_cls only, no source needed
    ab = GFDC(2, guided=False, epochs=4, lr=3e-3, random_state=0, **TINY).fit(xt, yt)
    assert "l_global" not in ab.history_[-1]
    assert ab.history_[-1]["loss"] < ab.history_[0]["loss"]


def test_fit_is_reproducible_and_keeps_global_rng():
    xt, yt = _bars(48, seed=1)
    xs, ys = _bars(32, seed=2)
    state = torch.get_rng_state()
    a = GFDC(2, source=(xs, ys), epochs=2, random_state=5, **TINY).fit(xt)
    b = GFDC(2, source=(xs, ys), epochs=2, random_state=5, **TINY).fit(xt)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_allclose(a.soft_assignments_, b.soft_assignments_, rtol=1e-5, atol=1e-6)
    assert "acc" not in a.history_[-1]  # no labels: no metrics


# ---- bad input ------------------------------------------------------------------------------------
def test_class_count_mismatch_raises():
    xt, _ = _bars(40, seed=1)
    xs, ys = _bars(30, seed=2)  # 2 classes
    msg = ("source/target class-count mismatch: the source has 2 classes but n_clusters=3. GFDC "
           "ties cluster k to source class k, so the source must have exactly n_clusters classes: "
           "pass n_clusters=2 or a source with 3 classes")
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        GFDC(3, source=(xs, ys), epochs=1, **TINY).fit(xt)
    with pytest.raises(ValueError, match=re.escape(
            "source/target class-count mismatch: the source has 2 classes but the target labels y "
            "have 3")):
        GFDC(source=(xs, ys), epochs=1, **TINY).fit(xt, np.arange(40) % 3)


def test_bad_input_errors():
    xt, yt = _bars(20, seed=1)
    src = _bars(20, seed=2)
    est = GFDC(2, source=src, epochs=1, **TINY)
    with pytest.raises(ValueError, match=r"4-D \(N, C, H, W\).*images\[:, None\]"):
        est.fit(xt[:, 0])
    with pytest.raises(ValueError, match="4-D"):
        est.fit(xt.reshape(20, -1))
    with pytest.raises(ValueError, match="8x8 pixels.*at least 16x16.*resize_images"):
        est.fit(torch.rand(20, 1, 8, 8))
    bad = xt.clone()
    bad[3, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or inf in 1 images \(first: \[3\]\)"):
        est.fit(bad)
    with pytest.raises(ValueError, match="needs a labeled source"):
        GFDC(2, epochs=1, **TINY).fit(xt)
    with pytest.raises(ValueError, match="one label per image"):
        est.fit(xt, yt[:5])
    with pytest.raises(TypeError, match="source must be a dataset name"):
        GFDC(2, source=42, epochs=1, **TINY).fit(xt)
    g = load_dataset("digits")[0]
    with pytest.raises(TypeError, match="clusters images"):
        est.fit(g)
    with pytest.raises(TypeError, match="unexpected hyperparameter"):
        GFDC(2, source=src, colour=True)


def test_prepare_source_matches_channels_and_size():
    xs = torch.rand(6, 1, 28, 28)
    ys = torch.tensor([3, 5, 3, 5, 3, 5])
    x, y, k = prepare_source((xs, ys), (3, 16, 16))
    assert x.shape == (6, 3, 16, 16) and k == 2 and y.tolist() == [0, 1, 0, 1, 0, 1]
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert resize_images(torch.rand(2, 1, 8, 8), 16).shape == (2, 1, 16, 16)


# ---- registry, config, datasets, CLI --------------------------------------------------------------
def test_registry_and_config():
    assert get_estimator("gfdc") is GFDC
    est = GFDC.from_config("usps", random_state=0)
    assert est.params_["source"] == "mnist-10k"
    assert est.params_["threshold"] == 0.7 and est.params_["batch_size"] == 240
    assert est.params_["source_batch_size"] == 60 and est.params_["lr"] == 1e-4
    assert "source=" in repr(GFDC(2, source=_bars(4, 0)))
    for f in ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz",
              "mnist/train-images-idx3-ubyte.gz"):
        assert len(FILES[f].sha256) == 64 and FILES[f].url.startswith("https://")


def test_image_datasets_shapes(shared_data_dir):
    cases = {"usps": (9298, 1, 16, 16), "mnist-10k": (10000, 1, 28, 28),
             "digits": (1797, 1, 16, 16)}
    for name, shape in cases.items():
        x, y = load_images(name)
        assert tuple(x.shape) == shape, name
        assert x.dtype == torch.float32 and y.dtype == torch.int64 and y.shape == (shape[0],)
        assert float(x.min()) >= 0.0 and float(x.max()) == pytest.approx(1.0)
        assert sorted(torch.unique(y).tolist()) == list(range(10))
    assert tuple(load_images("digits", min_size=None)[0].shape) == (1797, 1, 8, 8)
    ds = load_dataset("mnist-10k")
    g = ds[0]
    assert ds.num_classes == 10 and g.num_nodes() == 10000 and g.num_edges() == 0
    assert g.ndata["feat"].shape == (10000, 784)
    # MNIST test labels: 980 zeros, 1135 ones (the LeCun file)
    assert np.bincount(g.ndata["label"].numpy())[:2].tolist() == [980, 1135]
    with pytest.raises(ValueError, match="not an image dataset"):
        load_images("acm")


def test_cli_fit_with_source(tmp_path, capsys, shared_data_dir):
    from dglclust.cli import main

    out = tmp_path / "fit.json"
    rc = main(["fit", "--model", "gfdc", "--dataset", "digits", "--source", "usps", "--quiet",
               "--epochs", "1", "--set", "width=0.125", "--set", "warmup_steps=2",
               "--set", "gcn_hidden=16", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "ACC" in text and "DBI" in text
    rec = json.loads(out.read_text())
    assert rec["overrides"]["source"] == "usps" and rec["params"]["source"] == "usps"
    assert rec["metrics"]["acc"] > 0 and rec["dbi"] is not None
    rc = main(["fit", "--model", "gfdc", "--dataset", "digits", "--source", "usps", "--quiet",
               "--epochs", "1", "--set", "n_clusters=4"])
    assert rc == 2
    assert "class-count mismatch" in capsys.readouterr().err


def test_cli_reproduce_points_image_models_to_fit(capsys):
    from dglclust.cli import main

    assert main(["reproduce", "--model", "gfdc", "--dataset", "usps", "--runs", "1"]) == 2
    assert "clusters images" in capsys.readouterr().err


def test_mnist_download_verified_and_offline_error(shared_data_dir, tmp_path, monkeypatch):
    """mnist-10k goes through the shared fetch path: a verified download into the cache when the
    data directory lacks the files, and an actionable error offline."""
    import io
    import urllib.request

    from dglclust.data import MissingDatasetFileError

    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DGLCLUST_OFFLINE", raising=False)
    by_url = {rf.url: shared_data_dir / rf.path for rf in FILES.values()}
    requested = []

    def fake_urlopen(req, timeout=None):
        url = req.full_url if isinstance(req, urllib.request.Request) else req
        requested.append(url)
        return io.BytesIO(by_url[url].read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    empty = tmp_path / "empty"
    empty.mkdir()
    x, y = load_images("mnist-10k", data_dir=empty)
    assert tuple(x.shape) == (10000, 1, 28, 28)
    assert sorted(requested) == sorted(FILES[f"mnist/t10k-{k}-idx{d}-ubyte.gz"].url
                                       for k, d in (("images", 3), ("labels", 1)))
    assert (tmp_path / "cache/raw/mnist/t10k-labels-idx1-ubyte.gz").is_file()
    assert not list(empty.iterdir())
    monkeypatch.setenv("DGLCLUST_OFFLINE", "1")
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "cache2"))
    with pytest.raises(MissingDatasetFileError, match="mnist/t10k-images-idx3-ubyte.gz.*DGLCLUST_DATA"):
        load_images("mnist-10k", data_dir=empty)


def test_paper_literal_settings_run():
    """Raw-scale features (no L2 normalization), no warm-up, projection head: the paper's form."""
    xt, yt = _bars(32, seed=1)
    src = _bars(24, seed=2)
    m = GFDC(2, source=src, epochs=1, **{**TINY, "embed_dim": 5}, l2_normalize=False,
             edge_grad=False).fit(xt, yt)
    assert m.embedding_.shape == (32, 5) and np.isfinite(m.soft_assignments_).all()
