"""The CLI and the reproduction harness, against a fake estimator (no training), plus one real
end-to-end run on the built-in digits dataset."""
import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dglclust import cli
from dglclust import reproduce as rep
from dglclust._compat import import_dgl

dgl = import_dgl()

# --------------------------------------------------------------------------------------------------
# fakes: a 10-node, 2-class graph and an estimator whose result is a known function of the seed
# --------------------------------------------------------------------------------------------------
TRUE = np.array([0] * 5 + [1] * 5)


def _graph(labels=True):
    g = dgl.graph((torch.tensor([0, 1, 5, 6]), torch.tensor([1, 0, 6, 5])), num_nodes=10)
    g.ndata["feat"] = torch.randn(10, 4)
    if labels:
        g.ndata["label"] = torch.tensor(TRUE)
    return g


class FakeEstimator:
    """Seed s flips the first s nodes of the truth: ACC = 100, 90, 80 for seeds 0, 1, 2.
    fit_time_ = 1 + s. The history's best epoch (label-selected) is perfect."""

    instances = []

    def __init__(self, n_clusters=2, random_state=None, device=None, verbose=True, epochs=4,
                 lr=1e-3, fail_seed=None):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.epochs = epochs
        self.lr = lr
        self.fail_seed = fail_seed

    @classmethod
    def from_config(cls, dataset, **overrides):
        if dataset == "noconfig":
            raise FileNotFoundError("no config for 'noconfig'")
        est = cls(**overrides)  # an unknown key raises TypeError, like a real estimator
        cls.instances.append(est)
        return est

    def get_params(self):
        return {k: getattr(self, k) for k in ("n_clusters", "random_state", "device", "verbose",
                                              "epochs", "lr", "fail_seed")}

    def fit(self, g):
        if self.fail_seed is not None and self.random_state == self.fail_seed:
            raise RuntimeError("diverged")
        y = g.ndata["label"].numpy()
        final = y.copy()
        final[: self.random_state] = 1 - final[: self.random_state]
        from dglclust.metrics import evaluate

        self.history_ = [{"epoch": -1, "loss": 9.0}]  # e.g. pretraining: no metrics
        self.history_.append({"epoch": 0, "loss": 3.0, **evaluate(y, np.zeros_like(y))})
        self.history_.append({"epoch": 1, "loss": 2.0, **evaluate(y, 1 - y)})  # perfect
        for e in range(2, self.epochs):
            self.history_.append({"epoch": e, "loss": 1.0, **evaluate(y, final)})
        self.labels_ = final.astype(np.int64)
        self.fit_time_ = 1.0 + self.random_state
        return self


class BoomEstimator(FakeEstimator):
    def fit(self, g):
        raise RuntimeError("kernel exploded")


DATASETS = {"toy": lambda: [_graph()], "toy2": lambda: [_graph()], "noconfig": lambda: [_graph()],
            "unlabeled": lambda: [_graph(labels=False)]}
PAPER = {"acc": 91.0, "nmi": 80.5, "source": "Fake et al. 2020"}


@pytest.fixture
def fake(monkeypatch):
    FakeEstimator.instances.clear()
    registry = {"fake": FakeEstimator, "boom": BoomEstimator}

    def get_estimator(name):
        if name not in registry:
            raise KeyError(f"unknown estimator {name!r}")
        return registry[name]

    def load_dataset(name, data_dir=None, mmap_features=False):
        if name not in DATASETS:
            raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
        return DATASETS[name]()

    monkeypatch.setattr(rep, "_get_estimator", get_estimator)
    monkeypatch.setattr(rep, "_estimator_names", lambda: sorted(registry))
    monkeypatch.setattr(rep, "_load_dataset", load_dataset)
    monkeypatch.setattr(rep, "_paper_numbers", lambda m, d: dict(PAPER) if m == "fake" else None)
    monkeypatch.setattr(rep, "_list_datasets", lambda: [
        {"name": "toy", "num_nodes": 10, "num_features": 4, "num_classes": 2, "source": "tests"},
        {"name": "toy2", "nodes": 10, "classes": 2},
    ])
    return FakeEstimator


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


ACC_STD = math.sqrt((10**2 + 0 + 10**2) / 3)  # population std of 100, 90, 80
TIME_STD = math.sqrt(2 / 3)  # of 1, 2, 3


