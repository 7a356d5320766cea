"""Probe of SDCN's GCN head (a diagnostic, not a result table): for every full forward pass of a fit,
the ACC of argmax Z (the head) and of argmax Q, the dead units and the spread across nodes of the
10-wide GCN layer that feeds the head, and how far the head's weight moved from its initialisation.

    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py balanced [KEY=VALUE ...]
    PYTHONPATH=. python results/experiments/planted-partition/head_probe.py acm

SETTING is a planted-partition setting of run.py (graph seed 0) or a dataset name; KEY=VALUE are
estimator settings, read as ``--set`` reads them (e.g. lr=1e-4). Labels are read only to score.
Prints epochs 0-11, then every 20th. ``POWER=A`` in the environment (a diagnostic, not a setting
of dglclust) raises Q to the power A / 2 before DEC's sharpening, so the target is ~Q^A instead of
~Q^2. ``QSMOOTH=1`` (also a diagnostic patch) computes Q on the smoothed embedding
``N^2 (z - mean z)`` that the graph start clusters, with the centres taken in that space.
"""
import os
import sys
from pathlib import Path

import numpy as np
import torch

from dglclust.cli import parse_overrides
from dglclust.cluster import get_estimator
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
init, forward = sdcn.SDCNModule.__init__, sdcn.SDCNModule.forward


def probed_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.gcn[-1].register_forward_pre_hook(lambda mod, a: head_input.__setitem__("feat", a[1].detach()))


def smoothed(graph, z):
    from dglclust.ops import propagate_features

    return propagate_features(graph, z - z.mean(0), 2, norm="sym")


def probed_forward(self, graph, x):
    res = forward(self, graph, x)
    if os.environ.get("QSMOOTH"):
        from dglclust.ops import student_t

        res["q"] = student_t(smoothed(graph, res["z"]), self.centers, self.alpha)
    with torch.no_grad():
        w = self.gcn[-1].weight.detach().clone()
        w_init = w0.setdefault(id(self), w)
        logits, z = res["logits"].detach(), res["z"]
        # the head's input is (1 - sigma) h + sigma z, h the 10-wide GCN layer's output
        h = (head_input["feat"].float() - self.sigma * z) / (1.0 - self.sigma)
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


sdcn.SDCNModule.__init__, sdcn.SDCNModule.forward = probed_init, probed_forward
if os.environ.get("QSMOOTH"):
    from dglclust.cluster.base import BaseClusterer

    graph_start = BaseClusterer._graph_start

    def smoothed_start(self, graph, z, params, seed):
        _, labels = graph_start(self, graph, z, params, seed)
        zs = smoothed(graph, z.detach().float())
        idx = torch.as_tensor(labels, dtype=torch.long)
        centers = torch.stack([zs[idx == c].mean(0) for c in range(self.n_clusters_)])
        return centers.to(z.dtype), labels

    BaseClusterer._graph_start = smoothed_start
if "POWER" in os.environ:
    import dglclust.ops

    sharpen, power = dglclust.ops.target_distribution, float(os.environ["POWER"]) / 2

    def sharper(q):
        q = q.double().pow(power)
        return sharpen((q / q.sum(1, keepdim=True)).float())

    dglclust.ops.target_distribution = sharper  # read by the graph target at each refresh
est = get_estimator("sdcn")(n_clusters=k, random_state=0, verbose=False, **over).fit(g)
print("final", evaluate(y, est.labels_), "start", evaluate(y, est.start_labels_)["acc"])
for i in [*range(12), *range(20, len(rows), 20)]:
    if i < len(rows):
        print(i, {key: round(v, 3) for key, v in rows[i].items()})
