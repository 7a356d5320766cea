"""Per seed: ACC of KMeans on the pretrained AE (issue 3's AE+KMeans run, the same cached AE that
SDCN and AGCN start from) against the final ACC of SDCN, AGCN-S, AGCN-H and DFCN, and the
correlation over seeds. Usage: python results/scripts/agcn_dfcn_start_vs_final.py [DATASET]"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from summarize import rows_by_combo  # noqa: E402  (the one reader of the reproduce JSONs)


def acc_by_seed(combos, model, ds):
    return {seed: row["acc"] for seed, row in combos.get((model, ds), {}).items()}


def main(ds="acm"):
    issue3, _ = rows_by_combo([ROOT / "ae", ROOT / "sdcn"])
    issue5, _ = rows_by_combo([ROOT / m for m in ("agcn-h", "agcn-s", "dfcn")])
    cols = {"ae+kmeans (start)": acc_by_seed(issue3, "ae", ds), "sdcn": acc_by_seed(issue3, "sdcn", ds)}
    for m in ("agcn-s", "agcn-h", "dfcn"):
        cols[m] = acc_by_seed(issue5, m, ds)
    cols = {name: c for name, c in cols.items() if c}  # models not run on this dataset are left out
    if "ae+kmeans (start)" not in cols:
        raise SystemExit(f"no AE+KMeans runs on {ds} under results/ae")
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