# --------------------------------------------------------------------------------------------------
# reproduce
# --------------------------------------------------------------------------------------------------
def test_reproduce_table_and_math(fake, capsys, tmp_path):
    rc, out, err = run(capsys, "reproduce", "--model", "fake", "--dataset", "toy", "--runs", "3",
                       "--out", str(tmp_path))
    assert rc == 0, err
    assert "fake on toy: 3 runs (seeds 0..2)" in out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert "ours: final epoch, mean +- std" in header
    assert "paper (Fake et al. 2020)" in header
    assert "best epoch (label-selected, not the protocol), mean +- std" in header
    acc_line = next(line for line in out.splitlines() if line.startswith("ACC"))
    cells = [c.strip() for c in acc_line.split("|")]
    assert cells == ["ACC", f"90.00 +- {ACC_STD:.2f}", "91.00", "100.00 +- 0.00"]
    ari_line = next(line for line in out.splitlines() if line.startswith("ARI"))
    assert [c.strip() for c in ari_line.split("|")][2] == "-"  # missing paper value
    assert f"wall time per run (fit_time_): 2.00 +- {TIME_STD:.2f} s" in out
    assert "process-wide" in out
    assert "[fake/toy] run 2/3 seed=1: ACC 90.00" in out


def test_reproduce_writes_json_and_csv(fake, capsys, tmp_path):
    rc, _, err = run(capsys, "reproduce", "--model", "fake", "--dataset", "toy", "--runs", "3",
                     "--seed0", "0", "--set", "lr=1e-4", "--out", str(tmp_path / "res"))
    assert rc == 0, err
    data = json.loads((tmp_path / "res" / "fake_toy.json").read_text())
    assert data["complete"] is True
    assert data["seeds"] == [0, 1, 2]
    assert [r["acc"] for r in data["rows"]] == pytest.approx([100.0, 90.0, 80.0])
    assert [r["seed"] for r in data["rows"]] == [0, 1, 2]
    assert [r["final_epoch"] for r in data["rows"]] == [3, 3, 3]
    assert [r["best_epoch_label_selected"] for r in data["rows"]] == [1, 1, 1]
    assert [r["fit_time_s"] for r in data["rows"]] == [1.0, 2.0, 3.0]
    assert all(r["peak_rss_mb"] > 1 for r in data["rows"])
    final = data["summary"]["final"]
    assert final["acc"]["mean"] == pytest.approx(90.0)
    assert final["acc"]["std"] == pytest.approx(ACC_STD)
    assert (final["acc"]["min"], final["acc"]["max"], final["acc"]["n"]) == (80.0, 100.0, 3)
    assert data["summary"]["best_label_selected"]["acc"]["mean"] == pytest.approx(100.0)
    assert data["summary"]["fit_time_s"]["std"] == pytest.approx(TIME_STD)
    assert data["paper"] == PAPER
    assert data["overrides"] == {"lr": 1e-4}
    assert data["config"]["lr"] == 1e-4 and "random_state" not in data["config"]
    assert data["command"] == ("dglclust reproduce --model fake --dataset toy --runs 3 --seed0 0 "
                               f"--set lr=1e-4 --out {tmp_path / 'res'}")
    for key in ("platform", "python", "torch", "cpu_count", "ops_backend"):
        assert key in data["machine"]
    # the CPU and what precision="auto" resolves to: results can differ between CPUs (bf16 autocast)
    assert data["machine"]["precision_auto"] in ("bf16", "fp32")
    if sys.platform.startswith("linux"):
        assert re.fullmatch(r".+ \(family \S+ model \S+\)", data["machine"]["cpu"])
    assert "NOT the reported result" in data["protocol"]
    assert data["metric_units"] == "percent"

    with open(tmp_path / "res" / "fake_toy.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["acc"]) for r in rows] == pytest.approx([100.0, 90.0, 80.0])
    assert [r["seed"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0])[:7] == ["model", "dataset", "seed", "acc", "nmi", "ari", "f1"]
    assert "best_acc_label_selected" in rows[0] and "peak_rss_mb" in rows[0]
    # nothing but the two results (no temp files left behind by the atomic writes)
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["fake_toy.csv", "fake_toy.json"]


def test_results_go_through_atomic_write(fake, capsys, tmp_path, monkeypatch):
    import dglclust.utils

    seen = []
    real = dglclust.utils.atomic_write

    def spy(path, *a, **kw):
        seen.append(Path(path).name)
        return real(path, *a, **kw)

    monkeypatch.setattr(dglclust.utils, "atomic_write", spy)
    rc, _, _ = run(capsys, "reproduce", "--model", "fake", "--dataset", "toy", "--runs", "2",
                   "--out", str(tmp_path))
    assert rc == 0
    # rewritten after each run, and once more when complete
    assert seen == ["fake_toy.csv", "fake_toy.json"] * 3  # the JSON (the manifest) last
    seen.clear()
    rc, _, _ = run(capsys, "fit", "--model", "fake", "--dataset", "toy", "--quiet",
                   "--out", str(tmp_path / "fit.json"))
    assert rc == 0 and seen == ["fit.labels.csv", "fit.json"]


def test_failed_run_keeps_finished_runs(fake, capsys, tmp_path):
    with pytest.raises(RuntimeError, match="diverged"):
        cli.main(["reproduce", "--model", "fake", "--dataset", "toy", "--runs", "4",
                  "--set", "fail_seed=2", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "fake_toy.json").read_text())
    assert data["complete"] is False
    assert [r["seed"] for r in data["rows"]] == [0, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake_toy.csv", "fake_toy.json"]


def test_reproduce_several_combinations(fake, capsys, tmp_path):
    rc, out, err = run(capsys, "reproduce", "--models", "fake,boom", "--datasets", "toy,toy2",
                       "--runs", "2", "--out", str(tmp_path), "--quiet")
    assert rc == 1  # boom failed, the others still ran
    assert "[boom/toy] failed: RuntimeError: kernel exploded" in err
    summary = out[out.index("Summary"):].splitlines()
    assert [c.strip() for c in summary[1].split("|")] == [
        "model", "dataset", "runs", "ACC ours (paper)", "NMI ours (paper)", "ARI ours (paper)",
        "F1 ours (paper)", "s/run"]
    fake_rows = [line for line in summary if line.startswith("fake")]
    assert len(fake_rows) == 2
    cells = [c.strip() for c in fake_rows[0].split("|")]
    assert cells[:4] == ["fake", "toy", "2", "95.00 +- 5.00 (91.00)"]
    assert cells[-1] == "1.5 +- 0.5"
    assert [c.strip() for c in summary[5].split("|")][:3] == ["boom", "toy", "FAILED"]
    assert "FAILED boom on toy: RuntimeError: kernel exploded" in summary
    assert "FAILED boom on toy2: RuntimeError: kernel exploded" in summary
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fake_toy.csv", "fake_toy.json", "fake_toy2.csv", "fake_toy2.json"]
    # the label-selected column is not mixed into the summary line
    assert "label-selected" in summary[-1] and "100.00" not in "".join(fake_rows)


def test_multi_loads_each_dataset_once_and_checks_names_first(fake, capsys, monkeypatch, tmp_path):
    loads = []
    real = rep._load_dataset
    monkeypatch.setattr(rep, "_load_dataset",
                        lambda n, data_dir=None, mmap_features=False: loads.append(n) or real(n))
    rc, _, err = run(capsys, "reproduce", "--models", "fake,nope", "--datasets", "toy",
                     "--out", str(tmp_path))
    assert rc == 2 and "unknown model 'nope'" in err
    assert loads == [] and not any(tmp_path.iterdir())  # failed before loading or training
    rc, _, _ = run(capsys, "reproduce", "--model", "fake", "--model", "fake", "--datasets",
                   "toy,toy2", "--runs", "1", "--out", str(tmp_path), "--quiet")
    assert rc == 0 and loads == ["toy", "toy2"]


# --------------------------------------------------------------------------------------------------
# usage errors: exit code 2, message, no traceback
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["reproduce", "--model", "nope", "--dataset", "toy"],
         "unknown model 'nope'. Available: boom, fake."),
        (["fit", "--model", "nope", "--dataset", "toy"], "unknown model 'nope'."),
        (["reproduce", "--model", "fake", "--dataset", "nope"],
         "cannot load dataset 'nope': unknown dataset 'nope'"),
        (["fit", "--model", "fake", "--dataset", "nope"], "cannot load dataset 'nope'"),
        (["reproduce", "--model", "fake", "--dataset", "toy", "--set", "epochs"],
         "--set expects key=value, got 'epochs'"),
        (["reproduce", "--model", "fake", "--dataset", "toy", "--set", "bogus=1"],
         "cannot configure fake for 'toy'"),
        (["fit", "--model", "fake", "--dataset", "noconfig"],
         "cannot configure fake for 'noconfig': no config for 'noconfig'"),
        (["reproduce", "--model", "fake", "--dataset", "unlabeled"],
         "dataset 'unlabeled' has no ground-truth labels"),
        (["reproduce", "--model", "fake", "--dataset", "toy", "--runs", "0"],
         "--runs must be at least 1, got 0"),
    ],
)
def test_usage_errors_exit_2(fake, capsys, tmp_path, argv, message):
    rc, out, err = run(capsys, *argv, "--out", str(tmp_path / "o"))
    assert rc == 2
    assert message in err
    assert err.startswith(f"dglclust {argv[0]}: error: ")
    assert "Traceback" not in err + out
    assert not (tmp_path / "o").exists()


