"""Probe (tuning seeds only): which self-training target keeps the graph start?

    python results/experiments/sdcn-target/probe_start.py DATASET SEED [SEED ...]

SDCN with ``start="graph"`` and no training step (pretrained AE from the cache, graph-start centres);
scores argmax of candidate targets at the start: Q (the paper's), and Q smoothed over the graph
(``h`` rounds of row- or sym-normalized propagation with self-loops). Labels only score.
"""
import json
import sys
from pathlib import Path

import torch

import dglclust.cluster.estimators as E
from dglclust.cluster import SDCN
from dglclust.data import load_dataset
from dglclust.metrics import evaluate
from dglclust.ops import propagate_features, target_distribution

ds, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
out_dir = Path(__file__).parent / "runs"
out_dir.mkdir(exist_ok=True)


class NoTraining(E.SelfTrainer):
    """The trainer with no step: the model as the start leaves it."""

    def run(self):
        with torch.no_grad():
            return self.forward()


E.SelfTrainer = NoTraining
g = load_dataset(ds)[0]
y = g.ndata["label"].numpy()
for seed in seeds:
    est = SDCN.from_config(ds, random_state=seed, verbose=False, start="graph")
    est.fit(g)
    with torch.no_grad():
        o = est.module_(g, g.ndata["feat"].float())
    q = o["q"].float()
    rec = {"dataset": ds, "seed": seed, "start": evaluate(y, est.start_labels_)["acc"] * 100}
    acc = lambda t: evaluate(y, t.argmax(1).numpy())["acc"] * 100  # noqa: E731
    rec["q"] = acc(q)
    rec["p"] = acc(target_distribution(q))
    for norm in ("row", "sym"):
        for h in (1, 2, 3):
            rec[f"q_{norm}{h}"] = acc(propagate_features(g, q, h, norm=norm))
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in rec.items()}),
          flush=True)
