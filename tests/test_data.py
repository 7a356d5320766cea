"""dglclust.data: every dataset offline from the shared folder, equality with the SDCN-format
derived files, checksum / missing-file / download behaviour, from_arrays and bad input."""
import io
import os
import shutil
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest
import torch

import dglclust  # noqa: F401
from dglclust._compat import import_dgl
from dglclust.data import (
    DATASETS,
    FILES,
    ChecksumMismatchError,
    ClusteringDataset,
    MissingDatasetFileError,
    fetch,
    from_arrays,
    list_datasets,
    load_dataset,
    register_dataset,
)
from dglclust.data import _files
from dglclust.graph import check_graph, knn_graph

dgl = import_dgl()

EXPECTED = {  # name: (nodes, features, classes)
    "acm": (3025, 1870, 3),
    "dblp": (4057, 334, 4),
    "dblp-magnn": (4057, 334, 4),
    "citeseer": (3327, 3703, 6),
    "citeseer-dgl": (3327, 3703, 6),
    "usps": (9298, 256, 10),
    "digits": (1797, 64, 10),
}
DBLP_FILES = ["features_0.npz", "labels.npy", "adjM.npz", "node_types.npy"]


@pytest.fixture(scope="module", autouse=True)
def _offline_private_cache(tmp_path_factory):
    """All tests here run offline with a private cache (processed graphs, verification records)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DGLCLUST_CACHE", str(tmp_path_factory.mktemp("dglclust_cache")))
    mp.setenv("DGLCLUST_OFFLINE", "1")
    yield
    mp.undo()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("DGLCLUST_CACHE", str(cache))
    return cache


_loaded = {}


def load(name, shared, **kw):
    # keyed by the cache too: a worker of the parallel suite may set the module's cache up again
    # (a new folder) and later tests read the processed graph back from the current one
    key = (os.environ.get("DGLCLUST_CACHE"), name, tuple(sorted(kw.items())))
    if key not in _loaded:
        _loaded[key] = load_dataset(name, data_dir=shared, **kw)
    return _loaded[key]


def read_matrix(path):
    return pd.read_csv(path, sep=" ", header=None, dtype=np.float64).to_numpy()


def pair_set(src, dst):
    return set(zip(np.asarray(src).tolist(), np.asarray(dst).tolist()))


def graph_pairs(g):
    s, d = g.edges()
    return pair_set(s.numpy(), d.numpy())


def file_pairs(path):
    """SDCN edge file -> the undirected edge set in both directions, without self-loops."""
    e = np.loadtxt(path, dtype=np.int64).reshape(-1, 2)
    pairs = pair_set(e[:, 0], e[:, 1]) | pair_set(e[:, 1], e[:, 0])
    return {(a, b) for a, b in pairs if a != b}


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------
def test_list_datasets_metadata():
    rows = {r["name"]: r for r in list_datasets()}
    for name, (n, d, c) in EXPECTED.items():
        assert (rows[name]["nodes"], rows[name]["features"], rows[name]["classes"]) == (n, d, c)
        assert rows[name]["source"]
    assert [r["name"] for r in list_datasets()] == sorted(rows)


def test_unknown_dataset_lists_available():
    with pytest.raises(ValueError, match=r"Unknown dataset 'cora'\. Available datasets: acm, citeseer, .*usps"):
        load_dataset("cora")


def test_register_custom_dataset(tmp_path):
    @register_dataset("tiny-test", nodes=4, features=2, classes=2, source="unit test")
    class Tiny(ClusteringDataset):
        name_ = "tiny-test"

        def __init__(self, data_dir=None, scale=1.0, **kw):
            super().__init__(data_dir, {"scale": scale}, **kw)

        def build(self, paths):
            x = np.arange(8, dtype=np.float64).reshape(4, 2) * self.options["scale"]
            return {"features": x, "labels": [0, 0, 1, 1], "edges": [[0, 1], [2, 3], [3, 3]]}

    try:
        ds = load_dataset("Tiny_Test", scale=2.0)  # case and _/- insensitive
        g = ds[0]
        assert isinstance(ds, dgl.data.DGLDataset) and len(ds) == 1 and ds.num_classes == 2
        assert g.ndata["feat"].dtype == torch.float32 and g.ndata["feat"][1, 0] == 4.0
        assert graph_pairs(g) == {(0, 1), (1, 0), (2, 3), (3, 2)}
        assert "tiny-test" in [r["name"] for r in list_datasets()]
        assert load_dataset("tiny-test", scale=3.0)[0].ndata["feat"][1, 0] == 6.0  # option in hash
        assert load_dataset("tiny-test", scale=2.0)[0].ndata["feat"][1, 0] == 4.0
        with pytest.raises(ValueError, match="already registered"):
            register_dataset("tiny-test")(lambda **kw: None)
        with pytest.raises(IndexError):
            ds[1]
    finally:
        DATASETS.pop("tiny-test", None)


# --------------------------------------------------------------------------------------------------
# every dataset, offline from the shared folder
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_loads_offline(name, shared_data_dir, tmp_path):
    n, d, c = EXPECTED[name]
    ds = load(name, shared_data_dir)
    g = ds[0]
    assert isinstance(ds, dgl.data.DGLDataset) and len(ds) == 1
    assert g.num_nodes() == n
    assert g.ndata["feat"].shape == (n, d) and g.ndata["feat"].dtype == torch.float32
    assert g.ndata["label"].shape == (n,) and g.ndata["label"].dtype == torch.int64
    assert ds.num_classes == c
    counts = torch.bincount(g.ndata["label"])
    assert len(counts) == c and bool((counts > 0).all())  # 0-based, every class present
    assert bool(torch.isfinite(g.ndata["feat"]).all())
    check_graph(g)  # symmetric, no duplicates, no self-loops
    assert g.num_edges() > 0
    # second load comes from the processed cache: no raw file is needed any more
    empty = tmp_path / "empty"
    empty.mkdir()
    again = load_dataset(name, data_dir=empty)[0]
    assert torch.equal(again.ndata["feat"], g.ndata["feat"])
    assert torch.equal(again.ndata["label"], g.ndata["label"])
    assert graph_pairs(again) == graph_pairs(g)


def test_acm_equals_sdcn_files(shared_data_dir):
    g = load("acm", shared_data_dir)[0]
    assert g.num_edges() == 2 * 13128
    assert graph_pairs(g) == file_pairs(shared_data_dir / "sdcn/graph/acm_graph.txt")
    labels = np.loadtxt(shared_data_dir / "sdcn/data/acm_label.txt", dtype=np.int64)
    assert np.array_equal(g.ndata["label"].numpy(), labels)
    feat = read_matrix(shared_data_dir / "sdcn/data/acm.txt")  # DERIVED from ACM3025.mat
    assert np.array_equal(g.ndata["feat"].numpy(), feat.astype(np.float32))


def test_dblp_equals_sdcn_format(shared_data_dir):
    g = load("dblp-magnn", shared_data_dir)[0]
    ref = shared_data_dir / "dblp_magnn/sdcn_format"
    assert graph_pairs(g) == file_pairs(ref / "graph/dblp_graph.txt")
    assert g.num_edges() == 2 * 3528
    assert np.array_equal(g.ndata["label"].numpy(), np.loadtxt(ref / "data/dblp_label.txt", dtype=np.int64))
    assert np.array_equal(g.ndata["feat"].numpy(), read_matrix(ref / "data/dblp.txt").astype(np.float32))


def test_dblp_is_sdcn_order_and_equals_sdcn_files(shared_data_dir):
    """`dblp` (DCRN's dblp.zip, checksum-verified) is SDCN's DBLP in SDCN's node order: labels
    and graph equal SDCN's own files; the features are the same rows as `dblp-magnn`."""
    g = load("dblp", shared_data_dir)[0]
    assert (g.num_nodes(), g.ndata["feat"].shape[1], g.num_edges()) == (4057, 334, 2 * 3528)
    assert np.array_equal(g.ndata["label"].numpy(),
                          np.loadtxt(shared_data_dir / "sdcn/data/dblp_label.txt", dtype=np.int64))
    assert graph_pairs(g) == file_pairs(shared_data_dir / "sdcn/graph/dblp_graph.txt")
    check_graph(g)
    magnn = load("dblp-magnn", shared_data_dir)[0].ndata["feat"].numpy()
    rows = lambda a: sorted(map(bytes, np.ascontiguousarray(a).view(np.uint8).reshape(a.shape[0], -1)))
    assert rows(g.ndata["feat"].numpy()) == rows(magnn)
    assert fetch("dcrn/dblp.zip", data_dir=shared_data_dir).name == "dblp.zip"
    assert FILES["dcrn/dblp.zip"].sha256 == _files.sha256_file(shared_data_dir / "dcrn/dblp.zip")


def test_citeseer_equals_sdcn_files(shared_data_dir):
    g = load("citeseer", shared_data_dir)[0]
    feat = read_matrix(shared_data_dir / "sdcn/data/cite.txt.gz")
    assert np.array_equal(g.ndata["feat"].numpy(), feat.astype(np.float32))
    assert int((g.ndata["feat"].sum(1) == 0).sum()) == 15  # the missing test nodes
    labels = np.loadtxt(shared_data_dir / "sdcn/data/cite_label.txt", dtype=np.int64)
    assert labels.min() == 1 and labels.max() == 6
    assert np.array_equal(g.ndata["label"].numpy(), labels - 1)
    assert graph_pairs(g) == file_pairs(shared_data_dir / "sdcn/graph/cite_graph.txt")
    assert g.num_edges() == 2 * 4552


def test_citeseer_dgl_matches_citeseer(shared_data_dir):
    before = sorted(str(p) for p in shared_data_dir.rglob("*"))
    ds = load_dataset("citeseer-dgl", data_dir=shared_data_dir, force_reload=True)
    assert sorted(str(p) for p in shared_data_dir.rglob("*")) == before  # nothing written there
    assert isinstance(ds, dgl.data.CiteseerGraphDataset)
    assert str(ds.save_path).startswith(os.environ["DGLCLUST_CACHE"])
    g, ref = ds[0], load("citeseer", shared_data_dir)[0]
    assert torch.equal(g.ndata["label"], ref.ndata["label"])
    assert graph_pairs(g) == graph_pairs(ref)
    rows = ref.ndata["feat"].sum(1, keepdim=True)
    expected = torch.where(rows > 0, ref.ndata["feat"] / rows.clamp_min(1), ref.ndata["feat"])
    assert torch.allclose(g.ndata["feat"], expected)  # DGL row-normalizes
    assert int(g.ndata["train_mask"].sum()) == 120


def test_usps_graphs(shared_data_dir):
    ds = load("usps", shared_data_dir)
    assert ds.options == {"k": 3, "graph": "sdcn"}  # SDCN's default k
    g = ds[0]
    assert graph_pairs(g) == file_pairs(shared_data_dir / "sdcn/graph/usps3_graph.txt")
    feat = read_matrix(shared_data_dir / "sdcn/data/usps.txt.gz")  # DERIVED: train + test
    assert np.array_equal(g.ndata["feat"].numpy(), feat.astype(np.float32))
    labels = np.loadtxt(shared_data_dir / "sdcn/data/usps_label.txt", dtype=np.int64)
    assert np.array_equal(g.ndata["label"].numpy(), labels)
    g1 = load("usps", shared_data_dir, k=1)[0]
    sdcn1 = file_pairs(shared_data_dir / "sdcn/graph/usps1_graph.txt")
    assert graph_pairs(g1) == sdcn1 and g1.num_edges() < g.num_edges()
    # our own heat-kernel kNN graph reproduces SDCN's file
    own = load("usps", shared_data_dir, k=1, graph="knn")[0]
    assert graph_pairs(own) == sdcn1
    assert torch.equal(own.ndata["feat"], g.ndata["feat"])


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(k=4), r"SDCN ships kNN graphs for k in \(1, 3, 5, 10\), got k=4"),
        (dict(graph="full"), r"graph must be 'sdcn'"),
        (dict(k=3, graph="knn", metric="l1"), r"metric must be"),
    ],
)
def test_usps_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        load_dataset("usps", **kw)


