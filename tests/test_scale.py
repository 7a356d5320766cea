"""Scale: the planted-partition generator, mini-batch training and the sampled losses.

Small graphs only; the million-node measurements live in bench/ (bench/bench_scale.py)."""
import numpy as np
import pytest
import torch

from dglclust.cluster import DEC, GAE, IDEC, KMeansFeatures
from dglclust.configs.validate import InvalidParameterError
from dglclust.data import from_arrays, load_dataset, planted_partition
from dglclust.metrics import evaluate
from dglclust.train import kmeans_init
from dglclust.train.minibatch import AUTO_NODES, DEFAULT_BATCH_SIZE, chunked, node_batches, resolve_batching

pytestmark = pytest.mark.usefixtures("private_cache")


# -- the generator ---------------------------------------------------------------------------------
def _pp(**kw):
    args = dict(n=20_000, k=5, avg_degree=12, d=16, mixing=0.3, feature_snr=1.0, seed=3)
    args.update(kw)
    return planted_partition(**args)


def test_generator_is_deterministic_and_seeded():
    a, b, c = _pp(), _pp(), _pp(seed=4)
    for key in ("features", "labels"):
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(a["edges"][0], b["edges"][0])
    np.testing.assert_array_equal(a["edges"][1], b["edges"][1])
    assert not np.array_equal(a["labels"], c["labels"])
    assert a["features"].dtype == np.float32 and a["features"].shape == (20_000, 16)


def test_generator_sizes_degrees_and_mixing():
    out = _pp()
    src, dst = out["edges"]
    lab = out["labels"]
    sizes = np.bincount(lab)
    assert sizes.max() - sizes.min() <= 1 and len(sizes) == 5
    assert (src < dst).all() and len(np.unique(src * 20_000 + dst)) == len(src)  # simple, undirected
    deg = np.bincount(np.concatenate([src, dst]), minlength=20_000)
    assert 0.9 * 12 <= deg.mean() <= 12.0  # duplicates of the 12 * n / 2 draws are dropped
    assert deg.max() > 8 * deg.mean()  # power-law tail
    across = float(np.mean(lab[src] != lab[dst]))
    assert abs(across - 0.3) < 0.02
    # the feature means separate the blocks: class-mean distance ~ sqrt(2) * feature_snr
    x = out["features"]
    m0, m1 = x[lab == 0].mean(0), x[lab == 1].mean(0)
    assert abs(np.linalg.norm(m0 - m1) - np.sqrt(2.0)) < 0.3


@pytest.mark.parametrize("kw, msg", [
    ({"mixing": 1.5}, "mixing (fraction of edges between blocks) must be in [0, 1], got 1.5"),
    ({"k": 1}, "k must be between 2 and n (20000), got 1"),
    ({"degree_exponent": 2.0}, "degree_exponent must be > 2"),
    ({"n": 1}, "n must be >= 2 nodes, got 1"),
    ({"d": 0}, "d (feature dimension) must be >= 1, got 0"),
])
def test_generator_bad_arguments(kw, msg):
    with pytest.raises(ValueError) as e:
        _pp(**kw)
    assert msg in str(e.value)


def test_registered_sbm_dataset_and_its_baselines():
    ds = load_dataset("sbm-10k")
    g = ds[0]
    assert g.num_nodes() == 10_000 and ds.num_classes == 10
    assert tuple(g.ndata["feat"].shape) == (10_000, 128)
    src, dst = g.edges()
    assert bool((src != dst).all())
    assert 18 <= g.num_edges() / g.num_nodes() <= 20.5  # both directions stored
    # the same draw from the cache
    g2 = load_dataset("sbm-10k")[0]
    assert torch.equal(g.ndata["feat"], g2.ndata["feat"])
    with pytest.raises(TypeError, match="unknown option"):
        load_dataset("sbm-10k", nodes=5)
    # the graph carries what the features alone do not: propagation beats raw features
    y = g.ndata["label"].numpy()
    raw = evaluate(y, KMeansFeatures(10, random_state=0, n_init=3).fit_predict(g))["acc"]
    from dglclust.cluster import KMeansPropagated

    prop = evaluate(y, KMeansPropagated(10, random_state=0, n_init=3).fit_predict(g))["acc"]
    assert prop > raw + 0.2, (raw, prop)


# -- mini-batch plumbing ---------------------------------------------------------------------------
def test_resolve_batching_rules():
    assert resolve_batching(1000, {"minibatch": "auto", "batch_size": None}) is None
    assert resolve_batching(AUTO_NODES + 1, {"minibatch": "auto"}) == DEFAULT_BATCH_SIZE
    assert resolve_batching(1000, {"minibatch": "auto", "batch_size": 64}) == 64
    assert resolve_batching(1000, {"minibatch": True}) == 1000  # capped at n
    assert resolve_batching(AUTO_NODES * 2, {"minibatch": False, "batch_size": 64}) is None
    with pytest.raises(ValueError, match="batch_size=0 is invalid"):
        resolve_batching(10, {"batch_size": 0})


