"""One seed of one GFDC transfer pair: KMeans on the target pixels, GFDC guided by the source, and
the same network without the source (ablation). Writes one JSON record per method (atomically) to
``OUT/<source>_to_<target>/<method>_seed<seed>.json``.

    OMP_NUM_THREADS=1 python results/gfdc/run_pair.py SOURCE TARGET SEED [--out DIR]
        [--methods kmeans,gfdc,unguided] [--set key=value ...]

CPU-sized settings (see README "GFDC" and run.sh): width 0.25 (VGG11 channels 16..128), 15
epochs at lr 1e-3 (x0.1 after epoch 10), 200 warm-up steps on the source, rotations within +-30
degrees; everything else is the paper's (batches of 240 + 60, tau = 0.7, lambda = 1 / 0.4, Adam).
Full target sets (USPS 9298, MNIST 10k); sources are the full labeled sets.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import dglclust
from dglclust.cli import parse_overrides
from dglclust.cluster import GFDC
from dglclust.data import load_images
from dglclust.metrics import davies_bouldin, evaluate
from dglclust.utils import atomic_write

CPU = {"width": 0.25, "epochs": 15, "lr": 1.0e-3, "lr_step": 10, "warmup_steps": 200,
       "max_rotation": 30, "eval_every": 5}


def kmeans_pixels(x, y, seed):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    flat = x.reshape(x.shape[0], -1).numpy().astype(np.float64)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="openmp"):
        pred = KMeans(n_clusters=10, n_init=10, random_state=seed).fit_predict(flat)
    secs = time.perf_counter() - t0
    return pred, davies_bouldin(flat, pred), secs, {}


def gfdc(x, y, seed, source, guided, settings):
    est = GFDC(10, source=source if guided else None, guided=guided, random_state=seed,
               verbose=True, **settings).fit(x, y)
    extra = {"epoch_time_s": est.epoch_time_, "warmup_time_s": getattr(est, "warmup_time_", 0.0),
             "history": est.history_, "params": {k: v for k, v in est.params_.items()}}
    return est.labels_, est.dbi_, est.fit_time_, extra


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("seed", type=int)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "runs"))
    ap.add_argument("--methods", default="kmeans,gfdc,unguided")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    settings = dict(CPU)
    settings.update(parse_overrides(args.overrides))
    x, y = load_images(args.target)
    folder = Path(args.out) / f"{args.source}_to_{args.target}"
    for method in args.methods.split(","):
        print(f"== {args.source} -> {args.target} seed {args.seed}: {method}", file=sys.stderr,
              flush=True)
        if method == "kmeans":
            pred, dbi, secs, extra = kmeans_pixels(x, y, args.seed)
        elif method in ("gfdc", "unguided"):
            pred, dbi, secs, extra = gfdc(x, y, args.seed, args.source, method == "gfdc", settings)
        else:
            raise SystemExit(f"unknown method {method!r}")
        rec = {"source": args.source, "target": args.target, "seed": args.seed, "method": method,
               "n_target": int(x.shape[0]), **evaluate(y, pred), "dbi": float(dbi),
               "fit_time_s": float(secs), "settings": settings if method != "kmeans" else None,
               "torch_threads": torch.get_num_threads(), "machine": platform.node(),
               "dglclust": getattr(dglclust, "__version__", None), **extra}
        with atomic_write(folder / f"{method}_seed{args.seed}.json") as fh:
            json.dump(rec, fh, indent=1, default=str)
            fh.write("\n")
        print(f"   ACC {rec['acc']:.4f} NMI {rec['nmi']:.4f} ARI {rec['ari']:.4f} "
              f"DBI {rec['dbi']:.4f} ({secs:.1f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
