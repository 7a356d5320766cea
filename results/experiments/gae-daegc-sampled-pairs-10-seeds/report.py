"""GAE and DAEGC, exact all-pairs loss against sampled pairs (README.md): per seed final ACC of
each path, the difference sampled - exact, and its mean ± standard error over the seeds.
Exact: the models' 10-seed results (results/<model>/<dataset>/s<seed>.json); sampled: the
``minibatch=true`` rows of bench/results_scale_acm.jsonl (the latest row per seed)."""
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]


def exact(model, ds):
    out = {}
    for f in sorted((ROOT / "results" / model / ds).glob("s*.json")):
        for r in json.loads(f.read_text())["rows"]:
            out[int(r["seed"])] = float(r["acc"])
    return out


def sampled(model, ds):
    out = {}
    for line in (ROOT / "bench" / "results_scale_acm.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d["model"] == model and d["dataset"] == ds and d["sets"] == ["minibatch=true"] and d.get("metrics"):
            out[int(d["seed"])] = float(d["metrics"]["acc"])
    return out


print("| model | dataset | seeds | exact ACC | sampled pairs ACC | sampled - exact, mean ± s.e. | per seed (exact / sampled) |")
print("|---|---|---|---|---|---|---|")
for model, ds in (("gae", "acm"), ("gae", "citeseer"), ("daegc", "citeseer")):
    e, s = exact(model, ds), sampled(model, ds)
    seeds = sorted(set(e) & set(s))
    if not seeds:
        continue
    a, b = np.array([e[i] for i in seeds]), np.array([s[i] for i in seeds])
    d = b - a
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    per = ", ".join(f"{i}: {e[i]:.1f} / {s[i]:.1f}" for i in seeds)
    print(f"| {model} | {ds} | {len(seeds)} | {a.mean():.2f} ± {a.std():.2f} | {b.mean():.2f} ± {b.std():.2f} | "
          f"**{d.mean():+.2f} ± {se:.2f}** | {per} |")
print("\nACC in percent; ± after the ACC columns is the population std over the seeds, after the difference "
      "its standard error. The sampled rows ran on a 2-core Intel Xeon, one thread per fit beside another fit.")