@pytest.mark.parametrize("kw, msg", [
    ({"batch_size": 0}, "DEC: batch_size=0 is invalid; batch_size must be None or an int >= 1"),
    ({"batch_size": -5}, "DEC: batch_size=-5 is invalid; batch_size must be None or an int >= 1"),
    ({"minibatch": "yes"}, "DEC: minibatch='yes' is invalid; minibatch must be 'auto' or true or false"),
    ({"batch_lr": "x"}, "DEC: batch_lr='x' is invalid; batch_lr must be one of 'epoch', 'step', 'accumulate'"),
    ({"batch_order": "pages"},
     "DEC: batch_order='pages' is invalid; batch_order must be one of 'random', 'rows'"),
])
def test_minibatch_bad_arguments(kw, msg):
    with pytest.raises(InvalidParameterError) as e:
        DEC(n_clusters=3, **kw)
    assert str(e.value) == msg


def test_node_batches_and_chunked():
    gen = torch.Generator().manual_seed(0)
    batches = list(node_batches(10, 4, gen))
    assert [b.numel() for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    x = torch.randn(10, 3)
    out = chunked(lambda idx: {"y": x[idx] * 2, "s": x[idx].sum()}, 10, chunk=3)
    assert torch.equal(out["y"], x * 2) and "s" not in out


def test_node_batches_in_runs_of_consecutive_rows():
    """run=1 is the old permutation (the same draws from the generator); run > 1 permutes runs of
    consecutive rows, every row once, each run kept in order; row_run sizes the runs."""
    from dglclust.train.minibatch import row_run

    old = torch.randperm(103, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.cat(list(node_batches(103, 10, torch.Generator().manual_seed(3)))), old)
    batches = list(node_batches(103, 20, torch.Generator().manual_seed(3), run=8))
    assert [b.numel() for b in batches] == [20] * 5 + [3]
    order = torch.cat(batches)
    assert sorted(order.tolist()) == list(range(103))
    starts = [i for i in range(103) if i == 0 or order[i] != order[i - 1] + 1]
    runs = [order[a:b].tolist() for a, b in zip(starts, starts[1:] + [103])]
    assert len(runs) == 13 and all(r[0] % 8 == 0 for r in runs)  # 12 runs of 8 and the tail 96-102
    assert sorted(len(r) for r in runs) == [7] + [8] * 12
    assert runs != sorted(runs)  # the runs are shuffled
    # 128 float32 columns (512 bytes a row): 64 KiB = 128 rows, and at least 16 runs a batch
    assert row_run({"batch_order": "rows"}, 4096, 512) == 128
    assert row_run({"batch_order": "rows"}, 256, 512) == 16
    assert row_run({"batch_order": "rows"}, 8, 512) == 1
    assert row_run({"batch_order": "random"}, 4096, 512) == row_run({}, 4096, 512) == 1
    with pytest.raises(ValueError, match=r"fit: batch_order='x' is invalid; use 'random'"):
        row_run({"batch_order": "x"}, 4096, 512)


def test_pretraining_in_runs_of_rows_is_cached_apart(tmp_path, monkeypatch):
    """AE pretraining with runs of rows (batch_order="rows") trains on other batches than with
    random rows: its cache entry is another one; run=1 is the random order."""
    from dglclust.train import pretrain_autoencoder

    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path))
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))

    def fit(run):
        ae = torch.nn.Sequential(torch.nn.Linear(8, 3), torch.nn.Linear(3, 8))
        info = pretrain_autoencoder(ae, x, epochs=2, batch_size=16, seed=0, run=run)
        return info["path"], [p.detach().clone() for p in ae.parameters()]

    (p1, w1), (p4, w4), (p1b, w1b) = fit(1), fit(4), fit(1)
    assert p1 != p4 and p1 == p1b
    assert all(torch.equal(a, b) for a, b in zip(w1, w1b))
    assert not all(torch.equal(a, b) for a, b in zip(w1, w4))


def test_batch_learning_rate_is_split_over_an_epoch():
    """batch_lr: epoch divides lr by the optimizer steps of one epoch (one rank's share); step
    keeps it; accumulate keeps it and takes one step per epoch; a full-batch trainer ignores
    lr_scale."""
    from dglclust.cluster.base import BaseClusterer
    from dglclust.train import SelfTrainer

    def scale(n, bs, params):
        return BaseClusterer._batch_step(n, bs, params)["lr_scale"]

    assert scale(3025, 256, {}) == 1 / 12 and scale(3025, 256, {"batch_lr": "epoch"}) == 1 / 12
    assert scale(3025, 256, {"batch_lr": "step"}) == 1.0
    assert scale(100, 4096, {}) == 1.0  # one batch: the full-batch step
    assert BaseClusterer._batch_step(3025, 256, {"batch_lr": "accumulate"}) == {"lr_scale": 1.0, "accumulate": True}
    assert not BaseClusterer._batch_step(3025, 256, {"batch_lr": "step"})["accumulate"]
    with pytest.raises(ValueError, match="batch_lr='x' is invalid"):
        scale(10, 2, {"batch_lr": "x"})
    w = [torch.nn.Parameter(torch.zeros(2))]
    args = dict(forward=None, loss_fn=None, predict=None, epochs=1, lr=1e-3)
    mini = SelfTrainer(w, **args, batches=lambda e: [], full_forward=lambda: {}, lr_scale=0.25)
    assert mini.optimizer.param_groups[0]["lr"] == pytest.approx(2.5e-4)
    assert SelfTrainer(w, **args, lr_scale=0.25).optimizer.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="lr_scale must be > 0"):
        SelfTrainer(w, **args, lr_scale=0.0)


