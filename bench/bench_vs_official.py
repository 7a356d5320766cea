"""SDCN end to end against the official code, side by side on this machine: the same dataset,
seed and thread count, interleaved (official, ours fp32, ours bf16 where native, then the next
seed), each run in its own process with a cold pretraining cache.

The official code is the one in ../shared/peers/sdcn (its runner pretrains the AE with the
repository's recipe and runs sdcn.py's 200 epochs); ours is `python -m dglclust fit --model sdcn
--set minibatch=false` (full batch, as the official code; SDCN's ACM config trains on 256-node
batches).
Wall time is the whole process (imports, data, pretraining, KMeans, training); the official runner
reports its own phases too.

    python bench/bench_vs_official.py --dataset acm --seeds 0 --threads 2 --out bench/results_vs_official.md
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER = ROOT.parent / "shared" / "peers" / "sdcn"
OFFICIAL_NAME = {"acm": "acm", "dblp": "dblp", "citeseer": "cite"}


def run(cmd, cwd, env):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="acm", choices=sorted(OFFICIAL_NAME))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if not (PEER / "run_official.py").is_file():
        raise SystemExit(f"the official SDCN runner is not at {PEER}")
    sys.path.insert(0, str(ROOT))
    from dglclust.train.precision import cpu_bf16_native

    work = Path(tempfile.mkdtemp(prefix="sdcn_official_"))
    subprocess.run([str(PEER / "setup_workdir.sh"), str(work)], check=True, capture_output=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    precisions = ["fp32"] + (["bf16"] if cpu_bf16_native() else [])
    rows = []
    for seed in args.seeds:
        wall, out = run([sys.executable, "run_official.py", OFFICIAL_NAME[args.dataset], str(seed)], work, env)
        rec = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
        rows.append(("official", seed, wall, rec))
        for prec in precisions:
            with tempfile.TemporaryDirectory() as cache:
                e = dict(env, DGLCLUST_CACHE=cache)
                out_json = Path(cache) / "fit.json"
                wall, _ = run([sys.executable, "-m", "dglclust", "fit", "--model", "sdcn", "--dataset",
                               args.dataset, "--seed", str(seed), "--quiet", "--device", "cpu",
                               "--set", f"precision={prec}",
                               # full batch, as the official code (SDCN's ACM config uses 256-node batches)
                               "--set", "minibatch=false", "--out", str(out_json)], ROOT, e)
                rec = json.loads(out_json.read_text())
            rows.append((f"dglclust {prec}", seed, wall, rec))
    lines = ["# SDCN end to end vs the official code", "",
             f"{args.dataset}, {args.threads} threads (OMP_NUM_THREADS), seeds {args.seeds}; wall time of "
             "the whole process (pretraining + KMeans + 200 epochs), cold caches; ACC of the final "
             "epoch.", "",
             "| code | seed | wall s | ratio official / this | final ACC | details |", "|---|---|---|---|---|---|"]
    official = {s: w for name, s, w, _ in rows if name == "official"}
    for name, seed, wall, rec in rows:
        if name == "official":
            acc = rec.get("final", {}).get("acc") if isinstance(rec.get("final"), dict) else rec.get("final_acc")
            details = ", ".join(f"{k}={v}" for k, v in rec.items() if k.endswith("_s") or "seconds" in k)
        else:
            acc = (rec.get("metrics") or {}).get("acc")
            details = (f"pretraining {rec.get('pretrain_time_s', 0):.1f} s, fit {rec.get('fit_time_s', 0):.1f} s, "
                       f"precision {rec.get('precision')}")
        if isinstance(acc, (int, float)) and acc <= 1.0:
            acc = 100.0 * acc  # the official runner reports fractions
        acc_s = f"{acc:.2f}" if isinstance(acc, (int, float)) else str(acc)
        lines.append(f"| {name} | {seed} | {wall:.1f} | {official[seed] / wall:.2f}x | {acc_s} | {details} |")
    body = "\n".join(lines) + "\n\nOfficial runner output (last run): `" + json.dumps(rows[0][3])[:600] + "`\n"
    print(body)
    if args.out:
        sys.path.insert(0, str(ROOT))
        from dglclust.utils import atomic_write

        with atomic_write(args.out) as fh:
            fh.write(body)


if __name__ == "__main__":
    main()
