"""Probe of SDCN's GCN head (a diagnostic, not a result table): for every full forward pass of a fit,
the ACC of argmax Z (the head) and of argmax Q, the dead units and the spread across nodes of the
10-wide GCN layer that feeds the head, and how far the head's weight moved from its initialisation.

    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py balanced [KEY=VALUE ...]
    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py acm

SETTING is a planted-partition setting of run.py (graph seed 0) or a dataset name; KEY=VALUE are
estimator settings (e.g. lr=1e-4). Labels are read only to score. Prints epochs 0-11, then every 20th.
"""
import sys
import numpy as np, torch
from dglclust.cluster import get_estimator
from dglclust.data import from_arrays, planted_partition
from dglclust.metrics import evaluate
from dglclust.models import sdcn as M

setting = sys.argv[1] if len(sys.argv) > 1 else "balanced"
over = dict(a.split("=") for a in sys.argv[2:])
over = {k: (float(v) if v.replace('.', '').replace('e-', '').isdigit() else v) for k, v in over.items()}
if setting in ("easy-graph", "balanced", "noisy-graph"):
    mix, snr = {"easy-graph": (0.2, .5), "balanced": (.4, 1.), "noisy-graph": (.6, 1.5)}[setting]
    out = planted_partition(3000, k=5, avg_degree=10, d=64, mixing=mix, feature_snr=snr, seed=0)
    g = from_arrays(out["features"], edges=np.stack(out["edges"], 1))
    y = out["labels"]; K = 5
else:
    from dglclust.data import load_dataset
    g = load_dataset(setting)[0]; y = g.ndata.pop("label").numpy(); K = int(y.max()) + 1
rows = []
cap = {}
_orig_init = M.SDCNModule.__init__
def _init(self, *a, **k):
    _orig_init(self, *a, **k)
    self.gcn[-1].register_forward_pre_hook(lambda mod, args: cap.__setitem__("feat", args[1].detach()))
    self.gcn[-2].register_forward_pre_hook(lambda mod, args: cap.__setitem__("feat4", args[1].detach()))
M.SDCNModule.__init__ = _init
orig = M.SDCNModule.forward
w0 = {}
def fwd(self, graph, x):
    res = orig(self, graph, x)
    with torch.no_grad():
        key = id(self)
        W = self.gcn[-1].weight.detach().clone()
        if key not in w0: w0[key] = W
        # recompute h4 (input to the head) stats cheaply: hiddens + logits
        lg = res["logits"].detach()
        rows.append({"head_acc": evaluate(y, lg.argmax(1).numpy())["acc"],
                     "q_acc": evaluate(y, res["q"].detach().argmax(1).numpy())["acc"],
                     "logit_std": float(lg.std(0).mean()), "z_norm": float(res["z"].norm(dim=1).mean()),
                     "head_used": int(len(np.unique(lg.argmax(1).numpy()))),
                     "h4_norm": float((cap["feat"] - 0.5 * res["z"]).norm(dim=1).mean()),
                     "h4_dead": float(((cap["feat"] - 0.5 * res["z"]).abs().amax(0) < 1e-6).float().mean()),
                     "h4_std": float((cap["feat"] - 0.5 * res["z"]).std(0).mean()),
                     "z_std": float(res["z"].std(0).mean()),
                     "w_move": float((W - w0[key]).norm() / w0[key].norm())})
    return res
M.SDCNModule.forward = fwd
est = get_estimator("sdcn")(n_clusters=K, random_state=0, verbose=False, **over).fit(g)
print("final", evaluate(y, est.labels_), "start", evaluate(y, est.start_labels_)["acc"])
for i in list(range(0, 12)) + list(range(20, len(rows), 20)):
    if i < len(rows): print(i, {k: round(v, 3) for k, v in rows[i].items()})