@pytest.mark.parametrize("opt, ranks", [("adam", 1), ("sgd", 1), ("sgd", 2)])
def test_accumulated_batches_take_the_full_batch_step(monkeypatch, opt, ranks):
    """SelfTrainer(accumulate=True): the batches' gradients, each batch's mean loss weighted by its
    share of the rows, summed into one step per epoch: the full-batch step of a loss that is a
    mean over rows, to rounding (uneven batches: 10 rows in 4 + 4 + 2). SGD checks the gradient's
    scale too (Adam ignores a common factor); ``ranks=2`` simulates the DDP average (one process
    holding every batch, the all-reduce's division by 2) that the weights scale back to the sum."""
    from dglclust.train import SelfTrainer
    from dglclust.train import distributed as dist

    if ranks > 1:
        monkeypatch.setattr(dist, "world_size", lambda: ranks)
        monkeypatch.setattr(dist, "average_gradients",
                            lambda params: [q.grad.div_(ranks) for q in params if q.grad is not None])
        monkeypatch.setattr(dist, "broadcast", lambda tensors, src=0: None)
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(10, 3, generator=g), torch.randn(10, 2, generator=g)
    w0 = torch.randn(3, 2, generator=g)
    perm = torch.randperm(10, generator=g)

    def train(batched):
        w = torch.nn.Parameter(w0.clone())
        fwd = (lambda idx=None: {"y": x @ w if idx is None else x[idx] @ w})
        loss = (lambda out, p, idx=None: (((out["y"] - (t if idx is None else t[idx])) ** 2).mean(), {}))
        args = dict(forward=fwd, loss_fn=loss, predict=lambda out: np.zeros(10, dtype=int), epochs=5,
                    lr=0.1, target_fn=lambda out: torch.zeros(10, 1))
        if opt == "sgd":
            args["optimizer"] = torch.optim.SGD([w], lr=0.1)
        if batched:
            args.update(batches=lambda e: [perm[:4], perm[4:8], perm[8:]], full_forward=fwd, accumulate=True)
        SelfTrainer([w], **args).run()
        return w.detach()

    full, acc = train(False), train(True)
    assert not torch.equal(full, w0)
    torch.testing.assert_close(acc, full, rtol=1e-5, atol=1e-6)


def test_idec_accumulated_minibatch_follows_full_batch(digits_graph):
    """batch_lr=accumulate: 256-node batches (8 per epoch) take IDEC's full-batch steps."""
    kw = dict(n_clusters=10, random_state=0, verbose=False, epochs=15, pretrain_restarts=1)
    full = IDEC(**kw).fit(digits_graph)
    mini = IDEC(**kw, minibatch=True, batch_size=256, batch_lr="accumulate").fit(digits_graph)
    assert full.batch_size_ is None and mini.batch_size_ == 256
    assert evaluate(full.labels_, mini.labels_)["ari"] > 0.99
    lf = [r["kl"] for r in full.history_[:-1]]
    lm = [r["kl"] for r in mini.history_[:-1]]
    np.testing.assert_allclose(lm, lf, rtol=2e-3, atol=1e-6)


def test_minibatch_with_one_batch_equals_full_batch(digits_graph):
    """A batch of all nodes is the full-batch step in another row order: same labels, same curve."""
    kw = dict(n_clusters=10, random_state=0, verbose=False, epochs=15, pretrain_restarts=1)
    full = IDEC(**kw).fit(digits_graph)
    mini = IDEC(**kw, minibatch=True, batch_size=digits_graph.num_nodes()).fit(digits_graph)
    assert full.batch_size_ is None and mini.batch_size_ == digits_graph.num_nodes()
    assert evaluate(full.labels_, mini.labels_)["ari"] > 0.99
    lf = [r["kl"] for r in full.history_[:-1]]
    lm = [r["kl"] for r in mini.history_[:-1]]
    np.testing.assert_allclose(lm, lf, rtol=2e-3, atol=1e-6)


