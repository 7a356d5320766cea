"""Memory-mapped node features (dglclust.data.feature_store): the file round trip, the dataset
cache in both forms, a fit that reads the features from the file without copying them, the
block-wise input check, and the errors for files that cannot be mapped."""
import re

import numpy as np
import pytest
import torch

from dglclust import cli
from dglclust.cluster import DEC, KMeansPropagated
from dglclust.cluster.base import check_graph
from dglclust.data import (
    from_arrays,
    is_memory_mapped,
    load_dataset,
    open_features,
    save_features,
)
from dglclust.graph import build


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DGLCLUST_OFFLINE", "1")


def test_save_open_round_trip_is_mapped_and_copy_on_write(tmp_path):
    x = torch.randn(1000, 7, dtype=torch.float64)
    path = save_features(tmp_path / "x.npy", x, block_rows=96)  # several blocks, a partial last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # no temporary left
    m = open_features(path)
    assert m.dtype == torch.float32 and m.shape == (1000, 7)
    assert torch.equal(m, x.float())
    assert is_memory_mapped(m) and not is_memory_mapped(x.float())
    m[0, 0] = 123.0  # copy-on-write: the file keeps its value
    assert float(open_features(path)[0, 0]) == float(x[0, 0].float())


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p, np.zeros((4, 3))), "holds float64 (C-order); memory-mapped features must "
                                             "be float32 in C order"),
    (lambda p: np.save(p, np.asfortranarray(np.zeros((4, 3), np.float32))), "(Fortran-order)"),
    (lambda p: np.save(p, np.zeros(5, np.float32)), "must hold a non-empty 2-D matrix"),
    (lambda p: np.save(p, np.array([[1.0, np.nan], [0.0, 1.0]], np.float32)),
     "contain NaN or inf in 1 of 2 rows (first bad rows: [0])"),
    (lambda p: p.write_text("1,2\n3,4\n"), "is not a .npy matrix that can be memory-mapped"),
])
def test_open_features_rejects_what_cannot_be_mapped(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises(ValueError, match=re.escape(message)):
        open_features(path)


def test_open_and_save_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="feature file .*nope.npy' does not exist"):
        open_features(tmp_path / "nope.npy")
    with pytest.raises(ValueError, match=r"feature files are .npy files; got '.*x.csv'"):
        save_features(tmp_path / "x.csv", np.zeros((2, 2)))
    with pytest.raises(ValueError, match=re.escape("non-empty 2-D (nodes x features) matrix, got "
                                                   "shape (0, 3)")):
        save_features(tmp_path / "x.npy", np.zeros((0, 3)))
    assert not list(tmp_path.iterdir())


def test_block_wise_check_finds_bad_rows_across_blocks(monkeypatch):
    monkeypatch.setattr(build, "_CHECK_BLOCK_ELEMENTS", 8)  # 2 rows of 4 per block
    x = torch.zeros(11, 4)
    x[3, 1] = float("nan")
    x[8, 0] = float("inf")
    x[10, 2] = 7.0
    with pytest.raises(ValueError, match=re.escape("node features contain NaN or inf in 2 of 11 rows "
                                                   "(first bad rows: [3, 8])")):
        build.check_feature_scale(x)
    x[3, 1] = x[8, 0] = 0.0
    x[9, 3] = -2e15  # beyond MAX_FEATURE_ABS, in the next-to-last block
    with pytest.raises(ValueError, match=re.escape("reach 2e+15 in absolute value")):
        build.check_feature_scale(x)
    x[9, 3] = 1.0
    assert build.check_feature_scale(x).data_ptr() == x.data_ptr()  # float32: no copy
    with pytest.raises(ValueError, match=re.escape("contain NaN or inf in 1 of 11 rows (first bad "
                                                   "rows: [5])")):
        x[5, 0] = float("nan")
        build.check_features(x)


