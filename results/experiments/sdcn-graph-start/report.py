"""One table for the SDCN family: the paper start (KMeans on z) vs the graph start (start=graph),
and the paper's target (P from Q) vs the graph target (target=graph, P from the 2-hop average of Q),
seeds 0-9, final epoch, with the start's own ACC, the label-selected best epoch (its own column),
the paper's number and the official code's where measured.

    python results/experiments/sdcn-graph-start/report.py
"""
import json
import sys
from pathlib import Path

import numpy as np

from dglclust.configs import paper_numbers

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from summarize import run_setting  # noqa: E402  (results/summarize.py: one reading of a run's setting)

OFFICIAL = {("sdcn", "acm"): "87.24 ± 3.34 (5 seeds)", ("agcn-s", "acm"): "87.57 ± 0.14 (5 seeds)",
            # official_sdcn_seed1.jsonl, official_sdcn_seeds2-4.jsonl, official_sdcn_dblp4_cite3.jsonl,
            # official_sdcn_cite4.jsonl and seed 0 from an earlier machine (docs/models/sdcn-dec-idec-ae.md)
            ("sdcn", "dblp"): "50.71 ± 7.63 (5 seeds)", ("sdcn", "citeseer"): "53.49 ± 4.15 (5 seeds)"}


def rows(model, ds, start, target="q"):
    seen = {}
    folders = [ROOT / model / ds] + ([ROOT / model / "dblp-magnn"] if ds == "dblp" and start == "paper" else [])
    for folder in folders:
        for f in sorted(folder.rglob("*.json")):
            res = json.loads(f.read_text())
            if not isinstance(res, dict) or "rows" not in res:
                continue
            if run_setting(res, "start") != start or (run_setting(res, "target") or "q") != target:
                continue
            for r in res["rows"]:
                seen.setdefault(r["seed"], r)  # SDCN order (dblp) first, then the MAGNN order
    return [seen[s] for s in sorted(seen)]


def pm(v):
    v = [x for x in v if x is not None]
    return f"{np.mean(v):.2f} ± {np.std(v):.2f}" if v else "-"


print("| model | dataset | start | target | seeds | start ACC (KMeans) | final ACC | final NMI | best epoch (label-selected) | paper | official code |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for model in ("sdcn", "agcn-s", "agcn-h", "caegcn"):
    for ds in ("acm", "dblp", "citeseer", "usps"):
        for start, target in (("paper", "q"), ("graph", "q"), ("graph", "graph")):
            rs = rows(model, ds, start, target)
            if not rs:
                continue
            paper = (paper_numbers(model, ds) or {}).get("acc")
            print(f"| {model} | {ds} | {start} | {target} | {len(rs)} | {pm([r.get('start_acc') for r in rs])} | "
                  f"{pm([r['acc'] for r in rs])} | {pm([r['nmi'] for r in rs])} | "
                  f"{pm([r.get('best_acc_label_selected') for r in rs])} | {paper or '-'} | "
                  f"{OFFICIAL.get((model, ds), '-') if start == 'paper' else '-'} |")