def test_dec_minibatch_quality(digits_graph):
    """Small batches (15 steps per epoch) keep DEC's quality on digits: the median NMI of 3 seeds
    within 0.03 of full-batch DEC's with the same settings; so do batches of runs of consecutive
    rows (batch_order="rows": runs of 8 rows in the batches of 128, of 16 rows in the AE
    pretraining's batches of 256)."""
    y = digits_graph.ndata["label"].numpy()

    def nmi(**kw):
        return np.median([evaluate(y, DEC(n_clusters=10, random_state=s, verbose=False, epochs=20,
                                          pretrain_restarts=1, **kw).fit_predict(digits_graph))["nmi"]
                          for s in range(3)])
    full, mini = nmi(), nmi(batch_size=128)
    assert mini > full - 0.03, (mini, full)
    rows = nmi(batch_size=128, batch_order="rows")
    assert rows > full - 0.03, (rows, full)


# -- sampled reconstruction loss and KMeans at scale ------------------------------------------------
def test_sampled_bce_is_unbiased():
    from dglclust.nn.recon import gram_bce, target_coo

    out = planted_partition(600, k=3, avg_degree=8, d=4, seed=1)
    g = from_arrays(out["features"], edges=out["edges"])
    target = target_coo(g, add_self_loops=True)
    z = torch.randn(600, 8, generator=torch.Generator().manual_seed(0)) * 0.3
    exact = float(gram_bce(z, target, pos_weight=5.0))
    gen = torch.Generator().manual_seed(1)
    est = [float(gram_bce(z, target, pos_weight=5.0, pairs=20_000, generator=gen)) for _ in range(40)]
    se = np.std(est) / np.sqrt(len(est))
    assert abs(np.mean(est) - exact) < 4 * se + 1e-6, (np.mean(est), exact, se)
    assert np.std(est) < 0.02 * abs(exact)


def test_sampled_gram_mse_is_unbiased():
    """DFCN's adjacency loss (two embeddings) with the all-pairs part from sampled pairs."""
    from dglclust.nn.recon import gram_mse, target_coo

    out = planted_partition(500, k=3, avg_degree=8, d=4, seed=2)
    g = from_arrays(out["features"], edges=out["edges"])
    target = target_coo(g, add_self_loops=True, norm="row")
    gz = torch.Generator().manual_seed(0)
    zs = [torch.randn(500, 6, generator=gz) * 0.5, torch.randn(500, 9, generator=gz) * 0.3]
    exact = float(gram_mse(zs, target, tile=64))
    gen = torch.Generator().manual_seed(1)
    est = [float(gram_mse(zs, target, pairs=20_000, generator=gen)) for _ in range(40)]
    se = np.std(est) / np.sqrt(len(est))
    assert abs(np.mean(est) - exact) < 4 * se + 1e-6, (np.mean(est), exact, se)
    assert np.std(est) < 0.02 * abs(exact)
    # its gradient flows to both embeddings
    zg = [z.clone().requires_grad_() for z in zs]
    gram_mse(zg, target, pairs=1000, generator=gen).backward()
    assert all(float(z.grad.abs().sum()) > 0 for z in zg)


def test_sampled_self_attention():
    """``keys`` >= n is the exact attention; fewer keys attend to the sampled rows only."""
    from dglclust.nn import global_self_attention

    z = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
    exact = torch.softmax(z @ z.T, dim=1) @ z
    assert torch.allclose(global_self_attention(z, keys=300), exact, atol=1e-5)
    got = global_self_attention(z, keys=64, generator=torch.Generator().manual_seed(3))
    idx = torch.randint(0, 300, (64,), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(got, torch.softmax(z @ z[idx].T, dim=1) @ z[idx], atol=1e-5)
    with pytest.raises(ValueError, match="keys must be a positive int or None"):
        global_self_attention(z, keys=0)


def test_dfcn_checkpointing_keeps_values_and_gradients():
    from dglclust.models.dfcn import DFCNModule

    out = planted_partition(300, k=3, avg_degree=6, d=12, seed=4)
    g = from_arrays(out["features"], edges=out["edges"])
    x = g.ndata["feat"]
    torch.manual_seed(0)
    m = DFCNModule(12, 3, ae_hidden=(16, 8), igae_hidden=(16, 8), latent=4)
    m.centers.data.normal_()
    m.fusion.beta.data.fill_(0.5)

    def run(flag):
        m.zero_grad()
        m.checkpoint = flag
        o = m(g, x)
        loss = sum(o[k].square().mean() for k in ("z", "x_hat", "z_hat")) + o["q"].log().mean()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in m.parameters() if p.grad is not None]

    plain, ckpt = run(False), run(True)
    assert torch.allclose(plain[0], ckpt[0])
    assert len(plain[1]) == len(ckpt[1]) > 10
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain[1], ckpt[1]))


