"""Benchmark: how close CaEGCN's exact all-node attention runs to this machine's fp32 GEMM rate, and
what that implies for the per-epoch time.

For each attention layer of the estimator's CaEGCN (``configs/caegcn.yaml``, built by
``build_module`` for a dataset) the fused ``scaled_dot_product_attention`` forward + backward is
timed alone (fp32, the head widths the kernel runs at after ``kernel_head_dim`` padding) and its
floating-point work counted as 7 GEMM-equivalents of ``2 n^2 d`` per head (forward: scores and
``P V``; backward: recomputed scores, ``dV``, ``dP``, ``dQ``, ``dK``). A 4096^3 sgemm gives the
machine's fp32 GEMM rate at the same thread count. The lower bound on the attention time per epoch
is its total work at that rate: if it exceeds ``--official-epoch / --speedup`` the per-epoch aim
cannot be met with exact fp32 attention on this machine, whatever the rest of the epoch costs.

    python bench/bench_attention_bound.py --dataset acm --threads 2 --out bench/results_caegcn.md
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F


def best_of(fn, repeat):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def attention_layers(dataset):
    """(n, [(heads, kernel head width), ...]) of the estimator's CaEGCN for ``dataset``."""
    import dglclust  # noqa: F401
    from dglclust.cluster.caegcn import build_module
    from dglclust.configs import load_config
    from dglclust.data import load_dataset
    from dglclust.nn.attention import kernel_head_dim

    g = load_dataset(dataset)[0]
    n, d = g.ndata["feat"].shape
    k = int(g.ndata["label"].max()) + 1
    model = build_module(int(d), k, int(n), load_config("caegcn", dataset))
    return int(n), [(f.heads, kernel_head_dim(f.head_dim)) for _, f in sorted(model.fusion.items())]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="acm")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--official-epoch", type=float, default=10.9,
                    help="seconds per epoch of the reference implementation (issue 6: official CaEGCN on ACM)")
    ap.add_argument("--speedup", type=float, default=10.0, help="the per-epoch speed-up aimed at")
    ap.add_argument("--out", default=None, help="append the result to this markdown file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    gemm_rate = 2 * 4096**3 / best_of(lambda: a @ b, args.repeat)
    del a, b

    n, layers = attention_layers(args.dataset)
    rows, total_s, total_flop = [], 0.0, 0.0
    for i, (heads, dk) in enumerate(layers, 1):
        q, k, v = (torch.randn(1, heads, n, dk, requires_grad=True) for _ in range(3))

        def step():
            F.scaled_dot_product_attention(q, k, v).sum().backward()

        s = best_of(step, args.repeat)
        flop = 7 * 2 * n * n * dk * heads
        total_s += s
        total_flop += flop
        rows.append(f"| {i} | {heads} x {dk} | {flop / 1e9:.1f} | {s:.3f} | {flop / s / 1e9:.0f} |")
        del q, k, v
    bound = total_flop / gemm_rate
    budget = args.official_epoch / args.speedup
    lines = [
        f"dataset {args.dataset} (n = {n:,}), {args.threads} thread(s); fp32 sgemm 4096^3: "
        f"**{gemm_rate / 1e9:.0f} GFLOP/s**",
        "",
        "| attention layer | heads x kernel width | GFLOP (fwd + bwd) | best s | GFLOP/s |",
        "|---|---|---|---|---|",
        *rows,
        f"| all | | {total_flop / 1e9:.1f} | {total_s:.3f} | {total_flop / total_s / 1e9:.0f} |",
        "",
        f"Attention at the sgemm rate: {bound:.3f} s per epoch (measured: {total_s:.3f} s, "
        f"{100 * bound / total_s:.0f}% of it). A {args.speedup:g}x per-epoch aim against "
        f"{args.official_epoch:g} s leaves {budget:.3f} s for the whole epoch: the attention alone "
        + ("exceeds" if bound > budget else "fits in") + f" it ({100 * bound / budget:.0f}%).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        from bench_caegcn_memory import append_report  # same folder: the report format of results_caegcn.md

        append_report(args.out, text + "\n")


if __name__ == "__main__":
    main()
