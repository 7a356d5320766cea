"""Benchmark: DEC self-training step, dglclust fused ops vs the naive torch expression.

One step = forward + backward of the DEC loss ``KL(P || Q)`` (``F.kl_div(q.log(), p,
reduction="batchmean")``) for embeddings ``z`` (n x d) and centers (K x d), both requiring grad:

* ``naive``: DEC's published expression, ``q = 1 / (1 + ||z_i - mu_j||^2 / a)`` through an
  ``n x K x d`` broadcast, ``q ** ((a + 1) / 2)``, row normalization, ``p = q^2 / f`` normalized and
  detached;
* ``dglclust``: ``q = dglclust.ops.student_t(z, centers)`` (fused kernel, no n x K x d tensor,
  fused backward) and ``p = dglclust.ops.target_distribution(q)``; the same ``kl_div``;
* ``dglclust+kl``: the same with ``dglclust.ops.student_t.dec_kl_loss(q, p)`` instead of
  ``F.kl_div`` (one log of p / q forward, one multiply backward).

Medians over repeats, contenders interleaved in rotating order; ``os.getloadavg()`` per row.

    python bench/bench_student_t.py --quick
    python bench/bench_student_t.py --out bench/results_student_t.md
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from dglclust.ops import _ext, student_t, target_distribution
from dglclust.ops.student_t import dec_kl_loss
from dglclust.utils import atomic_write

CONTENDERS = ("dglclust", "dglclust+kl", "naive")


def naive_step(z, mu, alpha=1.0):
    q = 1.0 / (1.0 + ((z.unsqueeze(1) - mu) ** 2).sum(2) / alpha)
    q = q ** ((alpha + 1.0) / 2.0)
    q = (q.t() / q.sum(1)).t()
    w = q ** 2 / q.sum(0)
    p = (w.t() / w.sum(1)).t().detach()
    loss = F.kl_div(q.log(), p, reduction="batchmean")
    loss.backward()
    return loss


def dglclust_step(z, mu, alpha=1.0):
    q = student_t(z, mu, alpha)
    p = target_distribution(q)
    loss = F.kl_div(q.log(), p, reduction="batchmean")
    loss.backward()
    return loss


def dglclust_kl_step(z, mu, alpha=1.0):
    q = student_t(z, mu, alpha)
    loss = dec_kl_loss(q, target_distribution(q))
    loss.backward()
    return loss


STEPS = {"dglclust": dglclust_step, "dglclust+kl": dglclust_kl_step, "naive": naive_step}


def time_case(n, k, d, repeats):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n, d, generator=gen).requires_grad_()
    mu = torch.randn(k, d, generator=gen).requires_grad_()
    names = list(CONTENDERS)
    losses = {}
    for name in names:  # warm-up + agreement check
        z.grad = mu.grad = None
        losses[name] = STEPS[name](z, mu).item()
    rel = max(abs(losses[name] - losses["naive"]) for name in names) / abs(losses["naive"])
    def run(name):
        z.grad = mu.grad = None
        STEPS[name](z, mu)

    return interleaved_medians(names, run, repeats), rel


def interleaved_medians(names, run, repeats):
    """Median seconds of ``run(name)`` per contender over ``repeats`` rounds, the contenders
    interleaved in rotating order (a disturbance hits them alike); ``gc.collect()`` before each."""
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            t0 = time.perf_counter()
            run(name)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def machine():
    from dglclust.reproduce import cpu_model

    cpu = cpu_model() or "?"
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"python {platform.python_version()}, backend: {_ext.backend()}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100000])
    ap.add_argument("--k", type=int, nargs="+", default=[10], help="number of clusters K")
    ap.add_argument("--d", type=int, nargs="+", default=[10, 64])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="n = 20000, 5 repeats")
    ap.add_argument("--out", help="also write the markdown report to this file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.n, args.repeats = [20000], 5
    header = ("| n | K | d | threads | dglclust | dglclust+kl | naive | speedup dglclust | speedup dglclust+kl "
              "| loss rel. diff | loadavg (1 min) before/after |")
    lines = [header, "|" + "---|" * 11]
    print(f"machine: {machine()}\nloadavg at start: {os.getloadavg()}", flush=True)
    print(header, flush=True)
    for n in args.n:
        for k in args.k:
            for d in args.d:
                load0 = os.getloadavg()[0]
                t, rel = time_case(n, k, d, args.repeats)
                load1 = os.getloadavg()[0]
                row = (f"| {n:,} | {k} | {d} | {torch.get_num_threads()} | {t['dglclust'] * 1e3:.1f} ms | "
                       f"{t['dglclust+kl'] * 1e3:.1f} ms | {t['naive'] * 1e3:.1f} ms | "
                       f"{t['naive'] / t['dglclust']:.1f}x | {t['naive'] / t['dglclust+kl']:.1f}x | {rel:.1e} | "
                       f"{load0:.1f} / {load1:.1f} |")
                lines.append(row)
                print(row, flush=True)
    print(f"loadavg at end: {os.getloadavg()}")
    if args.out:
        cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + (argv or sys.argv[1:]))
        with atomic_write(args.out) as f:
            f.write("\n".join([
                "# student_t + target_distribution (DEC loss, forward + backward) vs naive torch",
                "",
                f"Command: `{cmd}`",
                "",
                f"Machine: {machine()}. Shared with other engineers' jobs: see the load averages.",
                "",
                f"Medians of {args.repeats} interleaved repeats of one full step (q, p, KL(P||Q), backward "
                "to z and the centers), float32.",
                "",
                *lines,
                "",
            ]))


if __name__ == "__main__":
    main()
