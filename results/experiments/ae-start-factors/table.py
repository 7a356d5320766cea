"""The factor table: AE+KMeans ACC on DBLP (SDCN order), seeds 0-9, per setting.

    python results/experiments/ae-start-factors/table.py
"""
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SETTINGS = [("fp32-r1", "fp32, one AE (the official recipe's settings)"),
            ("bf16-r1", "bf16 autocast, one AE"),
            ("fp32-r3", "fp32, best of 3 AEs by reconstruction loss"),
            ("default", "bf16, best of 3 by loss (our default; results/ae/dblp)")]


def rows(folder):
    out = {}
    for f in sorted(folder.rglob("*.json")):
        res = json.loads(f.read_text())
        if isinstance(res, dict) and res.get("dataset") == "dblp":
            for r in res.get("rows", []):
                out[r["seed"]] = r
    return [out[s] for s in sorted(out)]


print("| setting | seeds | ACC | NMI | per seed ACC |")
print("|---|---|---|---|---|")
for key, label in SETTINGS:
    rs = rows(HERE.parents[1] / "ae" / "dblp" if key == "default" else HERE / f"dblp-{key}")
    if not rs:
        print(f"| {label} | 0 | not measured | | |")
        continue
    acc = np.array([r["acc"] for r in rs]); nmi = np.array([r["nmi"] for r in rs])
    print(f"| {label} | {len(rs)} | {acc.mean():.2f} ± {acc.std():.2f} | {nmi.mean():.2f} ± {nmi.std():.2f} | "
          f"{', '.join(f'{a:.1f}' for a in acc)} |")
