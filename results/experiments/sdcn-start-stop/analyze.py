"""Tables of the start/stop study from the per-run JSON (ae_restarts/, runs/).

    python results/experiments/sdcn-start-stop/analyze.py > results/experiments/sdcn-start-stop/README.tables.md

Stop rule, replayed exactly from each history (the row at epoch e holds the predictions the rule
would return when it stops at e; `changed` is label-free, `acc` is read only for the table).
"""
import glob
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from dglclust.train import label_change_stop

here = Path(__file__).parent


def stop_epoch(h, tol, patience, min_epochs=0):
    return h[label_change_stop(h, tol, patience, min_epochs)]


print("## Stop rule (SDCN, tuning seeds 100-109, final vs stopped vs label-selected best, ACC %)\n")
rules = [(0.001, 1), (0.001, 5), (0.005, 5), (0.01, 5), (0.01, 10), (0.02, 10)]
print("| dataset | runs | final | " + " | ".join(f"stop tol={t} patience={p}" for t, p in rules)
      + " | best (label-selected) |")
print("|---" * (4 + len(rules)) + "|")
for ds in ("acm", "dblp-sdcn", "citeseer"):
    runs = [json.load(open(f)) for f in sorted(glob.glob(str(here / f"runs/sdcn-{ds}-s*.json")))]
    if not runs:
        continue
    fin = [r["history"][-1]["acc"] * 100 for r in runs]
    best = [max(x["acc"] for x in r["history"]) * 100 for r in runs]
    cells = []
    for t, p in rules:
        st = [stop_epoch(r["history"], t, p) for r in runs]
        acc = [s["acc"] * 100 for s in st]
        cells.append(f"{np.mean(acc):.2f} +- {np.std(acc):.2f} (epoch {np.mean([s['epoch'] for s in st]):.0f})")
    print(f"| {ds} | {len(runs)} | {np.mean(fin):.2f} +- {np.std(fin):.2f} | " + " | ".join(cells)
          + f" | {np.mean(best):.2f} +- {np.std(best):.2f} |")

print("\n## Start criteria vs AE+KMeans ACC (each pretraining restart is one sample; Spearman rho)\n")
crit = ["loss", "silhouette", "calinski_harabasz", "davies_bouldin", "kmeans_stability_ari"]
print("| dataset | precision | samples | " + " | ".join(crit) + " |")
print("|---" * (3 + len(crit)) + "|")
sel_rows = []
for f in sorted({(Path(p).name.rsplit("-s", 1)[0]) for p in glob.glob(str(here / "ae_restarts/*.json"))}):
    recs = [json.load(open(p)) for p in sorted(glob.glob(str(here / f"ae_restarts/{f}-s*.json")))]
    rows = [r for rec in recs for r in rec["restarts"]]
    acc = [r["metrics"]["acc"] for r in rows]
    rho = [spearmanr([r[c] for r in rows], acc)[0] for c in crit]
    ds, prec = f.rsplit("-", 1)
    print(f"| {ds} | {prec} | {len(rows)} | " + " | ".join(f"{v:+.2f}" for v in rho) + " |")
    # selection among restarts per seed: restart 0 alone, best of 3 by loss, best of 5 by each score
    hib = {"loss": False, "silhouette": True, "calinski_harabasz": True, "davies_bouldin": False,
           "kmeans_stability_ari": True}
    res = {"restart 0 (restarts=1)": [rec["restarts"][0]["metrics"]["acc"] * 100 for rec in recs]}
    for R in (3, 5):
        for c in crit:
            picks = []
            for rec in recs:
                rs = rec["restarts"][:R]
                v = [r[c] for r in rs]
                i = int(np.argmax(v) if hib[c] else np.argmin(v))
                picks.append(rs[i]["metrics"]["acc"] * 100)
            res[f"best of {R} by {c}"] = picks
    sel_rows.append((ds, prec, len(recs), res))

print("\n## AE+KMeans ACC by start rule (seeds as listed, mean +- std over seeds)\n")
for ds, prec, n, res in sel_rows:
    print(f"\n{ds}, {prec}, {n} seeds:\n")
    print("| start rule | ACC |\n|---|---|")
    for k, v in res.items():
        print(f"| {k} | {np.mean(v):.2f} +- {np.std(v):.2f} |")
