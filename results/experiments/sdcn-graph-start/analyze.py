"""Tables of the graph-start probe (runs/*.json from probe.py): start ACC of KMeans on z and on
h hops of propagation of z, by normalization; tuning seeds only.

    python results/experiments/sdcn-graph-start/analyze.py > results/experiments/sdcn-graph-start/tables.md
"""
import json
from pathlib import Path

import numpy as np

runs = [json.loads(p.read_text()) for p in sorted((Path(__file__).parent / "runs").glob("*.json"))]
cols = [("sym0", "z (paper start)")] + [(f"{n}{h}", f"{label}, {h} hop{'s' if h > 1 else ''}")
                                         for n, label in (("sym", "sym"), ("symc", "centred sym"), ("row", "row"))
                                         for h in (1, 2, 3)] + [("xprop2", "raw features, sym, 2 hops (kmeans-prop)")]
print("# KMeans start ACC (%) on the pretrained AE embedding z vs on propagated z (tuning seeds)\n")
print("One AE per seed (the estimators' restart 0, bf16), KMeans n_init=20. sym: D^-1/2 (A+I) D^-1/2;")
print("centred sym: the same on z - mean(z); row: D^-1 (A+I). Labels only score.\n")
print("| dataset | seeds | " + " | ".join(c[1] for c in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for ds in ("acm", "dblp", "citeseer"):
    rs = [r for r in runs if r["dataset"] == ds and "row2" in r]
    if not rs:
        continue
    cells = []
    for key, _ in cols:
        v = np.array([r[key] for r in rs if key in r])
        cells.append(f"{v.mean():.1f} ± {v.std():.1f}" if v.size else "-")
    print(f"| {ds} | {','.join(str(r['seed']) for r in rs)} | " + " | ".join(cells) + " |")
