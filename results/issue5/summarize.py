"""Merge the reproduce JSONs under results/issue5 (and optional extra folders) into one markdown
table per (model, dataset): final-epoch mean +- population std over all distinct seeds, the paper's
value, the label-selected best epoch (own column), wall time per run and its pretraining part.

    python results/issue5/summarize.py [extra_dir ...] > results/issue5/RESULTS.md
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METRICS = ("acc", "nmi", "ari", "f1")


def rows_by_combo(dirs):
    combos, papers = {}, {}
    for d in dirs:
        for path in sorted(Path(d).rglob("*.json")):
            try:
                res = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(res, dict) or "rows" not in res:
                continue
            key = (res["model"], res["dataset"])
            papers[key] = res.get("paper")
            seen = combos.setdefault(key, {})
            for row in res["rows"]:
                seen[row["seed"]] = row  # a later file wins for a repeated seed
    return combos, papers


def pm(vals, digits=2):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    a = np.asarray(vals, dtype=float)
    return f"{a.mean():.{digits}f} ± {a.std():.{digits}f}"


def main(extra):
    combos, papers = rows_by_combo([HERE, *extra])
    head = ["model", "dataset", "runs"] + [f"{m.upper()} (paper)" for m in METRICS]
    head += ["best-epoch ACC (label-selected)", "s/run", "of which pretraining s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (model, ds), seeds in sorted(combos.items()):
        rows = [seeds[s] for s in sorted(seeds)]
        paper = papers.get((model, ds)) or {}
        cells = [model, ds, str(len(rows))]
        for m in METRICS:
            ref = paper.get(m)
            cells.append(f"{pm([r.get(m) for r in rows])} ({'n/a' if ref is None else ref})")
        cells.append(pm([r.get("best_acc_label_selected") for r in rows]))
        cells.append(pm([r.get("fit_time_s") for r in rows], 1))
        cells.append(pm([r.get("pretrain_time_s") for r in rows], 1))
        print("| " + " | ".join(cells) + " |")
    print()
    print("Final epoch, mean ± population std over seeds 0..runs-1, percent. The best-epoch column "
          "selects the epoch with the highest ACC using the labels: not the protocol.")


if __name__ == "__main__":
    main(sys.argv[1:])
