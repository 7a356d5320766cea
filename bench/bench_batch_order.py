"""What a batch order reads from disk: one epoch of node batches over memory-mapped features that
do not fit in the memory left to the process.

Each order runs in its own process inside a cgroup-v1 memory cgroup (``--limit-mb``; the page
cache is charged to it, so the feature file cannot stay cached), after the file has been evicted
from the page cache. The process maps the features (:func:`dglclust.data.open_features`, without
the value check, which would read the whole file first), draws the epoch's batches with
:func:`dglclust.train.minibatch.node_batches` (``run`` from
:func:`dglclust.train.minibatch.row_run`: ``batch_order="random"`` or ``"rows"``) and gathers
each batch's rows, as a fit's ``x[idx]`` does (``neighbours``: also the batch's neighbours' rows,
summed per node as a GCN layer's input, in runs as ``rows``; the graph is held in memory and the
limit grows by its size), for one epoch or until ``--max-seconds``; it
reports the rows gathered, the bytes the kernel read for them (``read_bytes`` of
``/proc/self/io``; divided by the bytes of the rows used: 1 is no waste), its major page faults
and the seconds. Orders alternate (random, rows, random, rows ...).

    python bench/bench_batch_order.py --dataset sbm-1m --limit-mb 450 --max-seconds 60 \\
        --advice normal,random --orders random,rows,pass --out bench/results_batch_order.md

Rows are appended to ``<out>.jsonl``; the table in ``<out>`` is rebuilt from all of them.
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
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, os, sys, time
import torch
torch.set_num_threads(1)
from dglclust.data.feature_store import open_features
from dglclust.train.history import csr_neighbours
from dglclust.train.minibatch import FULL_PASS_CHUNK, node_batches, row_run

path, order, batch_size, max_s, advice = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                          float(sys.argv[4]), sys.argv[5])
def rss_anon_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("RssAnon:")) // 1024
def io():
    with open("/proc/self/io") as fh:
        read = next(int(l.split()[1]) for l in fh if l.startswith("read_bytes:"))
    with open("/proc/self/stat") as fh:
        return read, int(fh.read().rsplit(")", 1)[1].split()[9])
x = open_features(path, check=False, advice=advice)
gen = torch.Generator().manual_seed(0)
if order == "pass":  # the chunked full pass: row ranges in order
    run = FULL_PASS_CHUNK
    batches = torch.arange(x.shape[0]).split(FULL_PASS_CHUNK)
else:
    run = row_run({"batch_order": "random" if order == "random" else "rows"}, batch_size,
                  x.shape[1] * x.element_size())
    batches = node_batches(x.shape[0], batch_size, gen, run=run)
if order == "neighbours":  # the first GCN layer's input of each batch: its neighbours' rows too
    import numpy as np
    indptr, indices = (torch.from_numpy(np.load(f)) for f in sys.argv[6:8])
r0, f0 = io(); t0 = time.perf_counter(); total = 0.0; rows = 0
for idx in batches:
    if order == "neighbours":
        cols, offsets = csr_neighbours(indptr, indices, idx)
        total += float(torch.nn.functional.embedding_bag(cols, x, offsets, mode="sum").sum())
    total += float(x[idx].sum())
    rows += idx.numel()
    if time.perf_counter() - t0 > max_s:
        break
secs = time.perf_counter() - t0; r1, f1 = io()
print(json.dumps({"run": run, "rows": rows, "epoch_fraction": rows / x.shape[0],
                  "read_bytes": r1 - r0, "major_faults": f1 - f0, "seconds": secs,
                  "bytes_used": rows * x.shape[1] * x.element_size(), "checksum": total,
                  "rss_anon_mb": rss_anon_mb()}))
"""


