"""Merge the per-run rows written by `dglclust reproduce` (any subfolder of results/issue3) and print
a markdown table: final-epoch mean +- std (population std, percent) beside the paper's numbers."""
import glob
import json
import os
from collections import defaultdict

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rows = defaultdict(dict)
paper = {}
for path in glob.glob(os.path.join(here, "**", "*.json"), recursive=True):
    d = json.load(open(path))
    if "rows" not in d:
        continue
    for r in d["rows"]:
        rows[(d["model"], d["dataset"])][r["seed"]] = r
    paper[(d["model"], d["dataset"])] = d.get("paper") or {}

print("| model | dataset | runs (seeds) | ACC | NMI | ARI | F1 | paper ACC/NMI/ARI/F1 | best epoch ACC (label-selected) | s/run |")
print("|---|---|---|---|---|---|---|---|---|---|")
order = {"ae": 0, "dec": 1, "idec": 2, "sdcn": 3}
for (m, ds) in sorted(rows, key=lambda k: (k[1], order.get(k[0], 9))):
    rs = [rows[(m, ds)][s] for s in sorted(rows[(m, ds)])]
    cell = lambda k: f"{np.mean([r[k] for r in rs]):.2f} +- {np.std([r[k] for r in rs]):.2f}"
    p = paper[(m, ds)]
    ptxt = "/".join(f"{p[k]:.2f}" if k in p else "-" for k in ("acc", "nmi", "ari", "f1"))
    best = [r["best_acc_label_selected"] for r in rs if r.get("best_acc_label_selected") is not None]
    btxt = f"{np.mean(best):.2f} +- {np.std(best):.2f}" if best else "-"
    t = np.mean([r["fit_time_s"] for r in rs])
    seeds = ",".join(str(r["seed"]) for r in rs)
    print(f"| {m} | {ds} | {len(rs)} ({seeds}) | {cell('acc')} | {cell('nmi')} | {cell('ari')} | {cell('f1')} | {ptxt} | {btxt} | {t:.0f} |")
