"""Memory-mapped features (``fit --mmap-features``) against features in memory: the process's
anonymous and file-backed memory, and whether a fit completes under a memory limit.

Each fit runs as a user would run it, ``python -m dglclust fit --model M --dataset D --seed S
--quiet [--mmap-features] [--set ...]``, in its own process; this script samples that process's
``/proc/<pid>/status`` every 50 ms and keeps the peaks of ``RssAnon`` (memory only the process
holds: heap, tensors, features read into memory), ``RssFile`` (file pages mapped into it: the
memory-mapped features, shared libraries; the kernel can drop them under pressure and read them
again) and ``VmRSS`` (their sum), plus the kernel's own ``VmHWM``. The two modes alternate
(memory, mmap, memory, mmap ...) so that both see the same machine.

``--limit-gb L`` runs each fit inside a cgroup-v1 memory cgroup limited to L GB (page cache
counted and reclaimable; no swap on the test machine): a fit whose anonymous memory needs more
than L is killed by the kernel (exit -9), recorded as ``"oom-killed"``. Before each such fit the
dataset's cache files are evicted from the page cache (``posix_fadvise(DONTNEED)``): a page is
charged to the cgroup that first reads it, so pages left by an earlier fit would not count.

    python bench/bench_feature_store.py --dataset sbm-1m --model dec --set epochs=5 \\
        --repeats 1 --out bench/results_feature_store.md
    python bench/bench_feature_store.py --dataset sbm-1m --model dec --set epochs=5 \\
        --limit-gb 2.2 --out bench/results_feature_store.md

``--compare order`` runs memory-mapped fits only, alternating ``--set batch_order=random`` and
``--set batch_order=rows`` (random runs of consecutive rows): with a limit below what the fit and
its feature file need together, the kernel must read feature pages again, and the bytes it reads
for the fit (``read_bytes`` of ``/proc/<pid>/io``) and the fit's major page faults show how much
each batch order reads per row it uses:

    python bench/bench_feature_store.py --dataset sbm-1m --model dec --set epochs=5 \
        --compare order --limit-gb 2.2 --out bench/results_feature_store.md

``--planted N,D`` fits the user's way instead, on files: a planted partition with N nodes and
D-dimensional features (``dglclust.data.planted_partition(N, d=D, seed=0)``, the ``sbm-*``
generator; 10 blocks), written once to ``<cache>/bench/planted-NxD/`` as ``features.npy`` (float32,
N x D x 4 bytes) and ``labels.npy``, then ``python -m dglclust fit --model M --features
features.npy --labels labels.npy [--mmap-features]``: a feature file larger than the memory limit
(no graph: AE+KMeans, DEC and IDEC read none), each fit with an empty cache folder (its AE
pretraining included). The models' settings come from ``--set``:

    python bench/bench_feature_store.py --planted 1000000,1024 --model dec --limit-gb 2 \
        --set input_pca=clusters --set pretrain_epochs=5 --set pretrain_batch_size=1024 \
        --set pretrain_restarts=1 --set epochs=30 --out bench/results_feature_store.md

Each fit is appended as a JSON line to ``<out>.jsonl``; the table in ``<out>`` is rebuilt from
all lines.
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
CGROUP = Path("/sys/fs/cgroup/memory")
FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")


def _status_kb(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in FIELDS:
                    out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _io(pid):
    """``(bytes read from storage, major page faults)`` of a running process so far."""
    try:
        with open(f"/proc/{pid}/io") as fh:
            read = next(int(ln.split()[1]) for ln in fh if ln.startswith("read_bytes:"))
        with open(f"/proc/{pid}/stat") as fh:
            majflt = int(fh.read().rsplit(")", 1)[1].split()[9])
        return read, majflt
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def limited(cmd, limit_gb):
    """``(argv, group)``: ``cmd`` run inside a new cgroup-v1 memory cgroup limited to
    ``limit_gb`` GB (remove ``group`` with ``rmdir`` when the process has exited)."""
    group = CGROUP / f"dglclust-bench-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as exc:
        raise SystemExit(f"--limit-gb needs a writable cgroup-v1 memory hierarchy at "
                         f"{CGROUP} (root, cgroup v1): {exc}") from None
    (group / "memory.limit_in_bytes").write_text(str(int(limit_gb * 2**30)))
    # the shell joins the cgroup, then becomes the command: every allocation is counted
    return ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *cmd], group


def evict_file(path):
    """Drop ``path`` from the page cache; returns its size in bytes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def evict(dataset):
    """Drop the dataset's processed cache files from the page cache; returns their total GB."""
    from dglclust.utils import cache_dir

    total = sum(evict_file(path) for path in (cache_dir() / "processed" / dataset).glob("*"))
    return round(total / 2**30, 2)


