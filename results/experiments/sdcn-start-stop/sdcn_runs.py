"""SDCN-family fits from one pretrained AE (``pretrain_restarts=1``: the AE of restart 0 in
ae_restarts.py), full 200 epochs with the per-epoch history, for the start-correlation and
stop-rule tables (the history's metrics are read only to build those tables).

    python results/experiments/sdcn-start-stop/sdcn_runs.py MODEL DATASET SEED [SEED ...]

Writes runs/MODEL-DATASET-sSEED.json.
"""
import json
import sys
import time
from pathlib import Path

import torch

from dglclust.cluster import get_estimator
from dglclust.data import load_dataset
from dglclust.utils import atomic_write

model, ds, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
out_dir = Path(__file__).parent / "runs"
out_dir.mkdir(exist_ok=True)
g = load_dataset(ds)[0]
for seed in seeds:
    path = out_dir / f"{model}-{ds}-s{seed}.json"
    if path.exists():
        continue
    est = get_estimator(model).from_config(ds, random_state=seed, verbose=False, pretrain_restarts=1)
    t0 = time.perf_counter()
    est.fit(g)
    keep = ("epoch", "loss", "changed", "acc", "nmi", "ari", "f1")
    rec = {"model": model, "dataset": ds, "seed": seed, "precision": est.precision_,
           "params": {k: v for k, v in est.params_.items() if not isinstance(v, dict)},
           "seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(),
           "history": [{k: r[k] for k in keep if k in r} for r in est.history_],
           "command": " ".join(["python"] + sys.argv)}
    with atomic_write(path, "w") as fh:
        json.dump(rec, fh)
    h = rec["history"]
    print(model, ds, seed, f"{rec['seconds']:.0f}s final {h[-1]['acc']*100:.2f} "
          f"best {max(r['acc'] for r in h)*100:.2f}", flush=True)