def test_dataset_cache_serves_both_forms(tmp_path):
    whole = load_dataset("digits")[0]  # writes the whole-graph cache
    mapped = load_dataset("digits", mmap_features=True)[0]  # splits it once
    folder = tmp_path / "cache" / "processed" / "digits"
    names = sorted(p.suffix if p.name.count(".") == 1 else p.name.split(".", 1)[1]
                   for p in folder.iterdir())
    assert names == [".bin", ".json", "feat.npy", "graph.bin"]
    assert is_memory_mapped(mapped.ndata["feat"]) and not is_memory_mapped(whole.ndata["feat"])
    assert torch.equal(mapped.ndata["feat"], whole.ndata["feat"])
    assert torch.equal(mapped.ndata["label"], whole.ndata["label"])
    assert [torch.equal(a, b) for a, b in zip(mapped.edges(), whole.edges())] == [True, True]
    next(folder.glob("*[0-9a-f].bin")).unlink()  # only the split form left: the whole-graph
    again = load_dataset("digits")[0]  # load reads it into memory, without generating it again
    assert not is_memory_mapped(again.ndata["feat"])
    assert torch.equal(again.ndata["feat"], whole.ndata["feat"])
    assert not list(folder.glob("*[0-9a-f].bin"))


def test_generated_dataset_is_written_split_when_mapped(tmp_path):
    g = load_dataset("sbm-10k", mmap_features=True)[0]
    folder = tmp_path / "cache" / "processed" / "sbm-10k"
    assert sorted(p.name.split(".", 1)[1] for p in folder.iterdir()) == ["feat.npy", "graph.bin",
                                                                          "json"]
    assert is_memory_mapped(g.ndata["feat"]) and g.ndata["feat"].shape == (10_000, 128)


def test_dataset_that_cannot_map():
    with pytest.raises(ValueError, match=re.escape("dataset 'citeseer-dgl' cannot memory-map its "
                                                   "features")):
        load_dataset("citeseer-dgl", mmap_features=True)


def test_fit_on_mapped_features_reads_them_in_place(tmp_path, monkeypatch):
    """The same labels as from memory (each fit pretrains its own AE), and the estimator's input
    is the mapped tensor itself."""
    whole = load_dataset("digits")[0]
    mapped = load_dataset("digits", mmap_features=True)[0]
    x, _ = check_graph(mapped)
    assert x.data_ptr() == mapped.ndata["feat"].data_ptr() and is_memory_mapped(x)
    kw = dict(n_clusters=10, random_state=0, verbose=False, pretrain_epochs=20,
              pretrain_restarts=1, epochs=3)
    a = DEC(**kw).fit(whole)
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "second"))  # no cached AE for the second
    b = DEC(**kw).fit(mapped)
    assert not a.pretrain_cached_ and not b.pretrain_cached_
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.array_equal(KMeansPropagated(n_clusters=10, random_state=0).fit(mapped).labels_,
                          KMeansPropagated(n_clusters=10, random_state=0).fit(whole).labels_)


def test_input_pca_of_a_mapped_file_makes_no_copy_of_it(tmp_path):
    """``input_pca`` on mapped features: above 1,000 columns scikit-learn's own choice (randomized
    solver) centres a copy of the matrix; ``fit_pca`` takes the covariance solver instead, whose
    allocations stay far below the file, and finds the exact components, as in memory."""
    import tracemalloc

    from threadpoolctl import threadpool_limits

    from dglclust.data.projection import fit_pca

    rng = np.random.default_rng(0)
    n, d, k = 20000, 1001, 4
    signal = rng.normal(size=(n, k)) * np.array([9.0, 7.0, 5.0, 3.0])
    x = (signal @ np.linalg.qr(rng.normal(size=(d, k)))[0].T + rng.normal(size=(n, d))
         + 2.0).astype(np.float32)
    mapped = open_features(save_features(tmp_path / "x.npy", x))
    fit_pca(mapped[:50], k)  # scikit-learn's imports and first-call set-up (~55 MB) not counted
    tracemalloc.start()
    try:
        with threadpool_limits(1):  # the d x d eigh: BLAS threads beside the other test worker
            mean, comps = fit_pca(mapped, k)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * x.nbytes  # O(d^2), ~25 MB: the 80 MB file is not copied
    x64 = x.astype(np.float64)
    top = np.linalg.eigh(np.cov(x64, rowvar=False))[1][:, ::-1][:, :k]  # exact, float64
    np.testing.assert_allclose(mean, x64.mean(0), atol=1e-4)
    np.testing.assert_allclose(np.abs(comps @ top), np.eye(k), atol=1e-3)
    with threadpool_limits(1):  # in memory: the same exact solver, the same components
        mem_mean, mem_comps = fit_pca(torch.from_numpy(x), k)
    np.testing.assert_allclose(mem_comps, comps, atol=1e-5)
    np.testing.assert_allclose(mem_mean, mean, atol=1e-6)


