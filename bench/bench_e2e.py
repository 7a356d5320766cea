"""End-to-end SDCN epoch time (forward + backward + Adam step) on real datasets.

Compares the compiled ops ("extension") with the pure-torch references (``DGLCLUST_NO_EXT=1``,
i.e. DGL ``update_all`` propagation and the naive Student's-t), each in fp32 and under bf16
autocast, every configuration in its own subprocess (the backend is chosen at import time).

    python bench/bench_e2e.py --datasets acm,usps --epochs 20 --out bench/results_e2e.md
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time, resource, torch
import dglclust
from dglclust.data import load_dataset
from dglclust.models import SDCNModule
from dglclust.ops import backend, target_distribution
from dglclust.train import kl_div
from dglclust.train.precision import autocast
ds, epochs, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = load_dataset(ds)
g = data[0]; x = g.ndata["feat"]
torch.manual_seed(0)
m = SDCNModule(x.shape[1], data.num_classes)
opt = torch.optim.Adam(m.parameters(), 1e-3)
dev = torch.device("cpu")
def step():
    with autocast(dev, precision):
        out = m(g, x)
    p = target_distribution(out["q"])
    loss = 0.1 * kl_div(out["q"].log(), p) + 0.01 * kl_div(torch.log_softmax(out["logits"], 1), p) \
        + torch.nn.functional.mse_loss(out["x_hat"], x)
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(3):
    step()
ts = []
for _ in range(epochs):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(json.dumps({"dataset": ds, "precision": precision, "backend": backend(), "times": ts,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(ds, epochs, precision, no_ext):
    env = dict(os.environ)
    if no_ext:
        env["DGLCLUST_NO_EXT"] = "1"
    else:
        env.pop("DGLCLUST_NO_EXT", None)
    out = subprocess.run([sys.executable, "-c", CHILD, ds, str(epochs), precision], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="acm,usps")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    rows = []
    for ds in args.datasets.split(","):
        for precision in ("fp32", "bf16"):
            for no_ext in (True, False):
                r = run(ds, args.epochs, precision, no_ext)
                med = statistics.median(r["times"]) * 1e3
                rows.append((ds, r["backend"], precision, med, 200 * med / 1e3, r["peak_rss_mb"]))
                print(rows[-1], flush=True)
    lines = ["| dataset | ops backend | precision | median ms / epoch | 200 epochs (s) | peak RSS (MB) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {d} | {b} | {p} | {m:.0f} | {s:.1f} | {r:.0f} |" for d, b, p, m, s, r in rows]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    header = (f"Machine: {cpu}, {os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}; loadavg at end "
              f"{os.getloadavg()}; {time.strftime('%Y-%m-%d')}\n\n"
              f"Command: `python bench/bench_e2e.py --datasets {args.datasets} --epochs {args.epochs}`\n")
    text = header + "\n" + "\n".join(lines) + "\n"
    print(text)
    if args.out:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from dglclust.utils import atomic_write

        with atomic_write(args.out) as fh:
            fh.write("## End to end: SDCN epoch (forward + backward + Adam)\n\n" + text)


if __name__ == "__main__":
    main()
