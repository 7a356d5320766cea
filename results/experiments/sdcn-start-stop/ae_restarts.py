"""AE pretraining restarts: label-free scores of each restart's KMeans start and its AE+KMeans
metrics (the metrics are for the table only; nothing is chosen by them here).

    python results/experiments/sdcn-start-stop/ae_restarts.py DATASET PRECISION SEED [SEED ...]

For each seed, 5 pretraining restarts exactly as the estimators run them (restart r of seed s
starts from generator seed 1000 s + r, so restart 0 is the AE of ``pretrain_restarts=1``, and
restarts 0-2 are the AEs among which ``pretrain_restarts=3`` chooses). Writes
ae_restarts/DATASET-PRECISION-sSEED.json.
"""
import json
import os
import sys
import time
from pathlib import Path

import torch

from dglclust import configs
from dglclust.cluster import AEKMeans
from dglclust.data import load_dataset
from dglclust.metrics import evaluate
from dglclust.train import kmeans_init, pretrain_autoencoder
from dglclust.train.select import partition_scores
from dglclust.utils import atomic_write

RESTARTS = 5
ds, precision, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
out_dir = Path(__file__).parent / "ae_restarts"
out_dir.mkdir(exist_ok=True)
g = load_dataset(ds)[0]
x = g.ndata["feat"].float()
y = g.ndata["label"].numpy()
k = int(y.max()) + 1
params = configs.load_config("ae", ds)
est = AEKMeans(n_clusters=k, verbose=False)
est.n_clusters_ = k
for seed in seeds:
    path = out_dir / f"{ds}-{precision}-s{seed}.json"
    if path.exists():
        continue
    module = est._make_module(x.shape[1], params)

    def select(m):
        z = m.encode(x)[-1].float()
        _, labels, inertia = kmeans_init(z, k, int(params["n_init"]), seed)
        # a second KMeans (another seed) for the stability score: ARI between the two partitions
        _, labels2, _ = kmeans_init(z, k, int(params["n_init"]), seed + 7919)
        from sklearn.metrics import adjusted_rand_score

        row = partition_scores(z, labels, seed)
        row["kmeans_stability_ari"] = float(adjusted_rand_score(labels, labels2))
        row["inertia"] = inertia
        row["metrics"] = evaluate(y, labels)  # for the table only
        return row

    from dglclust.train.precision import autocast

    t0 = time.perf_counter()

    def select_ac(m):
        with autocast(torch.device("cpu"), precision):
            return select(m)

    info = pretrain_autoencoder(module.ae, x, epochs=int(params["pretrain_epochs"]),
                                batch_size=int(params["pretrain_batch_size"]),
                                lr=float(params["pretrain_lr"]), seed=seed, restarts=RESTARTS,
                                cache=False, tag="ae", precision=precision, select=select_ac,
                                select_by="loss")
    rec = {"dataset": ds, "precision": precision, "seed": seed, "restarts": info["restarts"],
           "seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(),
           "command": " ".join(["python"] + sys.argv)}
    with atomic_write(path, "w") as fh:
        json.dump(rec, fh, indent=1)
    print(ds, precision, seed, f"{rec['seconds']:.0f}s",
          [round(r["metrics"]["acc"] * 100, 1) for r in info["restarts"]], flush=True)