def test_digits_embedded_default():
    ds = load_dataset("digits")
    g = ds[0]
    x = g.ndata["feat"]
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert ds.options == {"k": 10, "metric": "heat"}
    assert bool((g.in_degrees() >= 10).all())
    assert graph_pairs(g) == graph_pairs(knn_graph(x, 10))
    g5 = load_dataset("digits", k=5)[0]
    assert g5.num_edges() < g.num_edges()


# --------------------------------------------------------------------------------------------------
# files: checksums, missing files, downloads, verification cache
# --------------------------------------------------------------------------------------------------
def _copy_dblp(shared, dest):
    for f in DBLP_FILES:
        target = dest / "dblp_magnn/original" / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / "dblp_magnn/original" / f, target)
    return dest / "dblp_magnn/original"


def test_checksum_mismatch_names_file_and_hashes(shared_data_dir, tmp_path, fresh_cache):
    folder = _copy_dblp(shared_data_dir, tmp_path / "data")
    bad = folder / "labels.npy"
    raw = bytearray(bad.read_bytes())
    raw[-1] ^= 0xFF
    bad.write_bytes(bytes(raw))
    actual = _files.sha256_file(bad)
    expected = FILES["dblp_magnn/original/labels.npy"].sha256
    with pytest.raises(ChecksumMismatchError, match=rf"labels\.npy.*expected sha256 {expected}, got {actual}"):
        load_dataset("dblp-magnn", data_dir=tmp_path / "data")