def test_input_pca_of_a_mapped_file_too_wide_for_the_exact_pca(tmp_path):
    from dglclust.data.projection import EXACT_PCA_MAX_FEATURES, fit_pca

    d = EXACT_PCA_MAX_FEATURES + 1
    mapped = open_features(save_features(tmp_path / "wide.npy", np.ones((20, d), np.float32)))
    with pytest.raises(ValueError, match=re.escape(
            "PCA of memory-mapped features (input_pca, DFCN's pca_dim) with 8,193 columns: the "
            "exact PCA needs their "
            "8,193 x 8,193 covariance (~1.5 GB while it is decomposed)")):
        fit_pca(mapped, 3)


def test_dfcn_pca_of_a_mapped_file_makes_no_float64_copy(tmp_path):
    """DFCN's ``pca_dim`` on mapped features: the same projection as in memory (up to each
    component's sign), without the float64 copy of the matrix the in-memory path makes."""
    import tracemalloc

    from threadpoolctl import threadpool_limits

    from dglclust.data.projection import pca_reduce

    rng = np.random.default_rng(1)
    n, d, k = 100_000, 200, 5
    x = (rng.normal(size=(n, k)) * np.arange(9.0, 4.0, -1.0) @ rng.normal(size=(k, d))
         + rng.normal(size=(n, d))).astype(np.float32)
    mapped = open_features(save_features(tmp_path / "x.npy", x))
    with threadpool_limits(1):
        pca_reduce(mapped[:50], 3)  # scikit-learn's first-call set-up not counted
        tracemalloc.start()
        try:
            z = pca_reduce(mapped, k, checked=True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 0.5 * x.nbytes  # output (2 MB) and 16 MB row chunks; float64 would be 160 MB
        ref = pca_reduce(torch.from_numpy(x), k).numpy()
    assert z.shape == (n, k) and z.dtype == torch.float32
    sign = np.sign((z.numpy() * ref).sum(0))
    np.testing.assert_allclose(z.numpy() * sign, ref, atol=2e-3 * np.abs(ref).max())


def test_from_arrays_copy_false_keeps_a_mapped_matrix(tmp_path):
    x = np.random.default_rng(0).normal(size=(60, 5))
    m = open_features(save_features(tmp_path / "x.npy", x))
    kept = from_arrays(m, knn=4, copy=False)
    assert kept.ndata["feat"].data_ptr() == m.data_ptr()
    copied = from_arrays(m, knn=4)
    assert copied.ndata["feat"].data_ptr() != m.data_ptr() and not is_memory_mapped(
        copied.ndata["feat"])
    assert torch.equal(kept.ndata["feat"], copied.ndata["feat"])
    # anything else is converted (copied) even with copy=False
    assert from_arrays(x, knn=4, copy=False).ndata["feat"].dtype == torch.float32


def test_cli_mmap_features(tmp_path, capsys):
    g = load_dataset("digits")[0]
    save_features(tmp_path / "x.npy", g.ndata["feat"])
    np.save(tmp_path / "y.npy", g.ndata["label"].numpy())
    out = tmp_path / "run.json"
    rc = cli.main(["fit", "--model", "kmeans", "--features", str(tmp_path / "x.npy"), "--labels",
                   str(tmp_path / "y.npy"), "--mmap-features", "--quiet", "--out", str(out)])
    assert rc == 0 and out.is_file()
    np.savetxt(tmp_path / "x.csv", g.ndata["feat"].numpy()[:20], delimiter=",")
    np.save(tmp_path / "x64.npy", g.ndata["feat"].double().numpy())
    bad = g.ndata["feat"].clone()
    bad[[3, 1500]] = float("nan")
    save_features(tmp_path / "nan.npy", bad)
    capsys.readouterr()
    for name, message in [
        ("x.csv", "--mmap-features needs --features as a float32 .npy file, got"),
        ("x64.npy", "cannot memory-map --features"),
        ("nan.npy", "contain NaN or inf in 2 of 1797 rows (first bad rows: [3, 1500])"),
    ]:
        rc = cli.main(["fit", "--model", "kmeans", "--features", str(tmp_path / name),
                       "--mmap-features", "--quiet"])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and "Traceback" not in err


def test_reproduce_mmap_features(tmp_path, monkeypatch, capsys):
    """`reproduce --mmap-features` loads each dataset memory-mapped, once, and fits as usual."""
    from dglclust import reproduce as rep

    seen = []
    real = rep._load_dataset

    def spy(name, data_dir=None, mmap_features=False):
        ds = real(name, data_dir=data_dir, mmap_features=mmap_features)
        seen.append((name, mmap_features, is_memory_mapped(ds[0].ndata["feat"])))
        return ds

    monkeypatch.setattr(rep, "_load_dataset", spy)
    rc = cli.main(["reproduce", "--model", "kmeans", "--dataset", "digits", "--runs", "2",
                   "--mmap-features", "--no-baselines", "--quiet", "--out", str(tmp_path / "r")])
    assert rc == 0 and seen == [("digits", True, True)]
    assert (tmp_path / "r" / "kmeans_digits.json").is_file()


def _vm_flags(x):
    """The VmFlags of the mapping that holds x (/proc/self/smaps)."""
    ptr, inside = x.data_ptr(), False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            head = line.split(maxsplit=1)[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= ptr < hi
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    raise AssertionError("mapping not found")


def test_advise_sets_the_read_pattern_of_the_mapping(tmp_path):
    """advise() marks the mapping for random ("rr") or sequential ("sr") reads; a fit with
    batch_order="rows" on mapped features marks it random during the pretraining batches and the
    node batches only, not during the full passes nor after the fit; in-memory features are left
    alone."""
    from dglclust.data.feature_store import advise

    save_features(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(3000, 16)))
    x = open_features(tmp_path / "x.npy")
    assert "rr" not in _vm_flags(x) and "sr" not in _vm_flags(x)
    assert advise(x, "sequential") and "sr" in _vm_flags(x)
    assert advise(x, "normal") and "sr" not in _vm_flags(x) and "rr" not in _vm_flags(x)
    assert open_features(tmp_path / "x.npy", advice="random") is not None
    assert advise(torch.zeros(4, 2), "random") is False
    with pytest.raises(ValueError, match=r"^advice='often' is invalid; use one of 'normal', "
                                         r"'random', 'sequential'$"):
        advise(x, "often")
    g = from_arrays(x, knn=5, copy=False)
    seen = []
    est = DEC(n_clusters=3, random_state=0, verbose=False, pretrain_epochs=1, epochs=2,
              minibatch=True, batch_size=512, batch_order="rows")
    real = est._minibatch

    def spy(n, params, seed, rows, x_):  # the flags during the full pass and the batches
        out = real(n, params, seed, lambda idx: (seen.append(("pass", _vm_flags(x))), rows(idx))[1],
                   x_)
        batches = out["batches"]
        out["batches"] = lambda epoch: (seen.append(("batches", _vm_flags(x))), batches(epoch))[1]
        return out

    from dglclust.train import pretrain

    real_step = pretrain._loss_fn

    def step_spy(module, loss, precision):  # the flags in the pretraining's batches and last pass
        f = real_step(module, loss, precision)
        return lambda xb: (seen.append(("pretrain", xb.shape[0], _vm_flags(x))), f(xb))[1]

    est._minibatch = spy
    monkey = pytest.MonkeyPatch()
    monkey.setattr(pretrain, "_loss_fn", step_spy)
    try:
        est.fit(g)
    finally:
        monkey.undo()
    assert "rr" not in _vm_flags(g.ndata["feat"])  # read-ahead again after the fit
    assert {row[0] for row in seen} == {"pretrain", "pass", "batches"}
    pre = [row for row in seen if row[0] == "pretrain"]
    # each restart: 3000 rows in 12 batches of 256 (random runs of 16 rows), then the loss in one
    # chunk of 4096
    restarts = int(est.params_["pretrain_restarts"])
    assert restarts > 1 and [rows for _, rows, _ in pre] == ([256] * 11 + [184, 3000]) * restarts
    assert all(("rr" in flags) == (rows != 3000) for _, rows, flags in pre), pre
    rest = [row for row in seen if row[0] != "pretrain"]
    assert all(("rr" in flags) == (kind == "batches") for kind, flags in rest), rest


def test_warning_when_mapped_features_exceed_the_memory(tmp_path, monkeypatch):
    """Random batches over a mapped file larger than the available memory get a warning that
    names batch_order='rows'; none with rows, none for features in memory."""
    import warnings

    from dglclust.train import minibatch

    save_features(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(600, 16)))
    x = open_features(tmp_path / "x.npy")
    monkeypatch.setattr(minibatch, "available_memory", lambda: 1000)
    with pytest.warns(RuntimeWarning, match=r"^DEC: the memory-mapped features \(0\.0 GB\) are "
                      r"larger than the memory available \(0\.0 GB\): random node batches will "
                      r"read the file again and again; set batch_order='rows'"):
        assert minibatch.batch_run({}, 256, x, "DEC") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert minibatch.batch_run({}, 4096, x, "DEC") == 1  # once per mapping
        warnings.simplefilter("error")
        assert minibatch.batch_run({"batch_order": "rows"}, 256, x, "DEC") == 16
        assert minibatch.batch_run({}, 256, x.clone(), "DEC") == 1
        monkeypatch.setattr(minibatch, "available_memory", lambda: 10**12)
        assert minibatch.batch_run({}, 256, x, "DEC") == 1


