"""GPU benchmarks for bench/gpu/run.sh (needs CUDA): normalized_spmm vs torch.sparse (cuSPARSE)
with the achieved fraction of the measured device bandwidth, student_t vs the naive broadcast,
adagae_graph vs cdist + topk, and SDCN / DFCN epochs on ACM. CUDA events time every op; contenders
alternate inside one process. Writes a markdown report (--out)."""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402


def timed(fn, repeats=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def device_bandwidth():
    x = torch.empty(2**28, device="cuda")  # 1 GiB
    y = torch.empty_like(x)
    ms = timed(lambda: y.copy_(x), 10)
    return 2 * x.numel() * 4 / (ms / 1e3) / 1e9


def random_graph(n, degree, gen):
    m = n * degree // 2
    src = torch.randint(0, n, (m,), generator=gen)
    dst = torch.randint(0, n, (m,), generator=gen)
    keep = src != dst
    s, d = torch.cat([src[keep], dst[keep]]), torch.cat([dst[keep], src[keep]])
    key = torch.unique(s * n + d)
    s, d = key // n, key % n
    indptr = torch.zeros(n + 1, dtype=torch.int64)
    indptr[1:] = torch.bincount(s, minlength=n).cumsum(0)
    return indptr, d


def bench_spmm(rows, bw):
    from dglclust.ops import normalized_spmm
    from dglclust.ops._reference import edge_norm_values

    gen = torch.Generator().manual_seed(0)
    for n, degree, f in [(100_000, 10, 64), (1_000_000, 10, 64), (1_000_000, 50, 64), (1_000_000, 10, 256)]:
        indptr, indices = random_graph(n, degree, gen)
        ip, ix = indptr.cuda(), indices.cuda()
        x = torch.randn(n, f, device="cuda", requires_grad=True)
        gy = torch.randn(n, f, device="cuda")
        r, c, v = edge_norm_values(ip, ix, n)
        a = torch.sparse_coo_tensor(torch.stack([r, c]), v, (n, n)).coalesce().to_sparse_csr()
        ref = torch.sparse.mm(a, x.detach())
        ours = normalized_spmm(ip, ix, x.detach(), symmetric=True)
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)

        def run_ours():
            y = normalized_spmm(ip, ix, x, symmetric=True)
            y.backward(gy)

        def run_sparse():
            y = torch.sparse.mm(a, x)
            y.backward(gy)

        t_ours, t_sp = timed(run_ours), timed(run_sparse)
        e = indices.numel()
        floor = 2 * (2 * n * f * 4 + e * 4 + (n + 1) * 8)
        gathered = 2 * (e * f * 4 + n * f * 4 + e * 4)
        rows.append(f"| {n:,} | {degree} | {f} | {t_ours:.3f} | {t_sp:.3f} | {t_sp / t_ours:.2f}x | "
                    f"{floor / (t_ours / 1e3) / 1e9:.0f} ({100 * floor / (t_ours / 1e3) / 1e9 / bw:.0f}%) | "
                    f"{gathered / (t_ours / 1e3) / 1e9:.0f} |")


def bench_student_t(rows):
    from dglclust.ops import student_t, target_distribution
    from dglclust.ops.student_t import student_t_reference

    for n, k, d in [(1_000_000, 10, 10), (1_000_000, 50, 64)]:
        z = torch.randn(n, d, device="cuda", requires_grad=True)
        c = torch.randn(k, d, device="cuda", requires_grad=True)

        def step(fn):
            q = fn(z, c)
            p = target_distribution(q)
            torch.nn.functional.kl_div(q.log(), p, reduction="batchmean").backward()

        t1, t2 = timed(lambda: step(student_t)), timed(lambda: step(student_t_reference))
        rows.append(f"| student_t step | n={n:,} k={k} d={d} | {t1:.3f} | {t2:.3f} (naive broadcast) | {t2 / t1:.2f}x |")


def bench_adagae(rows):
    from dglclust.ops import adagae_graph

    for n, d in [(50_000, 64), (100_000, 64)]:
        x = torch.randn(n, d, device="cuda")

        def naive():
            dist = torch.cdist(x, x).pow_(2)
            dist.fill_diagonal_(float("inf"))
            return dist.topk(11, largest=False)

        t1 = timed(lambda: adagae_graph(x, 10), 5, 1)
        t2 = timed(naive, 5, 1) if n * n * 4 < 30e9 else float("nan")
        rows.append(f"| adagae_graph k=10 | n={n:,} d={d} | {t1:.2f} | {t2:.2f} (cdist + topk, n x n) | {t2 / t1:.2f}x |")


def bench_epochs(rows):
    from dglclust.cluster import DFCN, SDCN
    from dglclust.data import load_dataset

    g = load_dataset("acm")[0]
    for cls in (SDCN, DFCN):
        fits = {}
        for epochs in (2, 22):
            est = cls.from_config("acm", random_state=0, device="cuda", verbose=False, epochs=epochs)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            est.fit(g)
            torch.cuda.synchronize()
            fits[epochs] = (time.perf_counter() - t0, est)
        per_epoch = (fits[22][0] - fits[2][0]) / 20
        rows.append(f"| {cls.__name__} epoch on ACM | precision {fits[22][1].precision_} | "
                    f"{1e3 * per_epoch:.1f} | fit with 22 epochs: {fits[22][0]:.1f} s | |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/results_gpu.md")
    ap.add_argument("--tests", default=None, help="pytest summary to include")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA device (torch.cuda.is_available() is False)")
    import dglclust.ops as ops

    bw = device_bandwidth()
    spmm_rows, other_rows = [], []
    for fn, dest in ((lambda: bench_spmm(spmm_rows, bw), None), (lambda: bench_student_t(other_rows), None),
                     (lambda: bench_adagae(other_rows), None), (lambda: bench_epochs(other_rows), None)):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - report and go on with the other parts
            other_rows.append(f"| FAILED | {type(exc).__name__}: {str(exc)[:200]} | | | |")
    tests = open(args.tests).read().strip() if args.tests and os.path.exists(args.tests) else "not run"
    body = f"""# GPU results

Generated by `bash bench/gpu/run.sh` on {time.strftime('%Y-%m-%d %H:%M')}: {torch.cuda.get_device_name(0)},
torch {torch.__version__} (CUDA {torch.version.cuda}), dglclust backend {ops.backend()}. Median of
CUDA-event timings; contenders alternate in one process.

Measured device bandwidth (1 GiB device-to-device copy, read + write): **{bw:.0f} GB/s**.

## CUDA tests

```
{tests}
```

## normalized_spmm, forward + backward (float32, symmetric random graph)

floor GB/s: the bytes that must move at least (X read and Y written per direction, the CSR once per
direction) over the time, and its share of the measured bandwidth; gathered GB/s counts every
neighbour row read.

| n | degree | F | dglclust ms | torch.sparse (cuSPARSE CSR) ms | speedup | floor GB/s (% of copy bw) | gathered GB/s |
|---|---|---|---|---|---|---|---|
""" + "\n".join(spmm_rows) + """

## Other kernels and end-to-end epochs

| what | size | dglclust ms | baseline ms | speedup |
|---|---|---|---|---|
""" + "\n".join(other_rows) + "\n"
    from dglclust.utils import atomic_write

    with atomic_write(args.out) as fh:
        fh.write(body)
    print(body)


if __name__ == "__main__":
    main()
