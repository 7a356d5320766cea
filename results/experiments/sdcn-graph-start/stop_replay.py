"""DEC's label-change stop rule replayed on the per-epoch curves that `reproduce` records (rows'
"curve": ACC and the fraction of labels changed per epoch): final vs stopped vs label-selected best.

    python results/experiments/sdcn-graph-start/stop_replay.py results/sdcn/*/start-graph results/agcn-s/*/start-graph

The rule reads only "changed" (label-free); ACC is read to score it. Stopping at epoch e reports
epoch e's labels, exactly as `stop: labels` does in training.
"""
import json
import sys
from pathlib import Path

import numpy as np

from dglclust.train import label_change_stop

RULES = [(0.001, 1), (0.001, 5), (0.005, 5), (0.01, 5), (0.01, 10), (0.02, 10)]


def stopped(curve, tol, patience, min_epochs=0):
    """The index where `stop: labels` would stop (the library's own rule, replayed)."""
    rows = [{"epoch": e, "changed": c} for e, c in zip(curve["epoch"], curve["changed"])]
    return label_change_stop(rows, tol, patience, min_epochs)


def main(dirs):
    head = ["model", "dataset", "runs", "start (KMeans)", "final"] + [f"stop tol={t} patience={p}" for t, p in RULES] + ["best (label-selected)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for d in dirs:
        for f in sorted(Path(d).glob("*.json")):
            res = json.loads(f.read_text())
            rows = [r for r in res.get("rows", []) if "curve" in r]
            if not rows:
                continue
            fmt = lambda v: f"{np.mean(v):.2f} ± {np.std(v):.2f}"
            cells = [res["model"], res["dataset"], str(len(rows)), fmt([r["start_acc"] for r in rows]),
                     fmt([r["acc"] for r in rows])]
            for t, p in RULES:
                idx = [stopped(r["curve"], t, p) for r in rows]
                accs = [r["curve"]["acc"][i] for r, i in zip(rows, idx)]
                ep = [r["curve"]["epoch"][i] for r, i in zip(rows, idx)]
                cells.append(f"{fmt(accs)} (epoch {np.median(ep):.0f})")
            cells.append(fmt([r["best_acc_label_selected"] for r in rows]))
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
