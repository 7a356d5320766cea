"""What dglclust rejects, as one table (also the documentation in docs/errors.md).

Each case: the call, the exception type, and words the message must contain (always the name of
the bad parameter). Estimator cases run for every registered estimator; CLI cases check exit
status 2, the message, and that no traceback is printed.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dglclust  # noqa: F401
from dglclust import cli
from dglclust.cluster import ESTIMATORS, SDCN
from dglclust.configs import load_config
from dglclust.configs.validate import RULES, InvalidParameterError
from dglclust.data import from_arrays
from dglclust.ops import graph_spmm, student_t, target_distribution

# --------------------------------------------------------------------------------------------------
# every estimator: constructor arguments common to all
# --------------------------------------------------------------------------------------------------
COMMON_CASES = [  # (kwargs, words in the message)
    ({"random_state": -1}, ["random_state=-1", "int in [0, 4294967295]"]),
    ({"random_state": True}, ["random_state=True"]),
    ({"random_state": 1.5}, ["random_state=1.5"]),
    ({"n_clusters": 1}, ["n_clusters=1", ">= 2"]),
    ({"n_clusters": 2.0}, ["n_clusters=2.0"]),
    ({"n_clusters": "3"}, ["n_clusters='3'"]),
    ({"device": 123}, ["device=123", "'cpu'"]),
    ({"device": "tpu"}, ["device='tpu'"]),
    ({"verbose": "yes"}, ["verbose='yes'"]),
]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("kwargs, words", COMMON_CASES, ids=[str(c[0]) for c in COMMON_CASES])
def test_every_estimator_rejects_bad_common_arguments(name, kwargs, words):
    with pytest.raises(InvalidParameterError) as err:
        ESTIMATORS[name](**kwargs)
    for w in words:
        assert w in str(err.value)
    assert str(err.value).startswith(ESTIMATORS[name].__name__ + ":")


def _bad_values(rule_text, default):
    """Values every rule text of the table must reject."""
    vals = ["not-a-number", True] if not isinstance(default, (str, bool)) else [12345]
    if "int" in rule_text:
        vals += [1.5, -7]
    if "number" in rule_text:
        vals += [-1.0, float("nan")]
    if "list" in rule_text:
        vals += [[0, -3], "abc"]
    return vals


def _cases():
    for name, cls in sorted(ESTIMATORS.items()):
        defaults = load_config(cls.name)
        for key, default in sorted(defaults.items()):
            rule = RULES.get(key)
            if rule is None:
                continue
            for bad in _bad_values(rule.text, default):
                if rule(bad):
                    continue  # e.g. -1.0 where any number is allowed
                yield pytest.param(cls, key, bad, id=f"{name}-{key}={bad!r}")


@pytest.mark.parametrize("cls, key, bad", list(_cases()))
def test_every_hyperparameter_is_validated(cls, key, bad):
    with pytest.raises(InvalidParameterError, match=f"{key}="):
        cls(**{key: bad})
    est = cls()
    with pytest.raises(InvalidParameterError, match=f"{key}="):
        est.set_params(**{key: bad})


def test_every_config_default_passes_its_rule():
    for name, cls in ESTIMATORS.items():
        cls(**load_config(cls.name))  # the paper settings themselves are valid
        for ds in ("acm", "dblp", "citeseer", "usps", "digits"):
            cls.from_config(ds)


def test_unknown_hyperparameter_and_set_params():
    with pytest.raises(TypeError, match=r"unexpected hyperparameter\(s\) \['lrr'\]"):
        SDCN(3, lrr=0.1)
    with pytest.raises(ValueError, match="invalid parameter 'lrr' for SDCN; valid ones:"):
        SDCN(3).set_params(lrr=0.1)


# --------------------------------------------------------------------------------------------------
# data and ops
# --------------------------------------------------------------------------------------------------
X = np.random.default_rng(0).random((12, 3)).astype(np.float32)

DATA_CASES = [  # (callable, exception, words)
    (lambda: from_arrays(np.full((5, 2), 1e300), knn=2), ValueError, ["features", "1e+300", "float32"]),
    (lambda: from_arrays(np.full((5, 2), 1e30), knn=2), ValueError, ["features", "1e+30", "Rescale"]),
    (lambda: from_arrays(X, knn=0), ValueError, ["knn"]),
    (lambda: from_arrays(X, knn=20), ValueError, ["knn=20"]),
    (lambda: from_arrays(X, labels=[0] * 11 + [None], knn=3), ValueError, ["labels", "None"]),
    (lambda: from_arrays(X, labels=[0] * 5, knn=3), ValueError, ["labels has 5 entries"]),
    (lambda: from_arrays(X, edges=[[0, 12]]), ValueError, ["12"]),
    (lambda: student_t(torch.full((3, 2), 1e30), torch.zeros(2, 2)), ValueError,
     ["student_t", "not finite", "1e+30"]),
    (lambda: student_t(torch.zeros(3, 2), torch.zeros(2, 3)), ValueError, ["student_t", "same d"]),
    (lambda: target_distribution(torch.tensor([[-0.5, 1.5]])), ValueError, ["q >= 0"]),
    (lambda: target_distribution(torch.tensor([[float("nan"), 1.0]])), ValueError, ["q >= 0"]),
]


@pytest.mark.parametrize("fn, exc, words", DATA_CASES, ids=range(len(DATA_CASES)))
def test_data_and_ops_reject(fn, exc, words):
    with pytest.raises(exc) as err:
        fn()
    for w in words:
        assert w in str(err.value), str(err.value)


def _graph_with_feat(feat):
    g = from_arrays(X, knn=3)
    g.ndata["feat"] = feat
    return g


@pytest.mark.parametrize("name", sorted(set(ESTIMATORS) - {"gfdc"}))
def test_every_graph_estimator_rejects_huge_features(name):
    """1e30-scaled features used to give DAEGC an all-zero embedding and one cluster."""
    g = _graph_with_feat(torch.from_numpy(X) * 1e30)
    with pytest.raises(ValueError, match=r"node features reach \S+e\+(29|30) in absolute value.* Rescale"):
        ESTIMATORS[name](2, verbose=False).fit(g)


def test_graph_spmm_rejects_wrong_rows():
    g = from_arrays(X, knn=3)
    with pytest.raises(ValueError, match="x has 5 rows but the graph has 12 nodes"):
        graph_spmm(g, torch.zeros(5, 2))


def test_directed_multigraph_is_symmetrized_with_a_warning():
    import warnings

    dgl = dglclust._compat.import_dgl()
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 1, (6, 3)), rng.normal(8, 1, (6, 3))]).astype(np.float32)
    src, dst = torch.tensor([0, 0, 1, 7]), torch.tensor([1, 1, 2, 8])  # directed, a duplicate
    g = dgl.graph((src, dst), num_nodes=12)
    g.ndata["feat"] = torch.from_numpy(blobs)
    sym = from_arrays(blobs, edges=[[0, 1], [1, 2], [7, 8]])
    kw = dict(n_clusters=2, random_state=0, verbose=False, pretrain_epochs=20, n_init=2,
              ae_dims=[8, 8, 8], latent_dim=2, epochs=3)
    with pytest.warns(UserWarning, match="directed or has duplicate edges"):
        a = SDCN(**kw).fit(g)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*directed or has duplicate edges.*")
        b = SDCN(**kw).fit(sym)  # a simple symmetric graph: no warning
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert g.num_edges() == 4  # the caller's graph is untouched


# --------------------------------------------------------------------------------------------------
# CLI: exit 2, the message, no traceback
# --------------------------------------------------------------------------------------------------
CLI_CASES = [  # (argv, words in stderr)
    (["fit", "--model", "sdcn", "--dataset", "digits", "--set", "lr=abc"], ["lr='abc'", "number > 0"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--set", "epochs=1.5"], ["epochs=1.5", "int >= 1"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--set", "ae_dims=[1,2"], ["ae_dims=[1,2", "not valid YAML"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--set", "lr=-1"], ["lr=-1"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--seed", "-1"], ["random_state=-1"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--device", "tpu"], ["--device 'tpu'"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--data-dir", "/no/such/dir"], ["--data-dir", "not a directory"]),
    (["fit", "--model", "sdcn", "--dataset", "digits", "--n-clusters", "1"], ["n_clusters=1"]),
    (["fit", "--model", "sdcn"], ["either --dataset NAME or --features FILE"]),
    (["fit", "--model", "sdcn", "--features", "/no/such.npy"], ["features file", "does not exist"]),
    (["fit", "--model", "nope", "--dataset", "digits"], ["unknown model 'nope'"]),
    (["reproduce", "--model", "sdcn", "--dataset", "digits", "--runs", "0"], ["--runs must be at least 1"]),
    (["plot", "/no/such.json"], ["does not exist"]),
]
if not torch.cuda.is_available():
    CLI_CASES.append((["fit", "--model", "sdcn", "--dataset", "digits", "--device", "cuda"],
                      ["--device 'cuda'", "CUDA is not available"]))


@pytest.mark.parametrize("argv, words", CLI_CASES, ids=[" ".join(c[0][2:]) for c in CLI_CASES])
def test_cli_usage_errors(argv, words, capsys, tmp_path):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert err.startswith(f"dglclust {argv[0]}: error: ")
    for w in words:
        assert w in err, err
    assert "Traceback" not in out + err


def test_errors_doc_is_current():
    """docs/errors.md is generated from the same table (python tools/make_errors_doc.py)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("make_errors_doc", root / "tools" / "make_errors_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (root / "docs" / "errors.md").read_text() == mod.render(), \
        "docs/errors.md is stale: run python tools/make_errors_doc.py"


def test_from_arrays_copies_the_callers_features():
    """Editing g.ndata['feat'] used to change the caller's array (it was a view)."""
    for x in (X.copy(), torch.from_numpy(X.copy())):
        before = np.array(x, copy=True)
        g = from_arrays(x, knn=3)
        g.ndata["feat"][0, 0] = 123.0
        np.testing.assert_array_equal(np.asarray(x), before)