def test_dfcn_large_graph_mode_quality(digits_graph):
    """DFCN with sampled attention keys and sampled pairs (its mode above 200,000 nodes) clusters
    digits about as well as the exact path."""
    from dglclust.cluster import DFCN

    y = digits_graph.ndata["label"].numpy()
    exact = evaluate(y, DFCN.from_config("digits", random_state=0, verbose=False, epochs=20)
                     .fit_predict(digits_graph))
    mini = DFCN.from_config("digits", random_state=0, verbose=False, epochs=20, batch_size=256)
    got = evaluate(y, mini.fit_predict(digits_graph))
    assert mini.batch_size_ == 256
    assert mini.module_.fusion.keys == 256 and mini.module_.checkpoint
    assert got["nmi"] > exact["nmi"] - 0.05, (got, exact)


def _blobs(n=5000, d=16, c=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(c, d, generator=g) * 3
    return centers[torch.randint(0, c, (n,), generator=g)] + torch.randn(n, d, generator=g)


def test_approximate_knn_recall_and_shape():
    """faiss IVF (the search of AdaGAE's large-graph mode) against the exact kNN: no point lists
    itself, same seed same answer, and nearly every true neighbour is found."""
    from dglclust.graph import approximate_knn, knn_indices

    x = _blobs()
    got = approximate_knn(x, 10, seed=0)
    assert got.shape == (5000, 10) and got.dtype == torch.int64
    assert not (got == torch.arange(5000)[:, None]).any() and (got >= 0).all()
    assert torch.equal(got, approximate_knn(x, 10, seed=0))
    exact = knn_indices(x, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), exact.tolist())])
    assert recall > 0.95, recall
    # one cell probed: rows whose cell holds too few points are searched exactly (no -1 left)
    few = approximate_knn(x[:2000], 60, nlist=50, nprobe=1)
    assert (few >= 0).all() and not (few == torch.arange(2000)[:, None]).any()


@pytest.mark.parametrize("kw, msg", [
    ({"k": 0}, "k must be a positive int, got 0"),
    ({"k": 5000}, "k = 5000 neighbours need at least k + 1 = 5001 points, got 5000"),
    ({"k": 5, "nprobe": 0}, "nprobe must be a positive int, got 0"),
])
def test_approximate_knn_bad_input(kw, msg):
    from dglclust.graph import approximate_knn

    with pytest.raises(ValueError, match=msg.replace("+", r"\+")):
        approximate_knn(_blobs(), **kw)
    with pytest.raises(ValueError, match="x holds NaN or inf"):
        approximate_knn(torch.full((10, 2), float("nan")), 3)


def test_approximate_knn_without_faiss(monkeypatch):
    import sys

    from dglclust.graph import approximate_knn

    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        approximate_knn(_blobs(), 5)


