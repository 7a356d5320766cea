"""Transparent huge pages for torch's CPU tensors (``THP_MEM_ALLOC_ENABLE``), off against on.

With ``THP_MEM_ALLOC_ENABLE=1`` torch backs every CPU allocation of 2 MB or more with huge pages
(``madvise``; the kernel's ``/sys/kernel/mm/transparent_hugepage/enabled`` must be ``madvise`` or
``always``), which could cut the TLB misses of the random-access sparse products on large graphs.
dglclust does not set it: the measurements (bench/results_thp.md) found 4-23% off the sparse
product alone, not repeatable at 1M nodes, and nothing on a whole fit. Each measurement runs in a
fresh process with the variable set to 0 or 1 (torch reads it once), the two settings
interleaved, repeated.

* ``--spmm``: the GCN product ``dglclust.ops.graph_spmm(g, x, norm="sym")`` forward + backward on a
  random graph (average degree ``--degree``, ``--features`` columns), median of ``--repeats``
  calls, at each ``--n``.
* ``--fit MODEL DATASET``: a whole ``python -m dglclust fit`` (seed 0): wall seconds and the
  child's peak RSS (``wait4``).

    python bench/bench_thp.py --spmm --n 100000 300000 1000000 --out bench/results_thp.md
    python bench/bench_thp.py --fit adagae sbm-300k --rounds 1 --out bench/results_thp.md

The report is appended to ``--out`` (written to a temporary file, then renamed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


sys.path[:0] = [str(ROOT), str(HERE)]  # dglclust (when not installed) and bench_spmm / run_all


def child_spmm(n: int, degree: int, features: int, repeats: int) -> dict:
    import torch
    from bench_spmm import median_fwd_bwd, random_symmetric_graph

    g = random_symmetric_graph(n, degree, seed=0)
    return {"n": n, "edges": int(g.num_edges()), "seconds": median_fwd_bwd(g, features, repeats),
            "threads": torch.get_num_threads()}


def run(cmd, thp: str) -> tuple[float, float, str]:
    env = {**os.environ, "THP_MEM_ALLOC_ENABLE": thp, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {p.returncode}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024 ** 2, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--spmm", action="store_true")
    mode.add_argument("--fit", nargs=2, metavar=("MODEL", "DATASET"))
    mode.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--degree", type=int, default=20)
    ap.add_argument("--features", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="interleaved off/on rounds")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_spmm(*args.child)))
        return
    load0 = os.getloadavg()[0]
    lines = []
    if args.spmm:
        res = {}
        for _ in range(args.rounds):
            for n in args.n:
                for thp in ("0", "1"):
                    _, _, out = run([sys.executable, __file__, "--child", str(n), str(args.degree),
                                     str(args.features), str(args.repeats)], thp)
                    r = json.loads(out.strip().splitlines()[-1])
                    res.setdefault((n, thp), []).append(r)
                    print(thp, r, flush=True)
        lines += [f"`python bench/bench_thp.py --spmm --n {' '.join(map(str, args.n))} --degree {args.degree} "
                  f"--features {args.features} --repeats {args.repeats} --rounds {args.rounds}`; load "
                  f"{load0:.2f} -> {os.getloadavg()[0]:.2f}", "",
                  "| nodes | edges | THP off: s (ns per edge) | THP on: s (ns per edge) | on / off |", "|---|---|---|---|---|"]
        for n in args.n:
            off = min(r["seconds"] for r in res[(n, "0")])
            on = min(r["seconds"] for r in res[(n, "1")])
            e = res[(n, "0")][0]["edges"]
            lines.append(f"| {n:,} | {e:,} | {off:.3f} ({off / e * 1e9:.0f}) | {on:.3f} ({on / e * 1e9:.0f}) | {on / off:.2f} |")
        lines.append("")
        lines.append("Forward + backward of `graph_spmm(g, x, norm='sym')`, median of the repeats, best of "
                     "the rounds, in a fresh process per setting.")
    else:
        model, ds = args.fit
        res = {}
        for _ in range(args.rounds):
            for thp in ("0", "1"):
                with tempfile.TemporaryDirectory() as tmp:
                    wall, rss, _ = run([sys.executable, "-m", "dglclust", "fit", "--model", model, "--dataset", ds,
                                        "--seed", "0", "--quiet", "--out", f"{tmp}/run.json"], thp)
                    acc = json.loads(Path(f"{tmp}/run.json").read_text())["metrics"]["acc"]
                res.setdefault(thp, []).append((wall, rss, acc))
                print(thp, wall, rss, acc, flush=True)
        lines += [f"`python bench/bench_thp.py --fit {model} {ds} --rounds {args.rounds}`; load {load0:.2f} -> "
                  f"{os.getloadavg()[0]:.2f}", "",
                  "| model | dataset | THP | wall s | peak RSS GB | ACC |", "|---|---|---|---|---|---|"]
        for thp in ("0", "1"):
            for wall, rss, acc in res[thp]:
                lines.append(f"| {model} | {ds} | {'on' if thp == '1' else 'off'} | {wall:.0f} | {rss:.2f} | {acc:.2f} |")
    from run_all import append_report

    append_report(args.out, "Transparent huge pages (bench/bench_thp.py)", lines)


if __name__ == "__main__":
    main()