def test_debug_flag_shows_the_exception(fake):
    with pytest.raises(rep.UsageError, match="unknown model 'nope'"):
        cli.main(["--debug", "fit", "--model", "nope", "--dataset", "toy"])


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", "--dataset", "toy"])
    assert exc.value.code == 2
    assert "--model" in capsys.readouterr().err
    assert cli.main([]) == 2


def test_entry_point_unknown_model_subprocess():
    env = dict(os.environ, DGLCLUST_NO_EXT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "dglclust.cli", "fit", "--model", "no_such_model", "--dataset",
         "digits"], capture_output=True, text=True, env=env, timeout=120,
    )
    if "No module named 'dglclust.cluster'" in proc.stderr:
        pytest.skip("dglclust.cluster not written yet")
    assert proc.returncode == 2, proc.stderr
    assert "unknown model 'no_such_model'" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------------
# fit, datasets, bench, --set parsing
# --------------------------------------------------------------------------------------------------
def test_fit_prints_metrics_and_writes_json(fake, capsys, tmp_path):
    rc, out, err = run(capsys, "fit", "--model", "FAKE", "--dataset", "toy", "--seed", "2",
                       "--epochs", "5", "--set", "lr=0.5", "--quiet", "--device", "cpu",
                       "--out", str(tmp_path / "fit.json"))
    assert rc == 0, err
    est = fake.instances[-1]
    assert (est.random_state, est.epochs, est.lr, est.verbose, est.device) == (2, 5, 0.5, False,
                                                                              "cpu")
    assert "fake on toy (seed 2, device cpu, final epoch 4)" in out
    assert "ACC 80.00  NMI " in out and "(percent)" in out
    assert "wall time 3.00 s" in out
    rec = json.loads((tmp_path / "fit.json").read_text())
    assert rec["metrics"]["acc"] == pytest.approx(80.0)
    assert rec["fit_time_s"] == 3.0
    assert rec["history"][0] == {"epoch": -1, "loss": 9.0}
    assert rec["history"][2]["acc"] == pytest.approx(100.0)  # converted to percent
    assert rec["overrides"] == {"epochs": 5, "lr": 0.5}
    assert rec["command"].startswith("dglclust fit --model FAKE --dataset toy --seed 2")


