"""Summarize results/gfdc/runs: per transfer pair and method, mean +- population std over seeds
of ACC / NMI / ARI (percent) and DBI, with the run count and seconds per run.

    python results/gfdc/summarize.py [--dir DIR] [--write]   (--write: also RESULTS.md, atomically)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dglclust.utils import atomic_write

HERE = Path(__file__).resolve().parent
PAIRS = [("mnist-10k", "usps"), ("digits", "usps"), ("usps", "mnist-10k")]
METHODS = [("kmeans", "KMeans on pixels"), ("unguided", "GFDC without source (ablation)"),
           ("gfdc", "GFDC (source-guided)")]
# GFDC paper, Table 3 (one number each; sources are the full training sets): ACC, NMI, ARI, DBI
PAPER = {("mnist-10k", "usps"): ("97.4", "93.8", "94.4", "0.230"),
         ("usps", "mnist-10k"): ("99.3", "97.7", "98.2", "0.076")}


def pm(vals, scale=1.0, digits=2):
    a = np.asarray([v for v in vals if v is not None and np.isfinite(v)], dtype=float) * scale
    if a.size == 0:
        return "n/a"
    return f"{a.mean():.{digits}f} ± {a.std():.{digits}f}"


def table(root: Path) -> str:
    recs = {}
    for path in sorted(root.glob("*_to_*/*.json")):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        recs.setdefault((r["source"], r["target"], r["method"]), {})[r["seed"]] = r
    head = ["source -> target", "method", "runs", "ACC %", "NMI %", "ARI %", "DBI", "s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for src, tgt in PAIRS:
        for m, label in METHODS:
            rows = list(recs.get((src, tgt, m), {}).values())
            if not rows:
                continue
            lines.append("| " + " | ".join([
                f"{src} -> {tgt}", label, str(len(rows)),
                pm([r["acc"] for r in rows], 100), pm([r["nmi"] for r in rows], 100),
                pm([r["ari"] for r in rows], 100), pm([r["dbi"] for r in rows], 1, 3),
                pm([r["fit_time_s"] for r in rows], 1, 0)]) + " |")
        if (src, tgt) in PAPER:
            lines.append(f"| {src} -> {tgt} | paper, Table 3 (train-set source) | 1 | "
                         + " | ".join(PAPER[(src, tgt)]) + " | |")
    seeds = sorted({s for v in recs.values() for s in v})
    lines.append("")
    lines.append(f"Seeds: {seeds}. Final epoch of each run (no label-based selection); std is the "
                 "population std over seeds. DBI: Davies-Bouldin index of the embedding under the "
                 "predicted clusters (pixels for KMeans, Z = f(x) for GFDC).")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(HERE / "runs"))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    text = table(Path(args.dir))
    print(text, end="")
    if args.write:
        with atomic_write(HERE / "RESULTS.md") as fh:
            fh.write("# Issue 8: GFDC, CPU-sized runs\n\n" + text)


if __name__ == "__main__":
    main()
