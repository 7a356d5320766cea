"""AdaGAE at scale: a synthetic Gaussian mixture (default 100k points, d = 64, 10 components).

Runs the full estimator (graph solves, GCN training, spectral clustering of the final graph) and
reports wall time per phase, the time per optimizer step, peak resident memory (``ru_maxrss`` of
this process: everything it ever held, data included) and the clustering quality.

The exact softmax normalizer costs O(n^2 d) per step (about 5 TFLOP at n = 100k), so the full
schedule uses ``--normalizer sampled`` by default; ``--normalizer exact`` with a few steps measures
the exact path's step time and memory.

    flock /tmp/dglclust-compute.lock python bench/bench_adagae_scale.py --threads 2 \
        --out bench/results_adagae_scale.md
    python bench/bench_adagae_scale.py --normalizer exact --updates 1 --steps 2
    python bench/bench_adagae_scale.py --purity-only --spread 0.35   # how informative a kNN graph is
    python bench/bench_adagae_scale.py --n 10000 --spread 0.5 --diagnose --no-kmeans  # why spectral collapses
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mixture(n, d, c, seed, spread=0.35):
    """``c`` unit-variance Gaussians in ``d`` dimensions, centers ~ N(0, spread^2 I) (overlapping:
    KMeans does not separate them perfectly), scaled to [0, 1]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(c, d)) * spread
    y = rng.integers(0, c, size=n)
    x = centers[y] + rng.normal(size=(n, d))
    x = (x - x.min()) / (x.max() - x.min())  # [0, 1], like the paper's data
    return x.astype(np.float32), y.astype(np.int64)


def knn_purity(x, y, k, sample=2000, seed=0, chunk=250):
    """Fraction of the ``k`` nearest neighbours (Euclidean, self excluded) of ``sample`` random
    points that belong to the point's own component: how much a kNN graph can tell a graph
    method about the mixture (chance = 1 / components)."""
    import numpy as np
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    idx = torch.from_numpy(np.random.default_rng(seed).choice(len(x), size=min(sample, len(x)), replace=False))
    same = 0.0
    for part in idx.split(chunk):
        nn_ = torch.cdist(xt[part], xt).topk(k + 1, largest=False).indices[:, 1:]
        same += (yt[nn_] == yt[part, None]).float().sum().item()
    return same / (idx.numel() * k)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--k0", type=int, default=5)
    ap.add_argument("--k-max", type=int, default=50, help="final neighbours (n/c would be 10000)")
    ap.add_argument("--updates", type=int, default=10)
    ap.add_argument("--steps", type=int, default=50, help="Adam steps per graph update")
    ap.add_argument("--normalizer", choices=("sampled", "exact"), default="sampled")
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spread", type=float, default=0.35, help="std of the component centers")
    ap.add_argument("--no-kmeans", action="store_true", help="skip the KMeans-on-features baseline")
    ap.add_argument("--out", default=None, help="append a markdown row + JSON to this file")
    ap.add_argument("--diagnose", action="store_true",
                    help="also report the connected components of the learned graph, the spectral "
                         "label counts and KMeans on the embedding Z (why a spectral step collapses)")
    ap.add_argument("--purity-only", action="store_true",
                    help="only print the kNN purity of the mixture (see knn_purity) and exit")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    import dglclust
    from dglclust._compat import import_dgl
    from dglclust.cluster import AdaGAE
    from dglclust.metrics import evaluate
    from dglclust.reproduce import cpu_model

    if args.threads:
        torch.set_num_threads(args.threads)
    dgl = import_dgl()
    x, y = mixture(args.n, args.d, args.clusters, args.seed, args.spread)
    purity = round(knn_purity(x, y, args.k_max), 4)
    if args.purity_only:
        print(json.dumps({"n": args.n, "d": args.d, "spread": args.spread, "k": args.k_max,
                          "knn_purity": purity}))
        return purity
    g = dgl.graph((torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)),
                  num_nodes=args.n)  # AdaGAE builds its own graph from the features
    g.ndata["feat"] = torch.from_numpy(x)
    g.ndata["label"] = torch.from_numpy(y)
    rss_data = peak_rss_mb()
    model = AdaGAE(n_clusters=args.clusters, random_state=args.seed, verbose=True,
                   k0=args.k0, k_max=args.k_max, n_updates=args.updates,
                   steps_per_update=args.steps, normalizer=args.normalizer,
                   n_samples=args.samples, lr=args.lr, lam=args.lam, history_metrics=False)
    t0 = time.perf_counter()
    model.fit(g)
    wall = time.perf_counter() - t0
    m = evaluate(y, model.labels_)
    km = None
    if not args.no_kmeans:
        from sklearn.cluster import KMeans

        km = evaluate(y, KMeans(args.clusters, n_init=3, random_state=args.seed).fit_predict(x))
        km = {"acc": round(100 * km["acc"], 2), "nmi": round(100 * km["nmi"], 2)}
    steps = model.n_iter_
    rec = {
        "n": args.n, "d": args.d, "clusters": args.clusters, "spread": args.spread, "knn_purity": purity, "k0": args.k0, "k_max": args.k_max,
        "updates": args.updates, "steps_per_update": args.steps, "normalizer": args.normalizer,
        "samples": args.samples if args.normalizer == "sampled" else None,
        "threads": torch.get_num_threads(), "fit_s": round(model.fit_time_, 1),
        "graph_s": round(model.graph_time_, 1), "wall_s": round(wall, 1), "optimizer_steps": steps,
        "peak_rss_mb": round(peak_rss_mb(), 1), "rss_after_data_mb": round(rss_data, 1),
        "acc": round(100 * m["acc"], 2), "nmi": round(100 * m["nmi"], 2), "kmeans_features": km,
        "machine": f"{cpu_model() or platform.machine()}, {os.cpu_count()} cores, "
                   f"loadavg {os.getloadavg()[0]:.1f}",
        "ops_backend": dglclust.ops.backend(), "torch": torch.__version__,
    }
    rec.update({k: round(v, 3) for k, v in model.timings_.items()})
    if args.diagnose:
        from scipy.sparse.csgraph import connected_components
        from sklearn.cluster import KMeans

        n_comp, comp = connected_components(model.affinity_matrix_, directed=False)
        zk = evaluate(y, KMeans(args.clusters, n_init=3, random_state=args.seed).fit_predict(model.embedding_))
        rec["diagnosis"] = {
            "graph_components": int(n_comp),
            "largest_component_sizes": sorted(np.bincount(comp).tolist())[-12:],
            "spectral_label_counts": np.bincount(model.labels_, minlength=args.clusters).tolist(),
            "kmeans_on_z": {"acc": round(100 * zk["acc"], 2), "nmi": round(100 * zk["nmi"], 2)},
        }
    print(json.dumps(rec, indent=1))
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(f"\n```json\n{json.dumps(rec)}\n```\n")
    return rec


if __name__ == "__main__":
    main()