def test_fit_verbose_by_default_and_unlabeled(fake, capsys, monkeypatch):
    # the fake reads the labels in fit; on unlabeled data it predicts two alternating clusters
    monkeypatch.setattr(FakeEstimator, "fit", lambda self, g: (
        setattr(self, "labels_", np.array([0, 1] * 5)), setattr(self, "history_", []),
        setattr(self, "fit_time_", 0.25), self)[-1])
    rc, out, _ = run(capsys, "fit", "--model", "fake", "--dataset", "unlabeled")
    assert rc == 0
    assert fake.instances[-1].verbose is True
    assert "no ground-truth labels: 2 clusters found" in out
    assert "wall time 0.25 s" in out


def test_datasets_table(fake, capsys):
    rc, out, _ = run(capsys, "datasets")
    assert rc == 0
    lines = out.splitlines()
    assert [c.strip() for c in lines[0].split("|")] == ["name", "nodes", "features", "classes",
                                                        "source"]
    assert [c.strip() for c in lines[2].split("|")] == ["toy", "10", "4", "2", "tests"]
    assert [c.strip() for c in lines[3].split("|")] == ["toy2", "10", "-", "2", "-"]
    assert "local data directory" in out


def test_bench_points_to_scripts(capsys):
    rc, out, _ = run(capsys, "bench")
    assert rc == 0 and "bench/" in out


