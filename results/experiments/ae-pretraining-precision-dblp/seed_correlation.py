"""Per-seed ACC of CaEGCN (results/issue6) against our SDCN and AE+KMeans from the same pretrained AE
(results/issue3): Pearson r and mean |difference| over the shared seeds. Reads the reproduce JSONs
with results/summarize.py's collector (a repeated seed counts once, the later file wins).

    python results/experiments/issue6_ae_precision/seed_correlation.py
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # results/, for summarize.py
from summarize import rows_by_combo  # noqa: E402

issue6, _ = rows_by_combo(["results/issue6"])
issue3, _ = rows_by_combo(["results/issue3"])


def accs(combos, model, dataset):
    return {seed: row["acc"] for seed, row in combos.get((model, dataset), {}).items()}


for d in ("acm", "dblp", "citeseer"):
    c, s, a = accs(issue6, "caegcn", d), accs(issue3, "sdcn", d), accs(issue3, "ae", d)
    ks, ka = sorted(set(c) & set(s)), sorted(set(c) & set(a))
    r_s = np.corrcoef([c[k] for k in ks], [s[k] for k in ks])[0, 1]
    r_a = np.corrcoef([c[k] for k in ka], [a[k] for k in ka])[0, 1]
    diff = np.mean([abs(c[k] - s[k]) for k in ks])
    print(f"{d}: {len(ks)} seeds, r(CaEGCN, SDCN) = {r_s:.2f}, mean |diff| = {diff:.1f}, r(CaEGCN, AE+KMeans) = {r_a:.2f}")
