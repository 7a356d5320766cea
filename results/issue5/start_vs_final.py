"""Per seed: ACC of KMeans on the pretrained AE (issue 3's AE+KMeans run, the same cached AE that
SDCN and AGCN start from) against the final ACC of SDCN, AGCN-S, AGCN-H and DFCN, and the
correlation over seeds. Usage: python results/issue5/start_vs_final.py [DATASET]"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load(model, ds, base):
    rows = {}
    for path in sorted((ROOT / base).rglob(f"{model}_{ds}.json")):
        for row in json.loads(path.read_text())["rows"]:
            rows[row["seed"]] = row["acc"]
    return rows


def main(ds="acm"):
    cols = {"ae+kmeans (start)": load("ae", ds, "issue3"), "sdcn": load("sdcn", ds, "issue3")}
    for m in ("agcn-s", "agcn-h", "dfcn"):
        cols[m] = load(m, ds, "issue5")
    cols = {name: c for name, c in cols.items() if c}  # models not run on this dataset are left out
    if "ae+kmeans (start)" not in cols:
        raise SystemExit(f"no AE+KMeans runs on {ds} under results/issue3")
    start = cols["ae+kmeans (start)"]
    seeds = sorted(start)
    print(f"{ds}: final-epoch ACC per seed (percent; - = not run)")
    print("| seed | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for s in seeds:
        print(f"| {s} | " + " | ".join(f"{c[s]:.1f}" if s in c else "-" for c in cols.values()) + " |")
    for m in list(cols)[1:]:
        common = [s for s in seeds if s in cols[m]]
        if len(common) < 3:
            continue
        r = np.corrcoef([start[s] for s in common], [cols[m][s] for s in common])[0, 1]
        print(f"corr(start, {m}) = {r:.2f} over {len(common)} seeds")


if __name__ == "__main__":
    main(*sys.argv[1:])
