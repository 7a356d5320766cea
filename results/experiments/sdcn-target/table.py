"""Tables of the target study (tuning seeds only), for docs/protocol.md.

    python results/experiments/sdcn-target/table.py
1. At the graph start (probe_start.py, seeds 100-104): ACC of argmax of each candidate target.
2. SDCN fits, graph start, target q vs graph (queue.sh, seeds 100-102): final epoch ACC.
"""
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DATASETS = ("acm", "dblp", "citeseer")

probe = [json.loads(line) for line in (HERE / "runs" / "probe_start.jsonl").read_text().splitlines()]
cols = ["start", "q", "p", "q_row1", "q_row2", "q_row3", "q_sym1", "q_sym2", "q_sym3"]
print("| dataset | seeds | " + " | ".join(cols) + " |")
print("|---|---|" + "---|" * len(cols))
for ds in DATASETS:
    rs = [r for r in probe if r["dataset"] == ds]
    print(f"| {ds} | {len(rs)} | " + " | ".join(f"{np.mean([r[c] for r in rs]):.1f}" for c in cols) + " |")
print()
print("| dataset | target | seeds | start ACC | final ACC per seed | final ACC mean |")
print("|---|---|---|---|---|---|")
for ds in DATASETS:
    for target in ("q", "graph"):
        f = HERE / f"sdcn-{target}" / f"sdcn_{ds}.json"
        if not f.exists():
            continue
        rows = json.loads(f.read_text())["rows"]
        per_seed = " / ".join(f"{r['acc']:.2f}" for r in rows)
        print(f"| {ds} | {target} | {', '.join(str(r['seed']) for r in rows)} | "
              f"{np.mean([r['start_acc'] for r in rows]):.2f} | "
              f"{per_seed} | {np.mean([r['acc'] for r in rows]):.2f} |")