def test_parse_overrides():
    assert cli.parse_overrides(["epochs=5", "lr=1e-3", "name=foo", "flag=true", "dims=[500, 10]",
                                "x=null", "alpha = 0.5"]) == {
        "epochs": 5, "lr": 0.001, "name": "foo", "flag": True, "dims": [500, 10], "x": None,
        "alpha": 0.5}
    with pytest.raises(rep.UsageError, match="--set expects key=value"):
        cli.parse_overrides(["=3"])


# --------------------------------------------------------------------------------------------------
# harness pieces
# --------------------------------------------------------------------------------------------------
def test_summarize_and_best_epoch():
    rows = [{"acc": 50.0, "nmi": 10.0, "ari": 5.0, "f1": 40.0, "fit_time_s": 2.0,
             "best_acc_label_selected": None, "peak_rss_mb": 100.0},
            {"acc": 70.0, "nmi": 30.0, "ari": 15.0, "f1": 60.0, "fit_time_s": 4.0,
             "best_acc_label_selected": None, "peak_rss_mb": 300.0}]
    s = rep.summarize(rows)
    assert s["final"]["acc"] == {"mean": 60.0, "std": 10.0, "min": 50.0, "max": 70.0, "n": 2}
    assert s["fit_time_s"]["mean"] == 3.0 and s["fit_time_s"]["std"] == 1.0
    assert s["best_label_selected"] is None  # no history with metrics -> column shows n/a
    assert s["peak_rss_mb"] == 300.0
    table = rep.format_table({"model": "m", "dataset": "d", "rows": rows, "summary": s,
                              "paper": None, "machine": {}})
    assert "| n/a" in table and "60.00 +- 10.00" in table

    hist = [{"epoch": 0, "loss": 1}, {"epoch": 1, "acc": 0.5}, {"epoch": 2, "acc": 0.7},
            {"epoch": 3, "acc": 0.7}, {"epoch": 4, "acc": 0.6}]
    assert rep.best_epoch(hist)["epoch"] == 2  # first of ties
    assert rep.best_epoch([{"epoch": 0, "loss": 1.0}]) is None
    assert rep.best_epoch([]) is None


def test_peak_rss_is_positive():
    assert rep.peak_rss_mb() > 1


# --------------------------------------------------------------------------------------------------
# real end to end (needs the model/data modules)
# --------------------------------------------------------------------------------------------------
def _real_modules_present():
    try:
        from dglclust.cluster import get_estimator  # noqa: F401
        from dglclust.configs import paper_numbers  # noqa: F401
        from dglclust.data import load_dataset  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _real_modules_present(), reason="model/data modules not present yet")
def test_real_reproduce_on_digits(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path / "cache"))  # no pretraining cache reuse
    rc, out, err = run(capsys, "reproduce", "--model", "sdcn", "--dataset", "digits", "--runs",
                       "2", "--set", "epochs=4", "--set", "pretrain_epochs=2", "--device", "cpu",
                       "--out", str(tmp_path / "res"))
    assert rc == 0, err
    data = json.loads((tmp_path / "res" / "sdcn_digits.json").read_text())
    assert data["complete"] and [r["seed"] for r in data["rows"]] == [0, 1]
    assert data["config"]["epochs"] == 4 and data["config"]["pretrain_epochs"] == 2
    assert data["paper"] is None or "source" in data["paper"]
    for row in data["rows"]:
        for k in ("acc", "nmi", "f1"):
            assert 0.0 <= row[k] <= 100.0
        assert row["acc"] >= 100.0 * 178 / 1797  # at least the smallest class
        assert row["best_acc_label_selected"] >= row["acc"] - 1e-9 or row["final_epoch"] is None
        assert row["fit_time_s"] > 0
    assert "best epoch (label-selected, not the protocol)" in out
    assert (tmp_path / "res" / "sdcn_digits.csv").is_file()