def test_adagae_approximate_graph_matches_the_exact_one():
    """With every true neighbour found, the approximate connectivity P equals the exact one.
    6,000 points: 77 cells of which 53 are probed, so the faiss IVF index is used (at 3,000 points
    every cell would be probed and the search would be the flat exact one)."""
    from dglclust.models.adagae import connectivity

    n = 6000
    x = _blobs(n)
    for self_loop in (True, False):
        exact = connectivity(x, 12, self_loop=self_loop)
        approx = connectivity(x, 12, self_loop=self_loop, search="approximate")
        assert torch.equal(exact[0], approx[0])
        same = (exact[1] == approx[1]).view(n, -1).all(1)
        assert same.float().mean() > 0.99
        rows = same.repeat_interleave(exact[1].numel() // n)
        torch.testing.assert_close(exact[2][rows], approx[2][rows])


def test_adagae_row_sampled_normalizer_equals_its_rows():
    """The normalizer on a row sample equals the all-rows normalizer (same keys) at those rows,
    with the same gradient, and the row-sampled loss is an unbiased estimate of the key-sampled
    one."""
    from dglclust.models.adagae import adagae_loss, connectivity, pairwise_logsumexp, symmetrize

    z = torch.randn(400, 8, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor([0, 5, 5, 17, 399])
    full = pairwise_logsumexp(z, sample=64, generator=torch.Generator().manual_seed(1))
    part = pairwise_logsumexp(z, sample=64, generator=torch.Generator().manual_seed(1), rows=rows)
    torch.testing.assert_close(part, full[rows])
    g_full, = torch.autograd.grad(full[rows].sum(), z)
    g_part, = torch.autograd.grad(part.sum(), z)
    torch.testing.assert_close(g_part, g_full)
    with pytest.raises(ValueError, match="rows needs the sampled normalizer"):
        pairwise_logsumexp(z, rows=rows)
    p = connectivity(z, 10)
    w = symmetrize(p)
    with pytest.raises(ValueError, match="rows needs the sampled normalizer"):
        adagae_loss(z, p, w, 1.0, sample_rows=40)
    gen = torch.Generator().manual_seed(0)
    keys_only = np.mean([float(adagae_loss(z.detach(), p, w, 1.0, sample=400, generator=gen)[0])
                         for _ in range(100)])
    rows_too = np.mean([float(adagae_loss(z.detach(), p, w, 1.0, sample=400, generator=gen,
                                                sample_rows=40)[0])
                        for _ in range(400)])
    assert abs(rows_too - keys_only) < 0.02 * abs(keys_only), (rows_too, keys_only)


def test_adagae_large_graph_mode_quality(digits_graph):
    """AdaGAE's large-graph mode (approximate search, normalizer on 256 rows x 1024 keys per step)
    clusters digits about as well as the exact path. Measured NMI differences (large - exact) on
    seeds 0 / 1 / 2: -0.001 / -0.006 / -0.027, so seed 0 keeps a wide margin to the 0.05 bound."""
    from dglclust.cluster import AdaGAE

    y = digits_graph.ndata["label"].numpy()
    kw = dict(random_state=0, verbose=False, history_metrics=False)
    exact = evaluate(y, AdaGAE.from_config("digits", **kw).fit_predict(digits_graph))
    large = AdaGAE.from_config("digits", batch_size=256, assign="auto", **kw).fit(digits_graph)
    assert large.batch_size_ == 256 and large.neighbor_search_ == "approximate"
    assert large.assign_ == "spectral"
    got = evaluate(y, large.labels_)
    assert got["nmi"] > exact["nmi"] - 0.05, (got, exact)


def test_gae_minibatch_quality(digits_graph):
    """GAE with the sampled loss clusters digits about as well as with the exact one."""
    y = digits_graph.ndata["label"].numpy()
    exact = evaluate(y, GAE(10, random_state=0, verbose=False, cache=False).fit_predict(digits_graph))
    mini = GAE(10, random_state=0, verbose=False, cache=False, batch_size=512).fit(digits_graph)
    assert mini.batch_size_ == 512
    got = evaluate(y, mini.labels_)
    assert got["nmi"] > exact["nmi"] - 0.05, (got, exact)


def test_minibatch_kmeans_path():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 5)) * 10
    lab = rng.integers(0, 4, 5000)
    z = torch.as_tensor(centers[lab] + rng.normal(size=(5000, 5)), dtype=torch.float32)
    c, labels, inertia = kmeans_init(z, 4, 3, 0, method="minibatch")
    assert evaluate(lab, labels)["ari"] > 0.99
    assert c.shape == (4, 5) and c.dtype == torch.float32 and inertia > 0
    with pytest.raises(ValueError, match="kmeans method must be"):
        kmeans_init(z, 4, 3, 0, method="fast")


def test_minibatch_kmeans_progress_bar(capsys):
    """The KMeans stage at scale shows a progress bar when verbose, and nothing otherwise; the
    result does not depend on it."""
    z = torch.as_tensor(np.random.default_rng(1).normal(size=(3000, 4)), dtype=torch.float32)
    _, quiet, _ = kmeans_init(z, 3, 2, 0, method="minibatch")
    assert capsys.readouterr().err == ""
    _, loud, _ = kmeans_init(z, 3, 2, 0, method="minibatch", verbose=True)
    err = capsys.readouterr().err
    assert "KMeans (3,000 rows): 2 mini-batch restarts, Lloyd" in err and "0/2" in err
    assert np.array_equal(quiet, loud)


# -- multi-process training (torch.distributed, gloo on 127.0.0.1) ---------------------------------
def _cli(*args, timeout=600):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "dglclust", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("model,extra", [("dec", []),
                                         ("sdcn", ["--set", "q_hops=2", "--set", "predict_from=q"])])
def test_two_process_fit_writes_the_result_once(tmp_path, model, extra):
    """`fit --nproc 2`: two gloo ranks train on digits on shared batches; rank 0 writes one
    record, with the quality of a one-process mini-batch fit (within noise). SDCN with ``q_hops``:
    the GCN layers' history and the smoothed Q of node batches under DDP."""
    common = ["fit", "--model", model, "--dataset", "digits", "--quiet", "--set", "epochs=8",
              "--set", "pretrain_restarts=1", "--set", "batch_size=256", *extra]
    two = _cli(*common, "--nproc", "2", "--out", str(tmp_path / "two.json"))
    assert two.returncode == 0, two.stderr[-2000:]
    one = _cli(*common, "--out", str(tmp_path / "one.json"))
    assert one.returncode == 0, one.stderr[-2000:]
    import json

    r2 = json.loads((tmp_path / "two.json").read_text())
    r1 = json.loads((tmp_path / "one.json").read_text())
    assert two.stdout.count(f"{model} on digits") == 1  # printed by rank 0 only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "one.labels.csv", "two.json",
                                                          "two.labels.csv"]
    assert r2["batch_size"] == 256 and abs(r2["metrics"]["nmi"] - r1["metrics"]["nmi"]) < 5.0