def test_missing_file_offline_names_url_and_variable(tmp_path, fresh_cache):
    empty = tmp_path / "nothing"
    empty.mkdir()
    url = FILES["raw/o2mac_ACM3025/ACM3025.mat"].url
    with pytest.raises(MissingDatasetFileError) as err:
        load_dataset("acm", data_dir=empty)
    msg = str(err.value)
    assert url in msg and "DGLCLUST_DATA" in msg and "data_dir" in msg
    assert "raw/o2mac_ACM3025/ACM3025.mat" in msg and "DGLCLUST_OFFLINE" in msg
    assert isinstance(err.value, FileNotFoundError)
    assert not list(fresh_cache.glob("processed/acm/*"))


class _FakeWeb:
    """Serves the registered URLs from the shared folder (no network in tests)."""

    def __init__(self, shared, corrupt=False, fail=False):
        self.by_url = {rf.url: shared / rf.path for rf in FILES.values()}
        self.corrupt, self.fail, self.requested = corrupt, fail, []

    def __call__(self, req, timeout=None):
        url = req.full_url if isinstance(req, urllib.request.Request) else req
        self.requested.append(url)
        if self.fail:
            raise urllib.error.URLError("no route to host")
        data = self.by_url[url].read_bytes()
        return io.BytesIO(data + b"x" if self.corrupt else data)


