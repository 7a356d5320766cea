"""Merge the `dglclust reproduce` JSONs found (recursively) under the given folders into one
markdown table, one line per (model, dataset): final-epoch mean +- population std over all distinct
seeds, the paper's value, the label-selected best epoch (own column), wall time per run and its
pretraining part, peak RSS. A seed found twice counts once (the later file wins).

    python results/summarize.py results/issue3 > results/issue3/RESULTS.md
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

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


def main(dirs):
    if not dirs:
        raise SystemExit("usage: python results/summarize.py DIR [DIR ...]")
    combos, papers = rows_by_combo(dirs)
    head = ["model", "dataset", "runs"] + [f"{m.upper()} (paper)" for m in METRICS]
    head += ["best-epoch ACC (label-selected)", "s/run", "of which pretraining s", "peak RSS MiB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (model, ds), seeds in sorted(combos.items()):
        rows = [seeds[s] for s in sorted(seeds)]
        paper = papers.get((model, ds)) or {}
        cells = [model, ds, f"{len(rows)} ({','.join(str(r['seed']) for r in rows)})"]
        for m in METRICS:
            ref = paper.get(m)
            cells.append(f"{pm([r.get(m) for r in rows])} ({'n/a' if ref is None else ref})")
        cells.append(pm([r.get("best_acc_label_selected") for r in rows]))
        cells.append(pm([r.get("fit_time_s") for r in rows], 1))
        cells.append(pm([r.get("pretrain_time_s") for r in rows], 1))
        rss = [r.get("peak_rss_mb") for r in rows if r.get("peak_rss_mb") is not None]
        cells.append(f"{max(rss):.0f}" if rss else "n/a")
        print("| " + " | ".join(cells) + " |")
    print()
    print("Final epoch, mean ± population std over the listed seeds, percent. The best-epoch column "
          "selects the epoch with the highest ACC using the labels: not the protocol.")


if __name__ == "__main__":
    main(sys.argv[1:])
