"""Probe (tuning seeds only): KMeans start on the AE embedding z vs on graph-smoothed z (A_hat^h z).

    python results/experiments/sdcn-graph-start/probe.py DATASET SEED [SEED ...]
Labels are read only to score. One pretraining (the estimators' restart 0) per seed.
"""
import json, sys, time
from pathlib import Path
import numpy as np, torch
from dglclust import configs
from dglclust.cluster import AEKMeans
from dglclust.cluster.baselines import propagate_features
from dglclust.data import load_dataset
from dglclust.metrics import evaluate
from dglclust.train import kmeans_init, pretrain_autoencoder
from dglclust.utils import atomic_write

ds, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
out = Path(__file__).parent / "runs"; out.mkdir(exist_ok=True)
g = load_dataset(ds)[0]
x = g.ndata["feat"].float(); y = g.ndata["label"].numpy(); k = int(y.max()) + 1
params = configs.load_config("ae", ds)
est = AEKMeans(n_clusters=k, verbose=False); est.n_clusters_ = k
for seed in seeds:
    path = out / f"{ds}-s{seed}.json"
    if path.exists(): continue
    t0 = time.perf_counter()
    module = est._make_module(x.shape[1], params)
    pretrain_autoencoder(module.ae, x, epochs=int(params["pretrain_epochs"]),
                         batch_size=int(params["pretrain_batch_size"]), lr=float(params["pretrain_lr"]),
                         seed=seed, restarts=1, cache=False, tag="ae", precision="bf16")
    with torch.no_grad():
        z = module.ae.encode(x)[-1].float()
    rec = {"dataset": ds, "seed": seed}
    for norm in ("sym", "row", "symc"):
        for h in (0, 1, 2, 3):
            if norm != "sym" and h == 0:
                continue
            zc = z - z.mean(0) if norm == "symc" else z
            zh = propagate_features(g, zc, h, norm=norm[:3]) if h else z
            _, lab, _ = kmeans_init(zh, k, 20, seed)
            rec[f"{norm}{h}"] = evaluate(y, lab)["acc"] * 100
    for h in (1, 2):
        xh = propagate_features(g, x, h)
        _, lab, _ = kmeans_init(xh, k, 10, seed)
        rec[f"xprop{h}"] = evaluate(y, lab)["acc"] * 100
    rec["seconds"] = time.perf_counter() - t0
    with atomic_write(path, "w") as fh: json.dump(rec, fh)
    print(json.dumps({k2: round(v, 1) if isinstance(v, float) else v for k2, v in rec.items()}), flush=True)