def test_download_into_cache_then_reuse(shared_data_dir, tmp_path, fresh_cache, monkeypatch):
    monkeypatch.delenv("DGLCLUST_OFFLINE")
    web = _FakeWeb(shared_data_dir)
    monkeypatch.setattr(urllib.request, "urlopen", web)
    empty = tmp_path / "empty"
    empty.mkdir()
    g = load_dataset("dblp-magnn", data_dir=empty)[0]
    assert sorted(web.requested) == sorted(FILES[f"dblp_magnn/original/{f}"].url for f in DBLP_FILES)
    for f in DBLP_FILES:
        got = fresh_cache / "raw/dblp_magnn/original" / f
        assert got.read_bytes() == (shared_data_dir / "dblp_magnn/original" / f).read_bytes()
    assert not list(empty.iterdir())  # nothing written into the data dir
    assert graph_pairs(g) == graph_pairs(load("dblp-magnn", shared_data_dir)[0])
    # the downloaded copies are found again without any request
    web.requested.clear()
    path = fetch("dblp_magnn/original/labels.npy", data_dir=empty)
    assert path == (fresh_cache / "raw/dblp_magnn/original/labels.npy").resolve()
    assert web.requested == []


def test_corrupt_download_is_rejected_and_not_kept(shared_data_dir, tmp_path, fresh_cache, monkeypatch):
    monkeypatch.delenv("DGLCLUST_OFFLINE")
    monkeypatch.setattr(urllib.request, "urlopen", _FakeWeb(shared_data_dir, corrupt=True))
    rel = "dblp_magnn/original/labels.npy"
    with pytest.raises(ChecksumMismatchError, match=rf"downloaded .*{FILES[rel].sha256}"):
        fetch(rel, data_dir=tmp_path)
    assert not (fresh_cache / "raw" / rel).exists()
    assert not [p for p in (fresh_cache / "raw").rglob("*") if p.is_file() and ".tmp" in p.name]


