"""How much of the feature signal of a planted partition the SDCN-style AE start keeps.

KMeans (10 clusters) on the raw features, on their top-10 / top-20 principal components, and on the
10-d embedding of the pretrained AE (``AEKMeans``: the start of AE+KMeans, DEC, IDEC, SDCN, AGCN)
with the dataset's config, in fp32, and with the papers' pretraining recipe (30 epochs, batch 256).
Labels are read by the metric only. Writes a markdown table to stdout (and ``--out``, atomically).

    python bench/sbm_feature_signal.py --dataset sbm-100k --out bench/results_sbm_feature_signal.md
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from dglclust.cluster import AEKMeans  # noqa: E402
from dglclust.data import load_dataset  # noqa: E402
from dglclust.metrics import evaluate  # noqa: E402

VARIANTS = [("the dataset's config (bf16 autocast)", {}),
            ("the same in fp32", {"precision": "fp32"}),
            ("the papers' recipe: 30 epochs, batch 256", {"pretrain_epochs": 30, "pretrain_batch_size": 256})]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="sbm-100k")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()
    g = load_dataset(args.dataset)[0]
    x, y = g.ndata["feat"].numpy(), g.ndata["label"].numpy()
    k = int(y.max()) + 1
    rows = []

    def add(what, labels, t0):
        m = evaluate(y, labels)
        rows.append(f"| {what} | {100 * m['acc']:.2f} | {100 * m['nmi']:.2f} | {time.time() - t0:.0f} |")
        print(rows[-1], flush=True)

    t0 = time.time()
    add("raw features (128-d)", KMeans(k, n_init=5, random_state=args.seed).fit_predict(x), t0)
    for dims in (10, 20):
        t0 = time.time()
        z = PCA(dims, random_state=args.seed).fit_transform(x)
        add(f"top {dims} principal components", KMeans(k, n_init=5, random_state=args.seed).fit_predict(z), t0)
    for what, kw in VARIANTS:
        t0 = time.time()
        est = AEKMeans.from_config(args.dataset, n_clusters=k, random_state=args.seed, verbose=False, **kw)
        add(f"AE embedding (10-d), {what}", est.fit_predict(g), t0)
    text = (f"KMeans on {args.dataset} (seed {args.seed}): `python bench/sbm_feature_signal.py "
            f"--dataset {args.dataset}`\n\n| input of KMeans | ACC | NMI | seconds (a cached AE pretraining is not rerun) |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
