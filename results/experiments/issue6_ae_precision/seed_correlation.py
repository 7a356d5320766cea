"""Per-seed ACC of CaEGCN (results/issue6) against our SDCN and AE+KMeans from the same pretrained AE
(results/issue3): Pearson r and mean |difference| over the shared seeds.

    python results/experiments/issue6_ae_precision/seed_correlation.py
"""
import csv
import glob

import numpy as np


def accs(model, dataset, root):
    out = {}
    for f in glob.glob(f"{root}/**/{model}_{dataset}.csv", recursive=True):
        for row in csv.DictReader(open(f)):
            out[int(row["seed"])] = float(row["acc"])
    return out


for d in ("acm", "dblp", "citeseer"):
    c, s, a = accs("caegcn", d, "results/issue6"), accs("sdcn", d, "results/issue3"), accs("ae", d, "results/issue3")
    ks, ka = sorted(set(c) & set(s)), sorted(set(c) & set(a))
    r_s = np.corrcoef([c[k] for k in ks], [s[k] for k in ks])[0, 1]
    r_a = np.corrcoef([c[k] for k in ka], [a[k] for k in ka])[0, 1]
    diff = np.mean([abs(c[k] - s[k]) for k in ks])
    print(f"{d}: {len(ks)} seeds, r(CaEGCN, SDCN) = {r_s:.2f}, mean |diff| = {diff:.1f}, r(CaEGCN, AE+KMeans) = {r_a:.2f}")
