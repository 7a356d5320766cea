"""Large graphs: wall time, peak RSS and quality of whole fits on planted partitions.

Every fit runs as a user would run it, ``python -m dglclust fit --model M --dataset D --seed S``
(the dataset's config section applies: ``dglclust/configs/<model>.yaml``, ``datasets: sbm-*``),
in its own process under ``/usr/bin/time`` (peak RSS of that process), one at a time. The two
trivial baselines (``kmeans``, ``kmeans-prop``) are fits like the others.

    python bench/bench_scale.py --datasets sbm-100k,sbm-1m --models kmeans,kmeans-prop,dec,gae \\
        --seeds 0 --out bench/results_scale.md

Each finished fit is appended as one JSON line to ``<out>.jsonl`` (a rerun skips what is there,
``--overwrite`` redoes it) and the table in ``<out>`` is rebuilt from all lines.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def fit_command(model, dataset, seed, sets, out, data=None):
    """``python -m dglclust fit`` of one model, dataset and seed, quiet, writing ``out``; ``data``
    (e.g. ``["--features", F, "--labels", L]``) replaces ``--dataset dataset``."""
    data = ["--dataset", dataset] if data is None else [str(a) for a in data]
    cmd = [sys.executable, "-m", "dglclust", "fit", "--model", model, *data,
           "--seed", str(seed), "--quiet", "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def fit_once(model, dataset, seed, sets, timeout, nproc=1):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = fit_command(model, dataset, seed, sets, out)
        if nproc > 1:
            cmd += ["--nproc", str(nproc)]
        from run_all import cpu_name

        la0 = os.getloadavg()[0]
        t0 = time.time()
        # own session: a timeout kills the whole group (time and the fit), not only /usr/bin/time
        with subprocess.Popen(["/usr/bin/time", "-f", "PEAK_RSS_KB=%M", *cmd], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True) as child:
            try:
                stdout, stderr = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, 9)
                child.communicate()
                raise
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        wall = time.time() - t0
        rss = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK_RSS_KB=")]
        row = {"model": model, "dataset": dataset, "seed": seed, "sets": sets, "nproc": nproc,
               "machine": cpu_name(),
               "command": "python -m dglclust " + " ".join(shlex.quote(c) for c in cmd[3:]),
               "wall_s": round(wall, 1), "peak_rss_gb": round(int(rss[-1].split("=")[1]) / 2**20, 2)
               if rss else None, "load_before": round(la0, 2), "load_after": round(os.getloadavg()[0], 2),
               "exit": proc.returncode}
        if proc.returncode != 0 or not out.exists():
            row["error"] = proc.stderr[-2000:]
            return row
        rec = json.loads(out.read_text())
        row["metrics"] = rec.get("metrics")
        row["fit_s"] = rec.get("fit_time_s")
        row["pretrain_s"] = rec.get("pretrain_time_s")
        row["n_iter"] = rec.get("n_iter")
        row["batch_size"] = rec.get("batch_size")
        if rec.get("timings"):  # the model's own split (AdaGAE: graph updates, training, clustering)
            row["timings"] = rec["timings"]
        return row


def table(rows):
    lines = ["| dataset | model | seed | ACC | NMI | ARI | wall (s) | fit (s) | pretrain (s) | peak RSS (GB) "
             "| load before / after | settings | machine |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r.get("metrics") or {}

        def pct(k):
            return f"{m[k]:.2f}" if k in m and m[k] is not None else "-"  # percent already
        fit = f"{r['fit_s']:.0f}" if r.get("fit_s") is not None else "-"
        pre = f"{r['pretrain_s']:.0f}" if r.get("pretrain_s") else "-"
        status = "" if r.get("exit") == 0 else f" FAILED (exit {r.get('exit')})"
        procs = f" x{r['nproc']} processes" if r.get("nproc", 1) > 1 else ""
        lines.append(f"| {r['dataset']} | {r['model']}{procs}{status} | {r['seed']} | {pct('acc')} | {pct('nmi')} "
                     f"| {pct('ari')} | {r['wall_s']:.0f} | {fit} | {pre} | {r['peak_rss_gb']} "
                     f"| {r['load_before']} / {r['load_after']} | {' '.join(r['sets']) or '-'} "
                     f"| {r.get('machine', 'not recorded')} |")
    return "\n".join(lines)


def _record(jl: Path, row: dict, key_of) -> list:
    """Add ``row`` to the jsonl (replacing a row with its key) and return all rows. The file is
    read again under an exclusive lock just before the write, so two bench runs with the same
    ``--out`` (e.g. two one-thread lanes) keep each other's rows."""
    import fcntl

    from dglclust.utils import atomic_write

    with open(jl.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = [json.loads(ln) for ln in jl.read_text().splitlines() if ln.strip()] if jl.exists() else []
        rows = [r for r in rows if key_of(r) != key_of(row)] + [row]
        with atomic_write(jl, "w") as fh:
            fh.write("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="sbm-100k")
    ap.add_argument("--models", default="kmeans,kmeans-prop,dec,idec,gae,vgae")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE for every fit")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per fit")
    ap.add_argument("--nproc", type=int, default=1, help="fit --nproc N (torch.distributed)")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results_scale.md"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    jl = out.with_suffix(".jsonl")
    rows = [json.loads(ln) for ln in jl.read_text().splitlines() if ln.strip()] if jl.exists() else []
    def key_of(r):
        return (r["model"], r["dataset"], r["seed"], tuple(r["sets"]), r.get("nproc", 1))

    done = {key_of(r) for r in rows if r.get("exit") == 0}
    for ds in args.datasets.split(","):
        for model in args.models.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                key = (model, ds, seed, tuple(args.set), args.nproc)
                if key in done and not args.overwrite:
                    continue
                print(f"fit {model} on {ds} seed {seed} ...", flush=True)
                try:
                    row = fit_once(model, ds, seed, list(args.set), args.timeout, args.nproc)
                except subprocess.TimeoutExpired:
                    row = {"model": model, "dataset": ds, "seed": seed, "sets": list(args.set),
                           "nproc": args.nproc,
                           "exit": "timeout", "wall_s": args.timeout, "peak_rss_gb": None,
                           "load_before": None, "load_after": None}
                print(json.dumps({k: row.get(k) for k in ("model", "dataset", "metrics", "wall_s",
                                                          "peak_rss_gb", "exit")}), flush=True)
                rows = _record(jl, row, key_of)
    from run_all import machine_line

    body = ["# Large graphs: whole fits on planted partitions", "",
            f"Machine of the last run: {machine_line()}; each row names the CPU it ran on.", "",
            "Each row is one `python -m dglclust fit` in its own process (the command is in "
            f"{jl.name}), run alone on the machine (the load average before/after is in the row); "
            "peak RSS of that process from /usr/bin/time; ACC/NMI/ARI in percent of the final "
            "labels; pretraining seconds are part of the fit seconds, and the wall time adds the "
            "start-up and the dataset load (generated once, then read from the cache).", "",
            f"Command: `python bench/bench_scale.py {' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))}`",
            "", table(rows), ""]
    from dglclust.utils import atomic_write

    with atomic_write(out, "w") as fh:
        fh.write("\n".join(body))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
