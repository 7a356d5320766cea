"""Benchmark: dglclust normalized_spmm (forward + backward) vs DGL and torch.sparse.

Computes ``Y = D^-1/2 (A + I) D^-1/2 X`` and the gradient w.r.t. ``X`` on random symmetric graphs
(the dataset convention: each undirected edge stored both ways, no duplicates, no self-loops):

* ``dglclust``: ``dglclust.ops.graph_spmm(g, x, norm="sym")`` (compiled kernel; structure cached);
* ``dgl``: DGL GraphConv-style message passing on ``dgl.add_self_loop(g)``: degrees per call,
  ``h = x * D^-1/2``, ``update_all(copy_u, sum)``, ``* D^-1/2``;
* ``torch.sparse``: ``torch.sparse.mm`` with the normalized matrix (self-loops included, values
  precomputed) in sparse CSR format.

Each contender runs forward + backward (``y.backward(gy)``). Timings are interleaved (every
repeat runs all contenders, in rotating order) so that load from other processes hits them alike;
the table shows medians and ``os.getloadavg()`` before / after each row.

    python bench/bench_spmm.py --quick
    python bench/bench_spmm.py --n 100000 --degree 10 --features 64 --repeats 31
    python bench/bench_spmm.py --out bench/results_spmm.md      # full grid, also writes the file
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import warnings

import torch

import dglclust
from dglclust.ops import _ext, graph_spmm

dgl = dglclust._compat.import_dgl()
import dgl.function as fn  # noqa: E402

CONTENDERS = ("dglclust", "dgl", "torch.sparse")


def random_symmetric_graph(n, degree, seed=0):
    """Random graph with ~``degree`` neighbours per node, symmetric, no loops or duplicates."""
    gen = torch.Generator().manual_seed(seed)
    m = n * degree // 2
    r = torch.randint(0, n, (m,), generator=gen)
    c = torch.randint(0, n, (m,), generator=gen)
    keep = r != c
    r, c = r[keep], c[keep]
    key = torch.unique(torch.cat([r * n + c, c * n + r]))
    del r, c
    src, dst = key // n, key % n
    del key
    return dgl.graph((src, dst), num_nodes=n)


def make_contenders(g, dtype, names=CONTENDERS):
    """fwd functions ``x -> Y`` of the requested contenders (structures prepared outside timing)."""
    n = g.num_nodes()
    fns = {}
    if "dglclust" in names:
        def run_dglclust(x):
            return graph_spmm(g, x, norm="sym")

        fns["dglclust"] = run_dglclust
    if "dgl" in names:
        gl = dgl.add_self_loop(g)
        gl.create_formats_()

        def run_dgl(x):
            with gl.local_scope():
                norm_src = gl.out_degrees().to(x.dtype).clamp(min=1).pow(-0.5).unsqueeze(1)
                norm_dst = gl.in_degrees().to(x.dtype).clamp(min=1).pow(-0.5).unsqueeze(1)
                gl.srcdata["h"] = x * norm_src
                gl.update_all(fn.copy_u("h", "m"), fn.sum("m", "h"))
                return gl.dstdata["h"] * norm_dst

        fns["dgl"] = run_dgl
    if "torch.sparse" in names:
        # normalized CSR (row = destination), self-loops included, values precomputed
        indptr, indices, _ = dgl.add_self_loop(g).adj_tensors("csc")
        deg = (indptr[1:] - indptr[:-1]).to(dtype)
        rows = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
        vals = deg.rsqrt()[rows] * deg.rsqrt()[indices]
        del rows
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
            a_csr = torch.sparse_csr_tensor(indptr, indices, vals, (n, n))

        def run_sparse(x):
            return torch.sparse.mm(a_csr, x)

        fns["torch.sparse"] = run_sparse
    return fns


def time_fwd_bwd(fn_, x, gy):
    x.grad = None
    t0 = time.perf_counter()
    y = fn_(x)
    y.backward(gy)
    t = time.perf_counter() - t0
    del y
    return t


def median_fwd_bwd(g, features, repeats):
    """Median seconds of ``graph_spmm(g, x, norm="sym")`` forward + backward over ``repeats``
    calls with a random ``n x features`` input, after one call that builds the cached structure."""
    torch.manual_seed(0)
    x = torch.randn(g.num_nodes(), features, requires_grad=True)
    gy = torch.randn(g.num_nodes(), features)
    time_fwd_bwd(lambda v: graph_spmm(g, v, norm="sym"), x, gy)
    return statistics.median(time_fwd_bwd(lambda v: graph_spmm(g, v, norm="sym"), x, gy) for _ in range(repeats))


def bench_config(n, degree, F, args, dtype):
    g = random_symmetric_graph(n, degree, seed=args.seed)
    fns = make_contenders(g, dtype, args.contenders)
    gen = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(n, F, generator=gen, dtype=dtype).requires_grad_()
    gy = torch.randn(n, F, generator=gen, dtype=dtype)
    # correctness: every contender computes the same Y and dY/dX (first call also warms caches)
    outs = {}
    for name, f in fns.items():
        x.grad = None
        y = f(x)
        y.backward(gy)
        outs[name] = (y.detach(), x.grad.clone())
    ref_name = next(iter(outs))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else {}
    for name, (y, gx) in outs.items():
        torch.testing.assert_close(y, outs[ref_name][0], **tol, msg=f"{name} Y differs")
        torch.testing.assert_close(gx, outs[ref_name][1], **tol, msg=f"{name} dX differs")
    del outs
    for _ in range(args.warmup):
        for f in fns.values():
            time_fwd_bwd(f, x, gy)
    times = {k: [] for k in fns}
    names = list(fns)
    load_before = os.getloadavg()[0]
    t_start = time.perf_counter()
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            times[name].append(time_fwd_bwd(fns[name], x, gy))
        if r + 1 >= args.min_repeats and time.perf_counter() - t_start > args.max_seconds:
            break
    load_after = os.getloadavg()[0]
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    del fns, g, x, gy
    gc.collect()
    return {"n": n, "degree": degree, "F": F, "median_ms": med, "reps": len(times[names[0]]),
            "load": (load_before, load_after)}


def machine_info():
    from dglclust.reproduce import cpu_model

    model = cpu_model() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        cpus = fields.get("CPU(s)", "?").strip()
        l3 = fields.get("L3 cache", "?").strip()
        flags = fields.get("Flags", "")
        simd = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
        model = f"{model}, {cpus} CPUs, L3 {l3}, {simd}"
    except Exception:  # pragma: no cover - lscpu missing
        pass
    return (f"{model}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"dgl {dgl.__version__}, python {platform.python_version()}, "
            f"dglclust backend: {_ext.backend()}")


def fmt_row(res, contenders):
    med = res["median_ms"]
    cells = [f"{res['n']:,}", str(res["degree"]), str(res["F"])]
    cells += [f"{med[c]:.2f}" if c in med else "-" for c in contenders]
    ours = med.get("dglclust")
    for other in ("dgl", "torch.sparse"):
        if ours and other in med:
            cells.append(f"{med[other] / ours:.2f}x")
        else:
            cells.append("-")
    cells.append(f"{res['reps']}")
    cells.append(f"{res['load'][0]:.2f} / {res['load'][1]:.2f}")
    return "| " + " | ".join(cells) + " |"


def header(contenders):
    cols = ["n", "avg deg", "F"] + [f"{c} ms" for c in contenders]
    cols += ["speedup vs dgl", "speedup vs torch.sparse", "reps", "loadavg before / after"]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--degree", type=int, nargs="+", default=[10, 50])
    p.add_argument("--features", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--quick", action="store_true",
                   help="small subset: n in {1e4, 1e5}, degree 10, F in {16, 64}")
    p.add_argument("--repeats", type=int, default=21, help="timed repeats per contender (max)")
    p.add_argument("--min-repeats", type=int, default=5)
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="stop repeating a configuration after this long (>= --min-repeats)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's)")
    p.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also write the markdown report to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.degree, args.features = [10_000, 100_000], [10], [16, 64]
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    contenders = [c for c in CONTENDERS if c in args.contenders]

    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    lines = [f"Machine: {machine_info()}", "", f"Command: `{command}`", "",
             f"fwd+bwd of Y = D^-1/2 (A+I) D^-1/2 X ({args.dtype}), median ms over interleaved "
             "repeats; speedup = other / dglclust.", "", header(contenders)]
    print("\n".join(lines), flush=True)
    for n in args.n:
        for degree in args.degree:
            for F in args.features:
                res = bench_config(n, degree, F, args, dtype)
                row = fmt_row(res, contenders)
                lines.append(row)
                print(row, flush=True)
                if args.out:  # rewritten after every row, so an interrupted run keeps its rows
                    from dglclust.utils import atomic_write

                    with atomic_write(args.out) as fh:
                        fh.write("\n".join(lines) + "\n")
    return lines


if __name__ == "__main__":
    main()