def test_failed_download_reports_reason(tmp_path, fresh_cache, monkeypatch, shared_data_dir):
    monkeypatch.delenv("DGLCLUST_OFFLINE")
    monkeypatch.setattr(urllib.request, "urlopen", _FakeWeb(shared_data_dir, fail=True))
    rel = "sdcn/data/acm_label.txt"
    with pytest.raises(MissingDatasetFileError, match=r"download failed \(URLError.*no route to host") as err:
        fetch(rel, data_dir=tmp_path)
    assert FILES[rel].url in str(err.value) and "DGLCLUST_DATA" in str(err.value)


def test_verification_is_cached_by_path_size_mtime(shared_data_dir, tmp_path, fresh_cache, monkeypatch):
    rel = "sdcn/data/acm_label.txt"
    copy = tmp_path / "data" / rel
    copy.parent.mkdir(parents=True)
    shutil.copyfile(shared_data_dir / rel, copy)
    calls = []
    real = _files.sha256_file
    monkeypatch.setattr(_files, "sha256_file", lambda p: calls.append(p) or real(p))
    fetch(rel, data_dir=tmp_path / "data")
    assert len(calls) == 1
    fetch(rel, data_dir=tmp_path / "data")
    monkeypatch.setattr(_files, "_verified_mem", {})  # a new process: the on-disk record is used
    fetch(rel, data_dir=tmp_path / "data")
    assert len(calls) == 1
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched: hashed again
    fetch(rel, data_dir=tmp_path / "data")
    assert len(calls) == 2


def test_unregistered_file():
    with pytest.raises(KeyError, match="not a registered dataset file"):
        fetch("sdcn/data/nope.txt")


# --------------------------------------------------------------------------------------------------
# from_arrays (user data)
# --------------------------------------------------------------------------------------------------
def test_from_arrays_builds_knn_graph_without_edges():
    x = np.random.default_rng(0).normal(size=(40, 6))
    g = from_arrays(x, knn=4, metric="cosine")
    assert g.num_nodes() == 40 and "label" not in g.ndata
    assert g.ndata["feat"].dtype == torch.float32
    assert torch.allclose(g.ndata["feat"], torch.from_numpy(x).float())
    assert graph_pairs(g) == graph_pairs(knn_graph(x, 4, "cosine"))
    check_graph(g)