def planted_files(n, d, k=10):
    """``(features.npy, labels.npy)`` of ``planted_partition(n, k, d=d, seed=0)`` in the cache
    folder, generated on first use (in a child process, so that its memory is not this one's)."""
    from dglclust.utils import cache_dir

    folder = cache_dir() / "bench" / f"planted-{n}x{d}"
    feats, labels = folder / "features.npy", folder / "labels.npy"
    if not (feats.is_file() and labels.is_file()):
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import bench_feature_store as b; "
                f"b.generate_planted({n}, {d}, {k}, {str(folder)!r})")
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return feats, labels


def generate_planted(n, d, k, folder):
    """Write ``planted_partition(n, k, d=d, seed=0)``'s features and labels to ``folder``."""
    import numpy as np

    from dglclust.data import planted_partition, save_features
    from dglclust.utils import atomic_write

    out = planted_partition(n, k, d=d, seed=0)
    save_features(Path(folder) / "features.npy", out.pop("features"))  # atomically
    with atomic_write(Path(folder) / "labels.npy", "wb") as fh:
        np.save(fh, out["labels"])


def fit_once(model, dataset, seed, sets, mmap, limit_gb=None, timeout=3600, files=None):
    """One fit of ``model`` on ``dataset`` (a registered name) or, with ``files`` =
    ``(features.npy, labels.npy)``, on those files through ``--features``/``--labels``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        from bench_scale import fit_command

        data = None if files is None else ["--features", files[0], "--labels", files[1]]
        cmd = fit_command(model, dataset, seed, sets, out, data=data)
        if mmap:
            cmd.append("--mmap-features")
        group = None
        argv = cmd
        evicted = False
        if limit_gb:
            if files is None:
                evict(dataset)
            else:
                evict_file(files[0])
            evicted = True
            argv, group = limited(cmd, limit_gb)
        from run_all import cpu_name

        la0 = os.getloadavg()[0]
        peak = {k: 0 for k in FIELDS}
        io_last = None
        t0 = time.time()
        env = None
        if files is not None:  # a whole fit, as on a new machine: the AE pretraining included
            env = {**os.environ, "DGLCLUST_CACHE": str(Path(tmp) / "cache")}
        with subprocess.Popen(argv, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True, env=env) as child:
            while child.poll() is None:
                for k, v in _status_kb(child.pid).items():
                    peak[k] = max(peak[k], v)
                io_last = _io(child.pid) or io_last  # the last sample before the fit exits
                if time.time() - t0 > timeout:
                    os.killpg(child.pid, 9)
                    break
                time.sleep(0.05)
            stdout, stderr = child.communicate()
        wall = time.time() - t0
        row = {"model": model, "dataset": dataset, "seed": seed, "sets": sets,
               "features": "mmap" if mmap else "memory", "limit_gb": limit_gb, "evicted": evicted,
               "machine": cpu_name(),
               "command": "python -m dglclust " + " ".join(shlex.quote(c) for c in cmd[3:]),
               "threads": os.environ.get("OMP_NUM_THREADS"),
               "wall_s": round(wall, 1), "load_before": round(la0, 2),
               "load_after": round(os.getloadavg()[0], 2),
               **{f"peak_{k}_gb": round(v / 2**20, 2) for k, v in peak.items()}}
        if io_last is not None:
            row.update(read_gb=round(io_last[0] / 2**30, 2), major_faults=io_last[1])
        if group is not None:
            row["cgroup_max_usage_gb"] = round(
                int((group / "memory.max_usage_in_bytes").read_text()) / 2**30, 2)
            group.rmdir()
        if child.returncode == 0 and out.is_file():
            rec = json.loads(out.read_text())
            row.update(exit="ok", pretrained_from_cache=rec.get("pretrained_from_cache"),
                       fit_s=rec.get("fit_time_s"),
                       **{m: rec["metrics"].get(m) for m in ("acc", "nmi", "ari")})  # percent
        elif child.returncode in (-9, 137):
            row.update(exit="oom-killed" if limit_gb else "killed")
        else:
            row.update(exit=f"rc {child.returncode}", stderr=stderr[-2000:])
        return row


def table(rows):
    lines = ["| dataset | model | features | threads | memory limit | exit | ACC | AE | wall (s) "
             "| peak RssAnon (GB) | peak RssFile (GB) | peak VmRSS (GB) | VmHWM (GB) "
             "| read from disk (GB) | major faults | load before |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        acc = f"{r['acc']:.2f}" if r.get("acc") is not None else "-"
        ae = {True: "cached", False: "trained"}.get(r.get("pretrained_from_cache"), "-")
        lim = "none"
        if r.get("limit_gb"):  # the first limited rows ran before evict() existed
            lim = f"{r['limit_gb']} GB" + ("" if r.get("evicted") else " (cache not evicted)")
        note = f" ({r['note']})" if r.get("note") else ""
        lines.append(f"| {r['dataset']} | {r['model']} {' '.join(r['sets'])}{note} | {r['features']} | "
                     f"{r.get('threads') or '-'} | {lim} | {r['exit']} | {acc} | {ae} | "
                     f"{r['wall_s']:.0f} | "
                     f"{r['peak_RssAnon_gb']} | {r['peak_RssFile_gb']} | {r['peak_VmRSS_gb']} | "
                     f"{r['peak_VmHWM_gb']} | {r.get('read_gb', '-')} | "
                     f"{r.get('major_faults', '-')} | {r['load_before']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="sbm-1m")
    ap.add_argument("--planted", default=None, metavar="N,D",
                    help="fit on feature/label files of a planted partition with N nodes and D "
                         "features instead of --dataset (docstring)")
    ap.add_argument("--model", default="dec")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--repeats", type=int, default=1, help="pairs (memory, mmap) to run")
    ap.add_argument("--compare", choices=("features", "order"), default="features",
                    help="features: in memory against memory-mapped; order: memory-mapped with "
                         "batch_order=random against batch_order=rows")
    ap.add_argument("--only", choices=("memory", "mmap"), default=None,
                    help="with --compare features: run only this mode")
    ap.add_argument("--limit-gb", type=float, default=None)
    ap.add_argument("--out", default="bench/results_feature_store.md")
    args = ap.parse_args(argv)
    out = Path(args.out)
    jsonl = out.with_suffix(".jsonl")
    files = None
    if args.planted:
        n, d = (int(v) for v in args.planted.split(","))
        files = planted_files(n, d)
        args.dataset = f"planted {n:,} x {d} (files)"
    else:
        # the memory-mapped cache is split from the whole-graph one on its first use: not measured
        subprocess.run([sys.executable, "-c", "from dglclust.data import load_dataset; "
                        f"load_dataset({args.dataset!r}, mmap_features=True)"],
                       cwd=ROOT, check=True)
    runs = ([(False, args.sets), (True, args.sets)] if args.compare == "features" else
            [(True, [*args.sets, f"batch_order={o}"]) for o in ("random", "rows")])
    if args.only:
        runs = [(mmap, sets) for mmap, sets in runs if mmap == (args.only == "mmap")]
    for _ in range(args.repeats):
        for mmap, sets in runs:
            row = fit_once(args.model, args.dataset, args.seed, sets, mmap, args.limit_gb,
                           files=files)
            print(json.dumps(row), flush=True)
            with open(jsonl, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    write_table(out, jsonl)


def write_table(out, jsonl):
    """Rebuild the table in ``out`` from every line of ``jsonl``."""
    rows = [json.loads(ln) for ln in Path(jsonl).read_text().splitlines() if ln.strip()]
    from dglclust.utils import atomic_write

    with atomic_write(out, "w") as fh:
        fh.write("# Memory-mapped features against features in memory\n\n"
                 "Written by `bench/bench_feature_store.py` (its docstring has the commands); one "
                 "row per fit, in the order run.\n\n" + table(rows) + "\n")


if __name__ == "__main__":
    main()
