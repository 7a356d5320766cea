"""Benchmark: dglclust.ops.adagae_graph vs torch.cdist + torch.topk (dense n x n).

Both build AdaGAE's k-sparse connectivity P (Eq. 19): the k nearest other points of every row and
p_ij = (d_{i,k+1} - d_ij) / sum_v (d_{i,k+1} - d_iv) on squared Euclidean distances.

* ``dglclust``: ``adagae_graph(x, k)`` (compiled kernel: symmetric 512 x 512 blocks by matmul,
  running top-(k+9) per row, float64 re-ranking; never n x n);
* ``cdist+topk``: ``D = torch.cdist(x, x)``; self excluded by ``fill_diagonal_(inf)``;
  ``D.topk(k + 1, largest=False)``; the same closed form on the squared values (n x n floats).

Time: median over repeats, contenders interleaved in rotating order inside one process so that
load from other processes hits them alike; ``os.getloadavg()`` is recorded per row.
Memory: every (case, contender) also runs once in a fresh subprocess, which reports its peak
resident set size during the call (VmHWM, reset just before it) minus the resident size just
before the call (after the input exists and a small warm-up call has loaded everything).
The dense baseline is skipped (and marked so) when its n x n float32 matrix alone exceeds
``--dense-limit-gb`` (default 4 GB: at n = 5e4 it needs 10 GB, on a shared 23 GB machine).

    python bench/bench_adagae.py --quick
    python bench/bench_adagae.py --out bench/results_adagae.md     # full grid, writes the file
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time

import torch

from dglclust.ops import _ext, adagae_graph
from dglclust.utils import atomic_write

CONTENDERS = ("dglclust", "cdist+topk")


def dense_baseline(x, k):
    dist = torch.cdist(x, x)
    dist.fill_diagonal_(float("inf"))
    vals, idx = dist.topk(k + 1, dim=1, largest=False)
    del dist
    d2 = vals.pow(2)
    gap = d2[:, k:k + 1] - d2[:, :k]
    denom = gap.sum(1, keepdim=True)
    w = torch.where(denom > 0, gap / denom.clamp_min(torch.finfo(x.dtype).tiny), torch.full_like(gap, 1.0 / k))
    return idx[:, :k], w


def run(name, x, k):
    if name == "dglclust":
        return adagae_graph(x, k)
    return dense_baseline(x, k)


def make_input(n, d, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where not supported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(name, n, d, k):
    """Runs in a fresh process: peak RSS increase of one call, in bytes.

    The peak mark is reset right before the call (``/proc/self/clear_refs``): ``ru_maxrss`` alone
    is not usable here because Linux carries the parent's high-water mark across fork + exec."""
    x = make_input(n, d)
    run(name, make_input(64, d, seed=1), min(k, 8))  # load libraries, spawn threads
    gc.collect()
    before = _status_kib("VmRSS") * 1024
    if not reset_peak_rss():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    run(name, x, k)
    seconds = time.perf_counter() - t0
    peak = _status_kib("VmHWM") * 1024
    print(json.dumps({"peak_increase": max(0, peak - before), "seconds": seconds}))


def measure_memory(name, n, d, k):
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", name, str(n), str(d), str(k),
           str(torch.get_num_threads())]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        return None, f"failed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def time_case(n, d, k, repeats, contenders):
    x = make_input(n, d)
    for name in contenders:  # warm-up
        run(name, x, k)
    times = {name: [] for name in contenders}
    for r in range(repeats):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            run(name, x, k)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def fmt_mem(b):
    return "-" if b is None else f"{b / 2**20:,.0f} MiB"


def machine():
    from dglclust.reproduce import cpu_model

    cpu = cpu_model() or "?"
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"python {platform.python_version()}, backend: {_ext.backend()}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[2000, 10000, 50000])
    ap.add_argument("--d", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=7, help="timing repeats (3 for n >= 50000)")
    ap.add_argument("--dense-limit-gb", type=float, default=4.0)
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess memory runs")
    ap.add_argument("--quick", action="store_true", help="n = 2000, 10000; d = 64; 3 repeats")
    ap.add_argument("--out", help="also write the markdown report to this file")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads for both contenders (default: torch's)")
    ap.add_argument("--memory-child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        name, n, d, k, threads = args.memory_child
        torch.set_num_threads(int(threads))
        memory_child(name, int(n), int(d), int(k))
        return
    if args.quick:
        args.n, args.d, args.repeats = [2000, 10000], [64], 3

    header = ("| n | d | k | dglclust time | cdist+topk time | speedup | dglclust peak RSS + | "
              "cdist+topk peak RSS + | loadavg (1 min) before/after |")
    lines = [header, "|" + "---|" * 9]
    print(f"machine: {machine()}\nloadavg at start: {os.getloadavg()}", flush=True)
    print(header, flush=True)
    for n in args.n:
        for d in args.d:
            contenders = list(CONTENDERS)
            dense_skipped = n * n * 4 > args.dense_limit_gb * 2**30
            if dense_skipped:
                contenders.remove("cdist+topk")
            load0 = os.getloadavg()[0]
            t = time_case(n, d, args.k, 3 if n >= 50000 else args.repeats, contenders)
            mem = {}
            if not args.no_memory:
                for name in contenders:
                    res, err = measure_memory(name, n, d, args.k)
                    mem[name] = res["peak_increase"] if res else None
                    if err:
                        print(f"  memory run {name} n={n} d={d}: {err}", file=sys.stderr)
            load1 = os.getloadavg()[0]
            skipped = f"skipped (n x n float32 = {n * n * 4 / 2**30:.1f} GiB > {args.dense_limit_gb:g} GB limit)"
            base_t = f"{t['cdist+topk'] * 1e3:,.0f} ms" if not dense_skipped else skipped
            speed = f"{t['cdist+topk'] / t['dglclust']:.1f}x" if not dense_skipped else "-"
            base_m = fmt_mem(mem.get("cdist+topk")) if not dense_skipped else "skipped"
            row = (f"| {n:,} | {d} | {args.k} | {t['dglclust'] * 1e3:,.0f} ms | {base_t} | {speed} | "
                   f"{fmt_mem(mem.get('dglclust'))} | {base_m} | {load0:.1f} / {load1:.1f} |")
            lines.append(row)
            print(row, flush=True)
    print(f"loadavg at end: {os.getloadavg()}")
    if args.out:
        cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + (argv or sys.argv[1:]))
        report = "\n".join([
            "# adagae_graph vs torch.cdist + torch.topk",
            "",
            f"Command: `{cmd}`",
            "",
            f"Machine: {machine()}. Shared with other engineers' jobs: see the load averages.",
            "",
            "Times are medians (3 repeats at n = 50,000, else as given by --repeats), contenders "
            "interleaved. Peak RSS + is the increase of the peak resident set of a fresh process "
            "during one call.",
            "",
            *lines,
            "",
        ])
        with atomic_write(args.out) as f:
            f.write(report)


if __name__ == "__main__":
    main()