def one(path, order, batch_size, limit_mb, max_s, advice="normal", csr=None):
    """One epoch of ``order`` in a fresh cgroup; ``csr`` (the ``(indptr, indices)`` .npy files of
    the graph) for ``neighbours``, whose limit grows by their size (the graph is held in memory),
    so that the same memory is left to the page cache."""
    from bench_feature_store import evict_file, limited

    size = evict_file(path)
    extra = [] if order != "neighbours" else [str(f) for f in csr]
    limit_mb += sum(round(Path(f).stat().st_size / 2**20) for f in extra)
    argv, group = limited([sys.executable, "-c", CHILD, str(path), order, str(batch_size),
                           str(max_s), advice, *extra], limit_mb / 1024)
    la0 = os.getloadavg()[0]
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        usage = int((group / "memory.max_usage_in_bytes").read_text())
    finally:
        group.rmdir()
    if done.returncode != 0:
        raise SystemExit(f"{order}: exit {done.returncode}\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    from run_all import cpu_name

    return {"file": str(path), "file_gb": round(size / 2**30, 3), "order": order,
            "batch_size": batch_size, "limit_mb": limit_mb, "advice": advice, "machine": cpu_name(),
            "load_before": round(la0, 2), "cgroup_max_usage_mb": round(usage / 2**20),
            **out, "read_gb": round(out["read_bytes"] / 2**30, 3),
            "read_per_used": round(out["read_bytes"] / out["bytes_used"], 2),
            "rows_per_s": round(out["rows"] / out["seconds"])}


def table(rows):
    lines = ["| features | file (GB) | memory limit | madvise | batch order (rows per run) | batch size | "
             "share of the epoch | seconds | rows per s | read from disk (GB) | "
             "read / bytes of the rows used | major faults | load before |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {Path(r['file']).name} | {r['file_gb']} | {r['limit_mb']} MB | "
                     f"{r.get('advice', 'normal')} | "
                     f"{r['order']} ({r['run']}) | {r['batch_size']} | "
                     f"{r['epoch_fraction']:.3f} | {r['seconds']:.1f} | {r['rows_per_s']:,} | "
                     f"{r['read_gb']} | {r['read_per_used']} | {r['major_faults']} | "
                     f"{r['load_before']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="sbm-1m")
    ap.add_argument("--features", default=None, help="a float32 .npy file instead of --dataset's")
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--limit-mb", type=int, default=450)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--advice", default="normal", help="madvise of the mapping: normal, random, "
                    "sequential, or several, comma-separated")
    ap.add_argument("--orders", default="random,rows", help="random, rows, pass (the chunked full "
                    "pass, in order) and/or neighbours (runs of rows with their neighbours' rows: "
                    "a GCN layer's input gathered per batch; needs --dataset), comma-separated")
    ap.add_argument("--max-seconds", type=float, default=120,
                    help="stop an epoch after the batch that passes this many seconds")
    ap.add_argument("--out", default="bench/results_batch_order.md")
    args = ap.parse_args(argv)
    path, csr = args.features, None
    if path is None:
        from dglclust.data import load_dataset
        from dglclust.data.feature_store import is_memory_mapped

        g = load_dataset(args.dataset, mmap_features=True)[0]
        assert is_memory_mapped(g.ndata["feat"])
        from dglclust.utils import cache_dir

        path = next((cache_dir() / "processed" / args.dataset).glob("*.feat.npy"))
        if "neighbours" in args.orders:
            import numpy as np

            indptr, indices, _ = g.adj_tensors("csr")
            csr = [cache_dir() / "processed" / args.dataset / f"{name}.csr.npy"
                   for name in ("indptr", "indices")]
            for f, t in zip(csr, (indptr, indices)):
                np.save(f, t.numpy())
            del g, indptr, indices
    out = Path(args.out)
    jsonl = out.with_suffix(".jsonl")
    for _ in range(args.repeats):
        for advice in args.advice.split(","):
            for order in args.orders.split(","):
                row = one(Path(path), order, args.batch_size, args.limit_mb, args.max_seconds,
                          advice, csr)
                print(json.dumps(row), flush=True)
                with open(jsonl, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    rows = [json.loads(ln) for ln in jsonl.read_text().splitlines() if ln.strip()]
    from dglclust.utils import atomic_write

    with atomic_write(out, "w") as fh:
        fh.write("# Batch order and disk reads of memory-mapped features\n\n"
                 "Written by `bench/bench_batch_order.py` (its docstring has the command); one row "
                 "per epoch of batches, in the order run.\n\n" + table(rows) + "\n")


if __name__ == "__main__":
    main()
