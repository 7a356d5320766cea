"""Benchmark: CaEGCN training epochs (forward + loss + backward + Adam step) -- peak memory and time.

Each configuration runs in a fresh subprocess, so its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) covers that configuration alone: the synthetic
graph, the model (built by the estimator's ``build_module`` from ``configs/caegcn.yaml``: GAE
``d-500-10-k-500-500-d``, 8 heads; ``--paper-text`` for the paper text's variant) and the training epochs.
Nothing of size ``n x n`` is ever allocated (attention through ``scaled_dot_product_attention``,
exact tiled adjacency loss), so the peak grows linearly in ``n``; time grows as ``n^2`` (exact
attention over all nodes and the exact all-pairs reconstruction loss).

Synthetic data: features ``U(0, 1)`` of width ``--features``; a random symmetric graph with
~``--degree`` neighbours per node (no self-loops, no duplicates). ``--dataset acm`` times the real
ACM graph instead (for the per-epoch comparison with the official code).

    python bench/bench_caegcn_memory.py --n 100000                      # one configuration
    python bench/bench_caegcn_memory.py --grid 5000,20000,100000 --out bench/results_caegcn.md
    python bench/bench_caegcn_memory.py --dataset acm --epochs 5
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time

import torch


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def random_graph(n, degree, seed=0):
    from dglclust.graph import from_edges

    gen = torch.Generator().manual_seed(seed)
    m = n * degree // 2
    edges = torch.stack([torch.randint(0, n, (m,), generator=gen), torch.randint(0, n, (m,), generator=gen)], 1)
    return from_edges(edges, num_nodes=n)  # symmetrized, deduplicated, self-loops dropped


def run_child(args) -> dict:
    """One configuration in this process; returns the measurements."""
    import dglclust  # noqa: F401
    from dglclust.cluster.caegcn import build_module
    from dglclust.configs import load_config
    from dglclust.models.caegcn import caegcn_loss
    from dglclust.nn.recon import target_coo
    from dglclust.ops import target_distribution
    from dglclust.train.precision import autocast, resolve_precision

    torch.set_num_threads(args.threads)
    if args.dataset:
        from dglclust.data import load_dataset

        g = load_dataset(args.dataset)[0]
        x = g.ndata["feat"].float()
        k = int(g.ndata["label"].max()) + 1
    else:
        g = random_graph(args.n, args.degree, args.seed)
        x = torch.rand(args.n, args.features, generator=torch.Generator().manual_seed(args.seed))
        k = args.clusters
    n = x.shape[0]
    torch.manual_seed(args.seed)
    params = load_config("caegcn", args.dataset)  # the estimator's architecture and settings
    if args.paper_text:
        params.update(cae_hidden=None, cae_latent=None, cae_decoder=None, fusion_sources=None,
                      fuse_layers=None, t_layer=None, residual=False)
    params["heads"] = args.heads
    if args.head_dim is not None:
        params["head_dim"] = args.head_dim if args.head_dim == "full" else int(args.head_dim)
    params["checkpoint"] = {"auto": "auto", "on": True, "off": False}[args.checkpoint]
    model = build_module(x.shape[1], k, n, params)
    ckpt = model.checkpoint
    target = target_coo(g, add_self_loops=True, norm="none")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    precision = resolve_precision(args.precision or params["precision"], x.device)
    rss_setup = _current_rss_mb()
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        with autocast(x.device, precision):
            out = model(g, x)
        with torch.no_grad():
            p = target_distribution(out["q"])
        loss, _ = caegcn_loss(out, x, target, p, params["loss_weights"], int(params["tile"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        del out, loss
    return {"n": n, "features": int(x.shape[1]), "edges": int(g.num_edges()), "clusters": k,
            "heads": args.heads, "checkpoint": ckpt, "precision": precision, "threads": args.threads,
            "dataset": (args.dataset or "synthetic") + (" (paper text)" if args.paper_text else ""), "epoch_s": times, "rss_after_setup_mb": rss_setup,
            "peak_rss_mb": _rss_mb(), "loadavg": os.getloadavg()}


def run_config(args, n=None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--features", str(args.features),
           "--degree", str(args.degree), "--clusters", str(args.clusters), "--heads", str(args.heads),
           "--epochs", str(args.epochs), "--threads", str(args.threads), "--seed", str(args.seed),
           "--checkpoint", args.checkpoint]
    cmd += ["--precision", args.precision] if args.precision else []
    cmd += ["--paper-text"] if args.paper_text else []
    if args.head_dim is not None:
        cmd += ["--head-dim", str(args.head_dim)]
    cmd += ["--dataset", args.dataset] if args.dataset else ["--n", str(n if n is not None else args.n)]
    load0 = os.getloadavg()[0]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"child failed ({res.returncode}):\n{res.stderr[-4000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["loadavg_before"] = load0
    return out


def fmt_row(r) -> str:
    ep = r["epoch_s"]
    first, rest = ep[0], ep[1:]
    steady = f"{min(rest):.2f}" if rest else "-"
    return (f"| {r['dataset']} | {r['n']:,} | {r['features']} | {r['edges']:,} | {r['clusters']} | {r['heads']} | "
            f"{'yes' if r['checkpoint'] else 'no'} | {r.get('precision', 'fp32')} | {r['peak_rss_mb'] / 1024:.2f} | {first:.2f} | {steady} | "
            f"{r['loadavg_before']:.1f} / {r['loadavg'][0]:.1f} |")


HEADER = ("| data | nodes | features | edges (directed) | clusters | heads | attn. checkpoint | precision | peak RSS (GiB) "
          "| epoch 1 (s) | best later epoch (s) | load avg before / after |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def machine() -> str:
    from dglclust.reproduce import cpu_model

    cpu = cpu_model() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, Python "
            f"{platform.python_version()}, {platform.platform()}")


def append_report(path, body: str) -> None:
    """Append ``### <date time> -- `python <this command>```, the machine line and ``body`` to the
    markdown report ``path`` (rewritten atomically). Shared with bench_attention_bound.py."""
    from dglclust.utils import atomic_write

    prev = open(path).read() if os.path.exists(path) else ""
    block = (f"\n### {time.strftime('%Y-%m-%d %H:%M')} -- `python {' '.join(shlex.quote(a) for a in sys.argv)}`\n\n"
             f"Machine: {machine()}\n\n" + body)
    with atomic_write(path) as fh:
        fh.write(prev + block)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--grid", type=str, default=None, help="comma-separated node counts")
    ap.add_argument("--dataset", type=str, default=None, help="time a real dataset instead (e.g. acm)")
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=str, default=None)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--checkpoint", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                    help="default: the config's (auto: bf16 autocast for dense products where native)")
    ap.add_argument("--paper-text", action="store_true",
                    help="the paper text's architecture instead of the config default (see caegcn.yaml)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=str, default=None, help="append the table to this markdown file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args)))
        return
    sizes = [None] if args.dataset else ([int(s) for s in args.grid.split(",")] if args.grid else [args.n])
    rows = []
    print(HEADER, flush=True)
    for n in sizes:
        r = run_config(args, n)
        rows.append(r)
        print(fmt_row(r), flush=True)
    if args.out:
        append_report(args.out, f"{HEADER}\n" + "\n".join(fmt_row(r) for r in rows) + "\n\n"
                      "Raw: " + json.dumps(rows) + "\n")


if __name__ == "__main__":
    main()
