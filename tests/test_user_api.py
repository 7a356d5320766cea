"""What a user touches in the first hour: persistence, inference on new nodes, scikit-learn
compatibility, plots, warnings, the precision choice, the CLI's outputs and files."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import dglclust
from dglclust import cli
from dglclust.cluster import AEKMeans, AGCN, DAEGC, DEC, DFCN, GAE, IDEC, SDCN, VGAE
from dglclust.cluster.base import CollapsedClusteringWarning
from dglclust.data import from_arrays
from dglclust.metrics import evaluate

SMALL = dict(pretrain_epochs=30, epochs=100, n_init=2, ae_dims=[16, 16, 32], latent_dim=4)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path_factory.getbasetemp() / "cache_user_api"))


def blobs(n_per=30, seed=0, k=3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(6 * c, 1, (n_per, 6)) for c in range(k)]).astype(np.float32)
    return x, np.repeat(np.arange(k), n_per)


@pytest.fixture(scope="module")
def graph():
    x, y = blobs()
    return from_arrays(x, labels=y, knn=5)


def _kw(cls):
    defaults = cls(3).params_
    return {k: v for k, v in SMALL.items() if k in defaults}


# --------------------------------------------------------------------------------------------------
# save / load, predict / transform, clone
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [AEKMeans, DEC, IDEC, SDCN, AGCN, GAE, VGAE, DAEGC])
def test_save_load_round_trip_and_predict(cls, graph, tmp_path):
    est = cls(3, random_state=0, verbose=False, **_kw(cls)).fit(graph)
    path = est.save(tmp_path / "model.pt")
    loaded = cls.load(path)
    np.testing.assert_array_equal(loaded.labels_, est.labels_)
    np.testing.assert_allclose(loaded.embedding_, est.embedding_)
    assert loaded.get_params() == est.get_params() and loaded.history_ == est.history_
    # the restored network gives the fitted clustering back on the training graph
    np.testing.assert_array_equal(loaded.predict(graph), est.predict(graph))
    assert (loaded.predict(graph) == est.labels_).mean() > 0.95
    np.testing.assert_allclose(loaded.transform(graph), est.transform(graph), rtol=1e-5, atol=1e-6)
    # loaded with weights_only=True: the file holds tensors and plain data only
    torch.load(path, weights_only=True)


def test_ae_family_predicts_new_feature_rows(graph):
    est = DEC(3, random_state=0, verbose=False, **{**_kw(DEC), "pretrain_epochs": 50}).fit(graph)
    assert evaluate(graph.ndata["label"], est.labels_)["acc"] == 1.0
    x_new, y_new = blobs(n_per=10, seed=5)
    pred = est.predict(x_new)  # features only: no graph needed
    assert evaluate(y_new, pred)["acc"] == 1.0
    assert est.transform(x_new).shape == (30, 4)
    with pytest.raises(ValueError, match="X has 2 features, but DEC was fitted with 6"):
        est.predict(np.zeros((4, 2), np.float32))


def test_graph_models_need_a_graph_and_some_define_no_predict(graph):
    est = SDCN(3, random_state=0, verbose=False, **_kw(SDCN)).fit(graph)
    with pytest.raises(TypeError, match="need a DGLGraph over the new nodes"):
        est.predict(np.zeros((4, 6), np.float32))
    dfcn = DFCN(3, random_state=0, verbose=False, epochs=2).fit(graph)
    with pytest.raises(NotImplementedError, match="DFCN does not define predict/transform"):
        dfcn.predict(graph)
    with pytest.raises(AttributeError, match="not fitted yet"):
        SDCN(3).predict(graph)


def test_load_rejects_other_files(tmp_path, graph):
    torch.save({"x": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a file written by dglclust's save"):
        SDCN.load(tmp_path / "other.pt")
    est = DEC(3, random_state=0, verbose=False, **_kw(DEC)).fit(graph)
    est.save(tmp_path / "dec.pt")
    with pytest.raises(TypeError, match="holds a DEC, not a SDCN"):
        SDCN.load(tmp_path / "dec.pt")
    assert isinstance(dglclust.cluster.BaseClusterer.load(tmp_path / "dec.pt"), DEC)


def test_scikit_learn_protocol():
    from sklearn.base import BaseEstimator, ClusterMixin, clone

    est = SDCN(4, random_state=3, lr=0.5)
    assert isinstance(est, BaseEstimator) and isinstance(est, ClusterMixin)
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()
    assert repr(c).startswith("SDCN(n_clusters=4, random_state=3")
    assert c.set_params(lr=0.1).params_["lr"] == 0.1


# --------------------------------------------------------------------------------------------------
# warnings
# --------------------------------------------------------------------------------------------------
def test_collapse_warning():
    """300 points of one blob into 2 clusters collapse with the paper setting of SDCN."""
    x = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    g = from_arrays(x, knn=5)
    est = SDCN(5, random_state=0, verbose=False, **SMALL)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        est.fit(g)
    used = np.unique(est.labels_).size
    found = [w for w in rec if issubclass(w.category, CollapsedClusteringWarning)]
    assert bool(found) == (used < 5)
    from dglclust.cluster.base import check_collapse

    with pytest.warns(CollapsedClusteringWarning, match="uses 1 of the 2 requested clusters"):
        check_collapse("X", np.zeros(10, dtype=int), 2)


def test_cache_note_when_pretraining_is_reused(graph, capsys):
    SDCN(3, random_state=11, verbose=False, **_kw(SDCN)).fit(graph)
    est = SDCN(3, random_state=11, verbose=True, **_kw(SDCN)).fit(graph)
    assert est.pretrain_cached_ and est.pretrain_time_ == 0.0
    assert "pretrained weights loaded from the cache" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# precision
# --------------------------------------------------------------------------------------------------
def test_precision_auto_follows_the_cpu_flags(monkeypatch):
    from dglclust.train import precision as P

    monkeypatch.delenv("DGLCLUST_PRECISION", raising=False)
    cpu = torch.device("cpu")
    for flags, native in [({"avx512f", "avx512bw"}, False), ({"avx512f", "avx512_bf16"}, True),
                          ({"amx_bf16"}, True), (set(), False)]:
        P.cpu_bf16_native.cache_clear()
        monkeypatch.setattr(P, "_cpu_flags", lambda f=flags: f)
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
        assert P.resolve_precision("auto", cpu) == ("bf16" if native else "fp32"), flags
    P.cpu_bf16_native.cache_clear()
    assert P.resolve_precision("fp32", cpu) == "fp32" and P.resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setenv("DGLCLUST_PRECISION", "fp32")
    assert P.resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setenv("DGLCLUST_PRECISION", "fp16")
    with pytest.raises(ValueError, match="DGLCLUST_PRECISION must be fp32 or bf16"):
        P.resolve_precision("auto", cpu)


def test_the_resolved_precision_is_recorded(graph):
    est = SDCN(3, random_state=0, verbose=False, **_kw(SDCN)).fit(graph)
    assert est.precision_ == "fp32"  # the suite runs with DGLCLUST_PRECISION=fp32


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------
def _png_size(path):
    data = open(path, "rb").read(32)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plots_are_png_of_the_stated_size(graph, tmp_path):
    est = SDCN(3, random_state=0, verbose=False, **_kw(SDCN)).fit(graph)
    p = est.plot_history(tmp_path / "h.png", dpi=50, size=(8, 4))
    assert _png_size(p) == (400, 200)
    p = est.plot_embedding(tmp_path / "e.png", method="pca", dpi=40, size=(5, 5))
    assert _png_size(p) == (200, 200)
    p = est.plot_embedding(tmp_path / "t.png", method="tsne", dpi=20)
    assert _png_size(p) == (120, 100)
    with pytest.raises(ValueError, match="method must be 'tsne', 'pca' or 'umap'"):
        est.plot_embedding(tmp_path / "x.png", method="mds")


# --------------------------------------------------------------------------------------------------
# CLI outputs
# --------------------------------------------------------------------------------------------------
def test_fit_out_writes_labels_embedding_and_effective_settings(tmp_path, capsys):
    out = tmp_path / "run.json"
    rc = cli.main(["fit", "--model", "dec", "--dataset", "digits", "--quiet", "--epochs", "2",
                   "--set", "pretrain_epochs=2", "--set", "pretrain_restarts=1", "--set", "n_init=1",
                   "--out", str(out), "--save-embedding", "--save-model", str(tmp_path / "m.pt")])
    text = capsys.readouterr().out
    assert rc == 0
    assert "no ground-truth labels" not in text  # digits has labels
    rec = json.loads(out.read_text())
    assert rec["precision"] == "fp32" and rec["pretrained_from_cache"] in (True, False)
    assert rec["hyperparameters"]["epochs"] == 2 and rec["hyperparameters"]["lr"] == 1e-3
    assert rec["files"] == {"labels": "run.labels.csv", "embedding": "run.embedding.npy"}
    with open(tmp_path / "run.labels.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["node", "cluster"] and len(rows) == 1798
    est = DEC.load(tmp_path / "m.pt")
    assert [int(r[1]) for r in rows[1:]] == est.labels_.tolist()
    emb = np.load(tmp_path / "run.embedding.npy")
    np.testing.assert_allclose(emb, est.embedding_)
    for name in ("run.json", "run.labels.csv", "run.embedding.npy"):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode == 0o666 & ~_umask(), (name, oct(mode))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # dglclust plot draws the curves and the embedding of that record
    rc = cli.main(["plot", str(out), "--method", "pca"])
    assert rc == 0
    assert _png_size(tmp_path / "run.history.png")[0] > 100
    assert _png_size(tmp_path / "run.embedding.png")[0] > 100


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_fit_on_own_files(tmp_path, capsys):
    x, y = blobs(n_per=20)
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "y.csv", y, fmt="%d")
    edges = np.array([[i, i + 1] for i in range(59) if (i + 1) % 20])
    np.savetxt(tmp_path / "e.csv", edges, fmt="%d", delimiter=",")
    rc = cli.main(["fit", "--model", "ae", "--features", str(tmp_path / "x.npy"), "--edges",
                   str(tmp_path / "e.csv"), "--labels", str(tmp_path / "y.csv"), "--quiet",
                   "--set", "pretrain_epochs=30", "--set", "ae_dims=[16,16,32]",
                   "--out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "ACC 100.00" in out
    rc = cli.main(["fit", "--model", "ae", "--features", str(tmp_path / "x.npy"), "--n-clusters",
                   "3", "--quiet", "--set", "pretrain_epochs=2", "--set", "ae_dims=[8,8,8]"])
    out = capsys.readouterr().out
    assert rc == 0 and "no ground-truth labels: 3 clusters found" in out


def test_fit_on_own_features_builds_a_knn_graph_only_for_models_that_read_one(tmp_path, capsys,
                                                                             monkeypatch):
    x, _ = blobs(n_per=20)
    np.save(tmp_path / "x.npy", x)
    import dglclust.data.arrays as arrays

    built, fitted = [], []
    knn_graph = arrays.knn_graph
    monkeypatch.setattr(arrays, "knn_graph",
                        lambda *a, **k: built.append(a[1]) or knn_graph(*a, **k))
    fit = cli._r.build_estimator

    def spy(*a, **k):
        est = fit(*a, **k)
        est_fit = est.fit
        est.fit = lambda g: fitted.append(g.num_edges()) or est_fit(g)
        return est

    monkeypatch.setattr(cli._r, "build_estimator", spy)
    args = ["--features", str(tmp_path / "x.npy"), "--n-clusters", "3", "--quiet", "--knn", "4"]
    assert cli.main(["fit", "--model", "dec", *args, "--set", "pretrain_epochs=1",
                     "--set", "ae_dims=[8,8,8]", "--epochs", "1"]) == 0
    assert built == [] and fitted == [0]  # DEC reads no graph: the nodes without edges
    assert cli.main(["fit", "--model", "gae", *args, "--epochs", "1"]) == 0
    assert built == [4] and fitted[1] > 0  # GAE reads one: the kNN graph with --knn neighbours
    capsys.readouterr()


def test_version_help_and_python_m(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"dglclust {dglclust.__version__}"
    with pytest.raises(SystemExit):
        cli.main(["fit", "--help"])
    text = capsys.readouterr().out
    assert "sdcn" in text and "caegcn" in text and "citeseer" in text and "digits" in text
    proc = subprocess.run([sys.executable, "-m", "dglclust", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"dglclust {dglclust.__version__}"


# --------------------------------------------------------------------------------------------------
# reproduce: never replace a complete result, resume an interrupted one, the pair agrees
# --------------------------------------------------------------------------------------------------
REPRO = ["reproduce", "--model", "ae", "--dataset", "digits", "--quiet", "--set", "pretrain_epochs=1",
         "--set", "pretrain_restarts=1", "--set", "n_init=1", "--set", "ae_dims=[8,8,8]"]


def test_reproduce_refuses_to_replace_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    assert cli.main([*REPRO, "--runs", "2", "--out", str(out)]) == 0
    first = json.loads((out / "ae_digits.json").read_text())
    (out / ".ae_digits.json.abc.tmp").write_text("left by a killed writer")
    rc = cli.main([*REPRO, "--runs", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "already holds a complete result (2 runs)" in err and "--overwrite" in err
    assert json.loads((out / "ae_digits.json").read_text()) == first  # untouched
    assert not (out / ".ae_digits.json.abc.tmp").exists()  # stale temp file removed
    # the JSON manifest records the CSV it belongs to
    digest = hashlib.sha256((out / "ae_digits.csv").read_bytes()).hexdigest()
    assert first["csv_sha256"] == digest and first["csv_rows"] == 2
    # an interrupted run with the same settings is resumed, its finished seeds kept
    first["complete"], first["rows"] = False, first["rows"][:1]
    (out / "ae_digits.json").write_text(json.dumps(first))
    assert cli.main([*REPRO, "--runs", "2", "--out", str(out)]) == 0
    again = json.loads((out / "ae_digits.json").read_text())
    assert again["complete"] and [r["seed"] for r in again["rows"]] == [0, 1]
    assert again["rows"][0] == first["rows"][0]
    assert "resuming: seeds [0]" in capsys.readouterr().out
    # an interrupted result whose seeds are all done (killed before it was marked complete):
    # resuming fits nothing and still writes the summary of its rows
    again["complete"], again["summary"] = False, None
    (out / "ae_digits.json").write_text(json.dumps(again))
    assert cli.main([*REPRO, "--runs", "2", "--out", str(out)]) == 0
    done = json.loads((out / "ae_digits.json").read_text())
    assert done["complete"] and done["rows"] == again["rows"]
    assert done["summary"] == dglclust.reproduce.summarize(again["rows"])
    assert cli.main([*REPRO, "--runs", "3", "--out", str(out), "--overwrite"]) == 0
    assert len(json.loads((out / "ae_digits.json").read_text())["rows"]) == 3


def test_reproduce_prints_a_line_before_each_run(tmp_path, capsys):
    argv = [a for a in REPRO if a != "--quiet"]
    assert cli.main([*argv, "--runs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("run 1/1 seed=0: fitting") < out.index("run 1/1 seed=0: ACC")


# --------------------------------------------------------------------------------------------------
# the extension and the torch it runs under
# --------------------------------------------------------------------------------------------------
def test_extension_records_its_torch_version():
    from dglclust.ops import _ext

    if not _ext.extension_loaded():
        pytest.skip(f"extension not active: {_ext.load_error()}")
    assert _ext.built_torch_version() == torch.__version__
    assert _ext._mismatch("2.13.0+cpu", "2.14.1+cu130") and not _ext._mismatch("x", "x")
    assert not _ext._mismatch("unknown", torch.__version__)