def test_from_arrays_with_edges_and_labels():
    x = torch.randn(5, 3)
    g = from_arrays(x, edges=np.array([[0, 1], [1, 2], [2, 2]]), labels=[3, 1, 1, 2, 3])
    assert graph_pairs(g) == {(0, 1), (1, 0), (1, 2), (2, 1)} and g.num_nodes() == 5
    assert g.ndata["label"].tolist() == [2, 0, 0, 1, 2] and g.ndata["label"].dtype == torch.int64
    g = from_arrays(x, edges=(np.array([0, 3]), np.array([4, 4])), labels=np.array(list("abbac")))
    assert graph_pairs(g) == {(0, 4), (4, 0), (3, 4), (4, 3)}
    assert g.ndata["label"].tolist() == [0, 1, 1, 0, 2]


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((np.zeros(5),), {}, r"features must be 2-D \(nodes x features\), got shape \(5,\)"),
        ((np.zeros((2, 3, 4)),), {}, r"must be 2-D .*\(2, 3, 4\)"),
        ((np.zeros((0, 3)),), {}, r"empty"),
        ((np.array([["a", "b"]]),), {}, r"numeric"),
        ((np.ones((6, 2)),), dict(labels=[0, 1, 2]), r"labels has 3 entries but features has 6 rows"),
        ((np.ones((3, 2)),), dict(labels=np.zeros((3, 2))), r"labels must be 1-D"),
        ((np.ones((3, 2)),), dict(labels=[0.0, np.nan, 1.0]), r"labels contain NaN"),
        ((np.ones((4, 2)),), dict(edges=[[0, 4]]), r"node id 4, out of range for num_nodes=4"),
        ((np.ones((4, 2)),), dict(edges=[[0, -2]]), r"node id -2"),
        ((np.ones((4, 2)),), dict(knn=4), r"knn=4 .*only 4 rows: knn must be at most n - 1 = 3"),
        ((np.ones((4, 2)),), dict(knn=0), r"knn must be a positive integer"),
        ((np.ones((4, 2)),), dict(knn=2, metric="manhattan"), r"metric must be one of"),
    ],
)
def test_from_arrays_bad_input(args, kw, match):
    with pytest.raises(ValueError, match=match):
        from_arrays(*args, **kw)


def test_from_arrays_non_finite_reports_rows():
    x = np.ones((20, 3))
    x[[4, 9, 11], 1] = [np.nan, np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"NaN or inf in 3 of 20 rows \(first bad rows: \[4, 9, 11\]\)"):
        from_arrays(x)


def test_same_size_same_mtime_edit_is_caught_when_the_cache_is_rebuilt(shared_data_dir, tmp_path,
                                                                       fresh_cache):
    """A verified file edited in place (same size, mtime restored) must not slip through the
    size/mtime verification cache when the processed graph is rebuilt (force_reload=True)."""
    data = tmp_path / "data"
    for rel in ("raw/o2mac_ACM3025/ACM3025.mat", "sdcn/data/acm_label.txt", "sdcn/graph/acm_graph.txt"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data_dir / rel, data / rel)
    g = load_dataset("acm", data_dir=data)[0]
    label_file = data / "sdcn/data/acm_label.txt"
    st = label_file.stat()
    raw = bytearray(label_file.read_bytes())
    i = raw.index(b"1")  # swap one label digit for another: same size
    raw[i:i + 1] = b"2"
    label_file.write_bytes(bytes(raw))
    os.utime(label_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert label_file.stat().st_size == st.st_size and label_file.stat().st_mtime_ns == st.st_mtime_ns
    # the processed cache (built from the verified content) is still served as is
    np.testing.assert_array_equal(load_dataset("acm", data_dir=data)[0].ndata["label"], g.ndata["label"])
    with pytest.raises(ChecksumMismatchError, match=r"acm_label\.txt"):
        load_dataset("acm", data_dir=data, force_reload=True)


def test_dblp_magnn_takes_the_dblp_settings_and_paper_numbers():
    from dglclust.cluster import DFCN
    from dglclust.configs import paper_numbers

    assert DFCN.from_config("dblp-magnn").params_ == DFCN.from_config("dblp").params_
    assert DFCN.from_config("dblp-magnn").params_["pca_dim"] == 50
    assert paper_numbers("sdcn", "dblp-magnn")["acc"] == 68.05
    assert paper_numbers("sdcn", "dblp")["acc"] == 68.05
