"""Probe of SDCN's GCN head (a diagnostic, not a result table): for every full forward pass of a fit,
the ACC of argmax Z (the head) and of argmax Q, the dead units and the spread across nodes of the
10-wide GCN layer that feeds the head, and how far the head's weight moved from its initialisation.

    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py balanced [KEY=VALUE ...]
    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py acm

SETTING is a planted-partition setting of run.py (graph seed 0) or a dataset name; KEY=VALUE are
estimator settings, read as ``--set`` reads them (e.g. lr=1e-4). Labels are read only to score.
Prints epochs 0-11, then every 20th. The target's sharpening and the space Q reads are the
estimator's own settings, e.g. ``target_power=6`` or ``q_hops=2 target_power=16``; Q is recorded
as the loss reads it (after ``q_hops``).
"""
import sys
from pathlib import Path

import numpy as np
import torch

from dglclust.cli import parse_overrides
from dglclust.cluster import SDCN, get_estimator
from dglclust.data import load_dataset
from dglclust.metrics import evaluate
from dglclust.models import sdcn

sys.path.insert(0, str(Path(__file__).parent))
from run import SETTINGS, make_graph  # noqa: E402  (this folder's planted-partition graphs)

setting = sys.argv[1] if len(sys.argv) > 1 else "balanced"
over = parse_overrides(sys.argv[2:])
if setting in SETTINGS:
    out, g = make_graph(setting, 0)
    y = out["labels"]
else:
    g = load_dataset(setting)[0]
    y = g.ndata.pop("label").numpy()
k = int(y.max()) + 1

rows, head_input, w0 = [], {}, {}
init, with_q = sdcn.SDCNModule.__init__, SDCN._with_q


def probed_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.gcn[-1].register_forward_pre_hook(lambda mod, a: head_input.__setitem__("feat", a[1].detach()))


def probed_with_q(self, module, graph, out, params):
    res = with_q(self, module, graph, out, params)
    with torch.no_grad():
        w = module.gcn[-1].weight.detach().clone()
        w_init = w0.setdefault(id(module), w)
        logits, z = res["logits"].detach(), res["z"]
        # the head's input is (1 - sigma) h + sigma z, h the 10-wide GCN layer's output
        h = (head_input["feat"].float() - module.sigma * z) / (1.0 - module.sigma)
        rows.append({"head_acc": evaluate(y, logits.argmax(1).numpy())["acc"],
                     "q_acc": evaluate(y, res["q"].detach().argmax(1).numpy())["acc"],
                     # how peaked the soft assignments are (1/k: uniform): Q and the head's softmax
                     "q_max": float(res["q"].detach().float().amax(1).mean()),
                     "head_max": float(torch.softmax(logits.float(), 1).amax(1).mean()),
                     "head_used": int(len(np.unique(logits.argmax(1).numpy()))),
                     "logit_std": float(logits.std(0).mean()),
                     "z_norm": float(z.norm(dim=1).mean()), "z_std": float(z.std(0).mean()),
                     "h_norm": float(h.norm(dim=1).mean()), "h_std": float(h.std(0).mean()),
                     "h_dead": float((h.abs().amax(0) < 1e-6).float().mean()),
                     "w_move": float((w - w_init).norm() / w_init.norm())})
    return res


sdcn.SDCNModule.__init__, SDCN._with_q = probed_init, probed_with_q
est = get_estimator("sdcn")(n_clusters=k, random_state=0, verbose=False, **over).fit(g)
print("final", evaluate(y, est.labels_), "start", evaluate(y, est.start_labels_)["acc"])
for i in [*range(12), *range(20, len(rows), 20)]:
    if i < len(rows):
        print(i, {key: round(v, 3) for key, v in rows[i].items()})
