"""STREAM-style memory bandwidth probe (copy, scale, add, triad) with torch on float32 arrays.

Arrays of ``--mib`` MiB each (default 512, far above the last-level cache) are touched once, then
each kernel runs ``--repeats`` times; the best time gives the bandwidth, counting the bytes STREAM
counts (copy/scale: 2 arrays, add/triad: 3; write-allocate traffic not counted). This is the
floor the memory-bound ops (``normalized_spmm``) are compared against in bench/RESULTS.md.

    python bench/bench_stream.py --threads 1 2 --out bench/results_stream.md
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def probe(mib: int, repeats: int) -> dict:
    n = mib * 2**20 // 4
    a = torch.ones(n)
    b = torch.full((n,), 2.0)
    c = torch.zeros(n)
    s = 3.0
    kernels = {
        "copy": (lambda: c.copy_(a), 2),
        "scale": (lambda: torch.mul(c, s, out=b), 2),
        "add": (lambda: torch.add(a, b, out=c), 3),
        "triad": (lambda: torch.add(b, c, alpha=s, out=a), 3),
    }
    out = {}
    for name, (fn, arrays) in kernels.items():
        fn()  # warm-up (page faults)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[name] = arrays * n * 4 / best / 1e9
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    rows = []
    for t in args.threads:
        torch.set_num_threads(t)
        r = probe(args.mib, args.repeats)
        rows.append(f"| {t} | " + " | ".join(f"{r[k]:.1f}" for k in ("copy", "scale", "add", "triad")) + " |")
    body = ("# Memory bandwidth (STREAM-style probe)\n\n"
            f"float32 arrays of {args.mib} MiB, best of {args.repeats}; GB/s (1e9 bytes), STREAM's "
            "byte counts.\n\n| threads | copy | scale | add | triad |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    print(body)
    if args.out:
        from dglclust.utils import atomic_write

        with atomic_write(args.out) as fh:
            fh.write(body)
    return rows


if __name__ == "__main__":
    main()
