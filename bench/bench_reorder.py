"""Node order and the cost of the sparse product on large graphs: the graph as generated against
the same graph with its nodes renumbered by DGL's ``dgl.reorder_graph`` (reverse Cuthill-McKee,
``rcmk``; METIS partitions, ``metis``), and, as an upper bound only (it reads the labels, so no
fit may use it), nodes sorted by their planted community (``labels``).

On a graph whose node ids carry no locality (the planted partitions number nodes at random) every
neighbour gather of the sparse product is a cache miss once the feature matrix outgrows the
cache: the cost per edge grows from ~48 ns at 100k nodes to ~100 ns at 1M (bench/results_thp.md).
Renumbering so that neighbours get nearby ids is the standard remedy; this measures what it buys.

For each dataset and order, in a fresh process: the time to compute the order, then the GCN
product ``dglclust.ops.graph_spmm(g, x, norm="sym")`` forward + backward with ``--features``
columns, median of ``--repeats`` calls; orders interleaved over ``--rounds``.

    python bench/bench_reorder.py --datasets sbm-100k sbm-1m --out bench/results_reorder.md

The report is appended to ``--out`` (written to a temporary file, then renamed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]  # dglclust (when not installed), bench_spmm and run_all

ORDERS = ("generated", "rcmk", "metis", "labels")


def child(dataset: str, order: str, features: int, repeats: int, parts: int) -> dict:
    import resource

    import torch
    from bench_spmm import median_fwd_bwd

    from dglclust._compat import import_dgl
    from dglclust.data import load_dataset

    dgl = import_dgl()
    g = load_dataset(dataset)[0]
    labels = g.ndata.pop("label")
    g.ndata.pop("feat")
    t = time.perf_counter()
    if order == "rcmk":
        g = dgl.reorder_graph(g, node_permute_algo="rcmk", edge_permute_algo="src", store_ids=False)
    elif order == "metis":
        g = dgl.reorder_graph(g, node_permute_algo="metis", edge_permute_algo="src", store_ids=False,
                              permute_config={"k": parts})
    elif order == "labels":
        g = dgl.reorder_graph(g, node_permute_algo="custom", edge_permute_algo="src", store_ids=False,
                              permute_config={"nodes_perm": torch.argsort(labels, stable=True)})
    reorder_s = time.perf_counter() - t
    return {"dataset": dataset, "order": order, "n": g.num_nodes(), "edges": int(g.num_edges()),
            "reorder_s": reorder_s, "seconds": median_fwd_bwd(g, features, repeats),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["sbm-100k", "sbm-1m"])
    ap.add_argument("--orders", nargs="+", choices=ORDERS, default=list(ORDERS))
    ap.add_argument("--features", type=int, default=128)
    ap.add_argument("--parts", type=int, default=256, help="METIS parts")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("DATASET", "ORDER"), help=argparse.SUPPRESS)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.features, args.repeats, args.parts)))
        return
    load0 = os.getloadavg()[0]
    res = {}
    for _ in range(args.rounds):
        for ds in args.datasets:
            for order in args.orders:
                out = subprocess.run([sys.executable, __file__, "--child", ds, order, "--features", str(args.features),
                                      "--repeats", str(args.repeats), "--parts", str(args.parts)],
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                res.setdefault((ds, order), []).append(r)
                print(r, flush=True)
    lines = [f"`python bench/bench_reorder.py --datasets {' '.join(args.datasets)} --orders {' '.join(args.orders)} "
             f"--features {args.features} --parts {args.parts} --repeats {args.repeats} --rounds {args.rounds}`; "
             f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}", "",
             "| dataset | edges | order | time to order s | product s (ns per edge) | vs generated | peak RSS GB |",
             "|---|---|---|---|---|---|---|"]
    for ds in args.datasets:
        base = min(r["seconds"] for r in res.get((ds, "generated"), [{"seconds": float("nan")}]))
        for order in args.orders:
            rs = res[(ds, order)]
            s = min(r["seconds"] for r in rs)
            e = rs[0]["edges"]
            lines.append(f"| {ds} | {e:,} | {order}{' (reads labels: bound only)' if order == 'labels' else ''} | "
                         f"{min(r['reorder_s'] for r in rs):.1f} | {s:.3f} ({s / e * 1e9:.0f}) | {s / base:.2f} | "
                         f"{max(r['peak_rss_gb'] for r in rs):.2f} |")
    lines += ["", "Forward + backward of `graph_spmm(g, x, norm='sym')`, median of the repeats, best of the "
              "rounds, a fresh process per dataset and order; `metis` with "
              f"{args.parts} parts."]
    from run_all import append_report

    append_report(args.out, "Node order (bench/bench_reorder.py)", lines)


if __name__ == "__main__":
    main()