def test_two_process_accumulated_steps_equal_one_process(tmp_path):
    """batch_lr=accumulate under DDP: each rank sums the gradients of its share of the batches and
    the ranks' average is scaled back to the sum, so two processes take one process's steps (to
    rounding) and end with its labels (Adam ignores the scale: that is checked with SGD above)."""
    import json

    common = ["fit", "--model", "dec", "--dataset", "digits", "--quiet", "--set", "epochs=8",
              "--set", "pretrain_restarts=1", "--set", "batch_size=256", "--set", "batch_lr=accumulate"]
    two = _cli(*common, "--nproc", "2", "--out", str(tmp_path / "two.json"))
    assert two.returncode == 0, two.stderr[-2000:]
    one = _cli(*common, "--out", str(tmp_path / "one.json"))
    assert one.returncode == 0, one.stderr[-2000:]
    l2 = np.loadtxt(tmp_path / "two.labels.csv", delimiter=",", skiprows=1, dtype=int)
    l1 = np.loadtxt(tmp_path / "one.labels.csv", delimiter=",", skiprows=1, dtype=int)
    assert evaluate(l1[:, -1], l2[:, -1])["ari"] > 0.99
    r2 = json.loads((tmp_path / "two.json").read_text())
    r1 = json.loads((tmp_path / "one.json").read_text())
    assert abs(r2["metrics"]["nmi"] - r1["metrics"]["nmi"]) < 0.5


def test_multi_process_errors():
    bad = _cli("fit", "--model", "dec", "--dataset", "digits", "--nproc", "64")
    assert bad.returncode == 2 and "nproc=64 is more than the" in bad.stderr
    # a rank that fails (here both: n_clusters out of range) stops the fit with exit 1
    died = _cli("fit", "--model", "dec", "--dataset", "digits", "--nproc", "2", "--n-clusters",
                "5000", "--quiet")
    assert died.returncode == 1, died.stderr[-2000:]
    assert "a training process failed, the others were stopped" in died.stderr


def test_distributed_helpers_are_identities_in_one_process():
    from dglclust.train import distributed as dist

    assert not dist.active() and dist.world_size() == 1 and dist.rank() == 0
    assert dist.shard_batches([1, 2, 3]) == [1, 2, 3]
    from dglclust.train.minibatch import chunked

    x = torch.arange(10.0)[:, None]
    out = dist.gather_rows(lambda idx: {"v": x[idx]}, 10,
                           lambda fn, lo, hi: chunked(fn, hi, chunk=4, start=lo))
    assert torch.equal(out["v"], x)


# -- GCN models on node batches: the history of layer inputs ---------------------------------------
@pytest.mark.parametrize("model,norm", [("sdcn", "row"), ("sdcn", "sym"), ("sdcn", "none"),
                                        ("agcn-s", "row"), ("agcn-h", "sym")])
def test_history_refresh_is_exact_and_batch_rows_match(digits_graph, model, norm):
    """After initialize() the refresh pass equals the full-graph forward; a training view of a batch
    gives the full forward's rows, and the last GCN layer's weight gradient of a loss on the batch
    equals the full-graph one (its inputs are the exact history)."""
    from dglclust.models import SDCNModule
    from dglclust.models.agcn import AGCNModule
    from dglclust.train.history import HistoryGraph

    torch.manual_seed(0)
    g = digits_graph
    x = g.ndata["feat"].float()
    n = x.shape[0]
    if model == "sdcn":
        m = SDCNModule(x.shape[1], 10, (32, 32, 64), 5, norm=norm)
    else:
        m = AGCNModule(x.shape[1], 10, (32, 32, 64), 5, variant=model[-1], norm=norm)
    full = m(g, x)
    hist = HistoryGraph(g, fixed={0: x}, dtype=torch.float32)
    out = hist.initialize(lambda: chunked(lambda idx: m(hist.view(idx, refresh=True), x[idx]), n,
                                          chunk=500, keys=("pred", "q")))
    assert len(hist.store) == 4  # GCN layers 1-4 (and the head); layer 0 reads the fixed features
    torch.testing.assert_close(out["pred"], full["pred"].detach(), rtol=1e-4, atol=2e-5)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:300]
    batch = m(hist.view(idx), x[idx])
    torch.testing.assert_close(batch["pred"], full["pred"][idx].detach(), rtol=1e-4, atol=2e-5)
    last = (m.head if hasattr(m, "head") else m.gcn[-1]).weight  # the layer that gives the logits
    g_full, = torch.autograd.grad(full["logits"][idx].square().sum(), last)
    g_batch, = torch.autograd.grad(batch["logits"].square().sum(), last)
    torch.testing.assert_close(g_batch, g_full, rtol=1e-4, atol=1e-6)


def test_history_needs_a_refresh_before_training(digits_graph):
    from dglclust.models import SDCNModule
    from dglclust.train.history import HistoryGraph

    x = digits_graph.ndata["feat"].float()
    m = SDCNModule(x.shape[1], 10, (16, 16, 32), 5)
    hist = HistoryGraph(digits_graph, fixed={0: x})
    idx = torch.arange(10)
    with pytest.raises(RuntimeError, match="history of GCN layer 1 is empty"):
        m(hist.view(idx), x[idx])


