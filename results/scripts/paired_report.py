"""Two models on one dataset and the same seeds, paired per seed: the start ACC of each (equal when
they read the same cached pretraining), the final ACC of each and the difference B - A; then the
mean ± population std of each column and on how many seeds B is level (at most 0.5 under) or above.

    python results/scripts/paired_report.py dblp \\
        sdcn=results/experiments/sdcn-q-smooth-citeseer-dblp/dblp-defaults-a,results/experiments/sdcn-q-smooth-citeseer-dblp/dblp-defaults-b \\
        caegcn=results/experiments/caegcn-sdcn-dblp-same-starts/dblp-a,results/experiments/caegcn-sdcn-dblp-same-starts/dblp-b
"""
import argparse
import json
from pathlib import Path

import numpy as np


def rows(model, dataset, folders):
    out = {}
    for folder in folders.split(","):
        f = Path(folder) / f"{model}_{dataset}.json"
        if f.exists():
            for r in json.loads(f.read_text())["rows"]:
                out.setdefault(r["seed"], r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("a", help="MODEL=FOLDER[,FOLDER]")
    ap.add_argument("b", help="MODEL=FOLDER[,FOLDER]")
    args = ap.parse_args()
    (ma, fa), (mb, fb) = args.a.split("=", 1), args.b.split("=", 1)
    ra, rb = rows(ma, args.dataset, fa), rows(mb, args.dataset, fb)
    seeds = sorted(set(ra) & set(rb))
    if not seeds:
        raise SystemExit(f"no seed has a row of both {ma} and {mb}")
    print(f"| {args.dataset}, seed | start {ma} | start {mb} | final {ma} | final {mb} | {mb} - {ma} |")
    print("|---|---|---|---|---|---|")
    cols = {k: [] for k in ("sa", "sb", "a", "b", "d")}
    for s in seeds:
        v = {"sa": ra[s].get("start_acc"), "sb": rb[s].get("start_acc"), "a": ra[s]["acc"], "b": rb[s]["acc"]}
        v["d"] = v["b"] - v["a"]
        for k, x in v.items():
            if x is not None:
                cols[k].append(x)
        print(f"| {s} | " + " | ".join("-" if v[k] is None else f"{v[k]:.2f}" for k in ("sa", "sb", "a", "b"))
              + f" | {v['d']:+.2f} |")
    pm = {k: f"{np.mean(x):.2f} ± {np.std(x):.2f}" if x else "-" for k, x in cols.items()}
    print(f"| mean ± std ({len(seeds)} seeds) | {pm['sa']} | {pm['sb']} | {pm['a']} | {pm['b']} | {pm['d']} |")
    level = sum(d >= -0.5 for d in cols["d"])
    same = sum(abs(x - y) < 1e-9 for x, y in zip(cols["sa"], cols["sb"]))
    print(f"\n{mb} level with or above {ma} (at most 0.5 under) on {level} of {len(seeds)} seeds; "
          f"equal starts on {same} of {len(cols['sa'])}.")


if __name__ == "__main__":
    main()
