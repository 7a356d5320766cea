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
    seeds = sorted(set.intersection(*(set(c) for c in cols.values())))
    if not seeds:
        raise SystemExit(f"no seed has all of {list(cols)} on {ds}")
    print(f"{ds}: final-epoch ACC per seed (percent)")
    print("| seed | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for s in seeds:
        print(f"| {s} | " + " | ".join(f"{c[s]:.1f}" for c in cols.values()) + " |")
    start = np.array([cols["ae+kmeans (start)"][s] for s in seeds])
    for m in list(cols)[1:]:
        v = np.array([cols[m][s] for s in seeds])
        print(f"corr(start, {m}) = {np.corrcoef(start, v)[0, 1]:.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