def test_sdcn_minibatch_quality(digits_graph):
    """SDCN (narrower layers, for time) on node batches (14 steps per epoch, GCN layers on the
    history) clusters digits about as well as full-batch SDCN with the same settings (median NMI of
    3 seeds within 0.05)."""
    from dglclust.cluster import SDCN

    y = digits_graph.ndata["label"].numpy()

    def fits(**kw):
        return [SDCN(n_clusters=10, random_state=s, verbose=False, epochs=30, pretrain_restarts=1,
                     ae_dims=[128, 128, 256], precision="fp32", **kw).fit(digits_graph)
                for s in range(3)]
    full, mini = fits(), fits(batch_size=128)
    assert all(f.batch_size_ is None for f in full) and all(f.batch_size_ == 128 for f in mini)
    assert all(f.history_gb_ > 0 for f in mini)
    nf = np.median([evaluate(y, f.labels_)["nmi"] for f in full])
    nm = np.median([evaluate(y, f.labels_)["nmi"] for f in mini])
    assert nm > nf - 0.05, (nm, nf)


# -- models whose method cannot scale: an early, clear error with the estimate --------------------
def _empty_graph(n, d=2):
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    return from_arrays(x, edges=np.zeros((0, 2), dtype=np.int64))


@pytest.mark.parametrize("name,words", [
    ("caegcn", ["CaEGCN: 100,001 nodes", "minutes per epoch", "the limit is 100,000 nodes"]),
    ("dfcn", ["DFCN: 100,001 nodes", "minutes per epoch", "the limit is 100,000 nodes",
              "set minibatch=true"]),
    ("adagae", ["AdaGAE: 100,001 nodes", "k_max = 50,000", "5,000,050,000 entries",
                "set k_max to an int <= 1,999"]),
])
def test_too_large_for_the_method(name, words, monkeypatch):
    import time

    from dglclust.cluster import GraphTooLargeError, get_estimator

    monkeypatch.delenv("DGLCLUST_ALLOW_LARGE", raising=False)
    g = _empty_graph(100_001)
    t0 = time.perf_counter()
    with pytest.raises(GraphTooLargeError) as err:
        get_estimator(name)(n_clusters=2, random_state=0, verbose=False).fit(g)
    assert time.perf_counter() - t0 < 30  # raised before any work
    for w in words:
        assert w in str(err.value), str(err.value)
    assert "DGLCLUST_ALLOW_LARGE=1" in str(err.value)


def test_adagae_exact_limit_names_the_large_graph_mode(monkeypatch):
    from dglclust.cluster import AdaGAE, GraphTooLargeError

    monkeypatch.delenv("DGLCLUST_ALLOW_LARGE", raising=False)
    g = _empty_graph(100_001)
    with pytest.raises(GraphTooLargeError) as err:
        AdaGAE(n_clusters=2, random_state=0, verbose=False, k_max=30).fit(g)
    for w in ("100,001 nodes with the exact neighbor_search and normalizer",
              "the exact limit is 100,000 nodes", "set minibatch=true"):
        assert w in str(err.value), str(err.value)
    with pytest.raises(GraphTooLargeError, match="exact neighbor_search:"):
        AdaGAE(n_clusters=2, random_state=0, verbose=False, k_max=30, minibatch=True,
               neighbor_search="exact").fit(g)


def test_daegc_two_hop_limit_and_the_way_out(monkeypatch):
    from dglclust.cluster import DAEGC, GraphTooLargeError

    out = planted_partition(2000, k=2, avg_degree=10, d=8, seed=0)
    g = from_arrays(out["features"], edges=out["edges"])
    monkeypatch.setattr(DAEGC, "max_two_hop_pairs", 1000)
    with pytest.raises(GraphTooLargeError, match="set proximity_order=1"):
        DAEGC(n_clusters=2, random_state=0, verbose=False).fit(g)
    monkeypatch.setenv("DGLCLUST_ALLOW_LARGE", "1")
    with pytest.warns(UserWarning, match="2-hop"):
        DAEGC(n_clusters=2, random_state=0, verbose=False, pretrain_epochs=1, epochs=1, cache=False).fit(g)


def test_daegc_sampled_loss_quality(digits_graph):
    """DAEGC with the sampled all-pairs term clusters digits about as well as with the exact one."""
    from dglclust.cluster import DAEGC

    y = digits_graph.ndata["label"].numpy()
    kw = dict(n_clusters=10, random_state=0, verbose=False, cache=False, pretrain_epochs=30, epochs=20)
    exact = evaluate(y, DAEGC(**kw).fit_predict(digits_graph))
    mini = DAEGC(**kw, batch_size=512).fit(digits_graph)
    assert mini.batch_size_ == 512
    got = evaluate(y, mini.labels_)
    assert got["nmi"] > exact["nmi"] - 0.05, (got, exact)