def test_first_gcn_layer_reads_its_product_with_the_graph_once(tmp_path, monkeypatch):
    """HistoryGraph computes A_hat X of the fixed first-layer input once (equal to the per-batch
    neighbour gathers it replaces); a batch then reads only its own rows of it, never the
    neighbours' rows of X. With X mapped the product is a mapped file of its own that leaves
    nothing on disk and follows the history's read advice."""
    from dglclust.train.history import HistoryGraph

    g = load_dataset("digits")[0]
    x = g.ndata["feat"].float().contiguous()
    save_features(tmp_path / "x.npy", x)
    xm = open_features(tmp_path / "x.npy")
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))[:200]
    feat = torch.zeros(200, x.shape[1])
    for fixed in (x, xm):
        h = HistoryGraph(g, fixed={0: fixed})
        h.gather_advice = "random"  # as a fit with batch_order="rows" sets it
        calls, flags = [], []
        real = h.rows_product

        def spy(r, *a):
            calls.append(r.numel())
            if fixed is xm:
                flags.append(_vm_flags(xm))
            return real(r, *a)
        monkeypatch.setattr(h, "rows_product", spy)
        for norm in ("row", "sym"):
            expected = real(idx, fixed, norm, True)
            got = h.propagate(0, idx, feat, norm, True, refresh=False)
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
            again = h.propagate(0, idx[:50], feat[:50], norm, True, refresh=False)
            torch.testing.assert_close(again, expected[:50], rtol=0, atol=0)
        # one pass over all rows per normalization (in chunks), nothing per batch
        assert sum(calls) == 2 * x.shape[0]
        assert all("rr" in f for f in flags)  # the scattered gathers of X: page by page
        product = h.fixed_product(0, "row", True)
        assert is_memory_mapped(product) == (fixed is xm)
        assert h.nbytes == (0 if fixed is xm else 2 * product.numel() * 4)
    assert flags and not any((tmp_path / "cache" / "history").iterdir())  # unlinked at once
    assert "rr" not in _vm_flags(xm) and "rr" not in _vm_flags(product)  # back to the history's
    h.advise("random")
    assert "rr" in _vm_flags(product) and "rr" in _vm_flags(xm)
    h.advise("normal")
    assert "rr" not in _vm_flags(product) and "rr" not in _vm_flags(xm)


@pytest.mark.filterwarnings("ignore::dglclust.cluster.base.CollapsedClusteringWarning")  # 3 epochs
def test_sdcn_node_batches_on_mapped_features_match_memory(tmp_path, monkeypatch):
    """SDCN on node batches (rows in runs, the mapped first-layer product) gives the same labels
    from mapped features as from features in memory."""
    from dglclust.cluster import SDCN

    whole = load_dataset("digits")[0]
    mapped = load_dataset("digits", mmap_features=True)[0]
    kw = dict(n_clusters=10, random_state=0, verbose=False, pretrain_restarts=1, epochs=3,
              ae_dims=[128, 128, 256], precision="fp32", batch_size=256, batch_order="rows")
    a = SDCN(**kw).fit(whole)
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "second"))
    b = SDCN(**kw).fit(mapped)
    # not a constant labelling (3 epochs leave 6 clusters on the development machine; the floor
    # does not depend on that count), and the soft assignments agree as well as the labels
    assert a.batch_size_ == b.batch_size_ == 256 and len(np.unique(a.labels_)) >= 2
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(np.asarray(a.soft_assignments_), np.asarray(b.soft_assignments_))
    assert "rr" not in _vm_flags(mapped.ndata["feat"])
