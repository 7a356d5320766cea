"""Benchmark: the all-pairs sum of inner-product decoders, compiled kernel vs torch block products.

One step = ``sum_{i,j} h(z_i . z_j)`` over all n^2 pairs and its gradient (what one epoch of GAE /
VGAE (``softplus``) or CaEGCN (``sigmoid_sq``) spends on its exact reconstruction loss), for ``z``
(n x d) requiring grad:

* ``kernel``: ``torch.ops.dglclust.gram_pairwise_sum`` through :func:`dglclust.nn.recon.pairwise_sum`
  (all n^2 pairs, 64 x 2048 tiles, h / h' in vector lanes);
* ``blocks``: the torch fallback of the same function (2048 x 2048 blocks of one triangle,
  ``torch.sigmoid`` / ``softplus`` on each block, two matrix products per block).

Medians over repeats, contenders interleaved in rotating order; ``os.getloadavg()`` per row.

    python bench/bench_gram_pairwise.py --quick
    python bench/bench_gram_pairwise.py --out bench/results_gram_pairwise.md
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys

import torch

from bench_student_t import interleaved_medians, machine
from dglclust.nn import recon
from dglclust.utils import atomic_write

CONTENDERS = ("kernel", "blocks")


def step(name, z, kind):
    use = recon.has_gram_pairwise_kernel
    if name == "blocks":
        recon.has_gram_pairwise_kernel = lambda t: False
    try:
        z.grad = None
        loss = recon.pairwise_sum(z, kind, tile=2048)
        loss.backward()
    finally:
        recon.has_gram_pairwise_kernel = use
    return float(loss)


def time_case(n, d, kind, repeats):
    z = (0.3 * torch.randn(n, d, generator=torch.Generator().manual_seed(0))).requires_grad_()
    losses, grads = {}, {}
    for name in CONTENDERS:  # warm-up + agreement check
        losses[name] = step(name, z, kind)
        grads[name] = z.grad.clone()
    rel = abs(losses["kernel"] - losses["blocks"]) / abs(losses["blocks"])
    grel = float((grads["kernel"] - grads["blocks"]).abs().max() / grads["blocks"].abs().max())
    return interleaved_medians(list(CONTENDERS), lambda name: step(name, z, kind), repeats), rel, grel


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[20000, 50000, 100000])
    ap.add_argument("--d", type=int, nargs="+", default=[16])
    ap.add_argument("--kinds", nargs="+", default=["softplus", "sigmoid_sq"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="n = 20000, 3 repeats")
    ap.add_argument("--out", help="also write the markdown report to this file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.n, args.repeats = [20000], 3
    from dglclust.ops import _ext

    header = ("| n | d | h | threads | kernel | torch blocks | speedup | ns per pair (kernel) | loss rel. diff "
              "| grad max rel. diff | loadavg (1 min) before/after |")
    lines = [header, "|" + "---|" * 11]
    print(f"machine: {machine()}, kernel vector set: {_ext.cpu_simd()}\nloadavg at start: {os.getloadavg()}",
          flush=True)
    print(header, flush=True)
    for n in args.n:
        for d in args.d:
            for kind in args.kinds:
                load0 = os.getloadavg()[0]
                t, rel, grel = time_case(n, d, kind, args.repeats)
                load1 = os.getloadavg()[0]
                row = (f"| {n:,} | {d} | {kind} | {torch.get_num_threads()} | {t['kernel']:.2f} s | "
                       f"{t['blocks']:.2f} s | {t['blocks'] / t['kernel']:.2f}x | "
                       f"{t['kernel'] / n / n * 1e9:.2f} | {rel:.1e} | {grel:.1e} | {load0:.2f} / {load1:.2f} |")
                lines.append(row)
                print(row, flush=True)
    print(f"loadavg at end: {os.getloadavg()}")
    if args.out:
        cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + (argv or sys.argv[1:]))
        with atomic_write(args.out) as f:
            f.write("\n".join([
                "# All-pairs sum of inner-product decoders (exact GAE/VGAE/CaEGCN loss), kernel vs torch blocks",
                "",
                f"Command: `{cmd}`",
                "",
                f"Machine: {machine()}; kernel vector set: {_ext.cpu_simd()}. See the load averages.",
                "",
                f"Medians of {args.repeats} interleaved repeats of the sum over all n^2 pairs and its "
                "gradient (one epoch's exact all-pairs term), float32, z = 0.3 N(0, 1).",
                "",
                *lines,
                "",
            ]))


if __name__ == "__main__":
    main()
