"""Run every benchmark, each against its baselines (contenders interleaved inside each script),
on an idle machine, and write bench/RESULTS.md with the machine, the load before and after every
section, and the command.

    python bench/run_all.py            # refuses when the 1-minute load is above 0.5 per core
    python bench/run_all.py --quick    # smaller grids (a few minutes)
    python bench/run_all.py --force    # run anyway; every section is then marked LOADED

Sections: memory bandwidth (STREAM-style probe), normalized_spmm at the target point (n = 1e5,
degree 10, F = 64) at 1 and 2 threads with its achieved bandwidth against the probe, the spmm grid
(n 1e4-1e6, degree 10/50, F 16-256), the DEC self-training step (student_t), the exact all-pairs
term of GAE/VGAE/CaEGCN's reconstruction losses (gram_pairwise), the AdaGAE graph
solve, the SDCN end-to-end epoch (extension vs the torch reference, fp32 and bf16), and SDCN end to
end against the official code (../shared/peers/sdcn, same seed and threads). Each
benchmark writes its own report (bench/results_<name>.md); this script assembles them.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def _lscpu() -> dict:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines())}


def cpu_name() -> str:
    """``"<model name> (family F model M)"``, e.g. ``"AMD EPYC (family 25 model 17)"``: the name
    the run records of ``dglclust reproduce``/``fit`` carry (``dglclust.reproduce.cpu_model``)."""
    from dglclust.reproduce import cpu_model

    return cpu_model() or "unknown CPU"


def machine_line() -> str:
    info = _lscpu()
    flags = set(info.get("Flags", "").split())
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch

    return (f"{cpu_name()}, {info.get('CPU(s)', os.cpu_count())} CPUs, flags: "
            f"{' '.join(shown) or 'none of avx2/avx512/bf16/amx'}{mem}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads by default), Python {sys.version.split()[0]}")


def append_report(out, title: str, lines: list[str]) -> str:
    """The section ``## <date time>, <machine>`` followed by ``lines``, printed and, when ``out`` is
    given, appended to that file (a new file starts with ``# <title>``), written to a temporary
    file, then renamed."""
    from dglclust.utils import atomic_write

    text = "\n".join([f"## {time.strftime('%Y-%m-%d %H:%M')}, {machine_line()}", ""] + lines) + "\n\n"
    print(text)
    if out:
        old = Path(out).read_text() if Path(out).exists() else f"# {title}\n\n"
        with atomic_write(out, "w") as fh:
            fh.write(old + text)
    return text


def sections(quick: bool):
    py = sys.executable
    b = str(HERE)
    spmm_grid = (["--n", "10000", "100000", "--degree", "10", "50", "--features", "16", "64", "256"]
                 if quick else [])
    return [
        ("stream", [py, f"{b}/bench_stream.py", "--threads", "1", "2"]),
        ("spmm_target_1t", [py, f"{b}/bench_spmm.py", "--n", "100000", "--degree", "10",
                            "--features", "64", "--repeats", "41", "--threads", "1"]),
        ("spmm_target_2t", [py, f"{b}/bench_spmm.py", "--n", "100000", "--degree", "10",
                            "--features", "64", "--repeats", "41", "--threads", "2"]),
        ("spmm", [py, f"{b}/bench_spmm.py", "--max-seconds", "20", *spmm_grid]),
        ("student_t", [py, f"{b}/bench_student_t.py", *(["--quick"] if quick else [])]),
        ("gram_pairwise", [py, f"{b}/bench_gram_pairwise.py", *(["--quick"] if quick else [])]),
        ("adagae", [py, f"{b}/bench_adagae.py", *(["--quick", "--no-memory"] if quick else [])]),
        ("e2e", [py, f"{b}/bench_e2e.py", "--datasets", "acm" if quick else "acm,usps",
                 "--epochs", "10" if quick else "20"]),
        ("vs_official", [py, f"{b}/bench_vs_official.py", "--dataset", "acm", "--seeds", "0",
                         "--threads", "2"]),
    ]


def l3_mib() -> float | None:
    """The L3 size lscpu reports, in MiB (a VM may report the host's)."""
    import re

    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^L3 cache:\s*([\d.]+)\s*(KiB|MiB|GiB)", out, re.M)
    if not m:
        return None
    return float(m.group(1)) * {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}[m.group(2)]


def cache_sentence(x_mb: float) -> str:
    """Whether the gathered X fits the reported L3 (then the floor is not a roofline)."""
    l3 = l3_mib()
    if l3 is None:
        return "The L3 size is unknown here; the floor is a lower bound on traffic."
    if x_mb * 1e6 / 2**20 <= l3:
        return (f"X ({x_mb:.1f} MB) fits the {l3:.0f} MiB L3 that lscpu reports, so the gathers are "
                "served mostly from cache: the floor is a lower bound on traffic, not a roofline")
    return (f"X ({x_mb:.1f} MB) exceeds the {l3:.0f} MiB L3, so the gathers come from DRAM and the "
            "floor is close to a roofline")


def spmm_bandwidth(report: str, stream: dict, n=100_000, degree=10, features=64):
    """Achieved bandwidth of the target point against the probe: the bytes a forward + backward
    must move at least (read X, write Y, read the CSR once, per direction) over the time."""
    import re

    rows = re.findall(r"^\|\s*100,000\s*\|\s*10\s*\|\s*64\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", report, re.M)
    if not rows:
        return None
    ours_ms, dgl_ms = float(rows[0][0]), float(rows[0][1])
    e = n * degree
    floor_bytes = 2 * (2 * n * features * 4 + e * 4 + (n + 1) * 8 + n * 4)
    return {"ours_ms": ours_ms, "dgl_ms": dgl_ms, "speedup": dgl_ms / ours_ms,
            "floor_mb": floor_bytes / 1e6, "achieved_gbs": floor_bytes / (ours_ms / 1e3) / 1e9}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--force", action="store_true", help="run even when the machine is loaded")
    ap.add_argument("--only", default=None, help="comma-separated section names")
    args = ap.parse_args(argv)
    command = "python bench/run_all.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    before = load_per_core()
    start_load = os.getloadavg()
    if before > 0.5 and not args.force:
        raise SystemExit(f"run_all: the 1-minute load is {os.getloadavg()[0]:.2f} on "
                         f"{os.cpu_count()} CPUs ({before:.2f} per core > 0.5): stop the other jobs "
                         "(benchmarks on a loaded machine are noise) or pass --force")
    machine = machine_line()
    only = set(args.only.split(",")) if args.only else None
    blocks, stream_gbs = [], {}
    for name, cmd in sections(args.quick):
        if only and name not in only:
            continue
        out = HERE / f"results_{name}.md"
        # the 1-minute average lags: let the previous section's own load decay (up to 2 minutes)
        # so that "LOADED" means another job, not the benchmark that just ended
        for _ in range(24):
            if load_per_core() <= 0.5:
                break
            time.sleep(5)
        la0 = os.getloadavg()
        t0 = time.time()
        proc = subprocess.run([*cmd, "--out", str(out)], cwd=ROOT, text=True, capture_output=True)
        la1 = os.getloadavg()
        loaded = la0[0] / (os.cpu_count() or 1) > 0.5
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"[{name}] {status} in {time.time() - t0:.0f} s, load {la0[0]:.2f} -> {la1[0]:.2f}",
              flush=True)
        body = out.read_text() if out.exists() and proc.returncode == 0 else \
            f"```\n{proc.stderr[-3000:]}\n```\n"
        if name == "stream" and proc.returncode == 0:
            import re

            for t, *vals in re.findall(r"^\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|",
                                       body, re.M):
                stream_gbs[int(t)] = float(vals[3])  # triad
        if name.startswith("spmm_target") and proc.returncode == 0:
            t = int(name[-2])
            bw = spmm_bandwidth(body, stream_gbs)
            if bw:
                ref = stream_gbs.get(t)
                body += (f"\n**Target point, {t} thread(s): {bw['speedup']:.2f}x DGL.** The forward + "
                         f"backward must move at least {bw['floor_mb']:.1f} MB (read X and write Y "
                         "per direction, the CSR once per direction); at "
                         f"{bw['ours_ms']:.2f} ms that is {bw['achieved_gbs']:.1f} GB/s"
                         + (f", {100 * bw['achieved_gbs'] / ref:.0f}% of the probe's triad "
                            f"bandwidth ({ref:.1f} GB/s at {t} thread(s))" if ref else "")
                         + f". {cache_sentence(25.6)}\n")
        blocks.append((name, status, la0, la1, loaded, body))
    after = os.getloadavg()
    head = [
        "# Benchmark results", "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}.", "",
        f"**Machine**: {machine}.", "",
        f"**Load average** (1/5/15 min) before: {' / '.join(f'{v:.2f}' for v in start_load)}"
        f" at start ({before:.2f} per core), after: {' / '.join(f'{v:.2f}' for v in after)}. "
        "Every section below records the load it started and ended at (each waits up to 2 minutes "
        "for the previous section's load to decay below 0.5 per core); a section marked LOADED "
        "started above that and is not a measurement of the code.", "",
        "Each benchmark runs its contenders interleaved (rotating order, one process), so a "
        "disturbance hits them alike; speed-ups are ratios from one run.", "",
        "Whole fits on large graphs take up to an hour each and are run one at a time by "
        "`bench/bench_scale.py`, not by this script: [results_scale.md](results_scale.md) "
        "(planted partitions of 100k-1M nodes, every model), [results_scale_acm.md]"
        "(results_scale_acm.md) (full batch against the large-graph modes on ACM/CiteSeer), "
        "[results_thp.md](results_thp.md) (the sparse product's cost per edge from 100k to 2M nodes, "
        "and transparent huge pages off against on: `bench/bench_thp.py`); "
        "summarized in [docs/scale.md](../docs/scale.md).", "",
    ]
    parts = []
    for name, status, la0, la1, loaded, body in blocks:
        parts += ["---", "", f"<!-- section {name}: {status}; load {la0[0]:.2f} -> {la1[0]:.2f}"
                  f"{' LOADED' if loaded else ''} -->", "",
                  f"_Section `{name}`: {status}; load {la0[0]:.2f} -> {la1[0]:.2f}"
                  f"{' (LOADED)' if loaded else ''}._", "", body.strip(), ""]
    from dglclust.utils import atomic_write

    target = HERE / ("RESULTS.md" if not only else "RESULTS.partial.md")
    with atomic_write(target) as fh:
        fh.write("\n".join(head + parts) + "\n")
    print(f"wrote {target}")
    print(json.dumps({"load_before": before, "load_after": after[0]}))


if __name__ == "__main__":
    main()
