# Historical record: written when results lived in results/issueN/; those files now live in
# results/<model>/<dataset>/ (same JSONs; `python results/summarize.py --write` rebuilds the tables).
# New runs: use --out results/<model>/<dataset>/sS.
"""Print the one-fit-per-line commands of the measurements an issue still needs (see README.md).

    python results/queue/make_todo.py issue6 issue7 > results/queue/todo
"""
from __future__ import annotations

import sys


def reproduce(model, dataset, seed, out, extra=""):
    return (f"dglclust reproduce --model {model} --dataset {dataset} --runs 1 --seed0 {seed} "
            f"--out {out}/s{seed} --quiet{extra}")


def issue5():
    return [reproduce(m, d, s, "results/issue5") for d in ("acm", "citeseer", "dblp", "usps")
            for m in ("agcn-s", "dfcn", "agcn-h") for s in range(10)]


def issue6():
    cmds = [reproduce(m, d, s, "results/issue6") for d in ("acm", "citeseer", "dblp")
            for m in ("gae", "vgae", "daegc") for s in range(10)]
    cmds += [reproduce("caegcn", d, s, "results/issue6") for d in ("acm", "citeseer", "dblp", "usps")
             for s in range(10)]
    return cmds


def issue7():
    nohist = " --set history_metrics=false"
    cmds = [reproduce("adagae", "usps", s, "results/issue7", nohist) for s in range(10)]
    # graph datasets start from the given graph (configs/adagae.yaml); seeds 0-2 were first run
    # as the given-vs-kNN experiment (results/experiments/issue7_given_graph, then moved here)
    cmds += [reproduce("adagae", d, s, "results/issue7", nohist) for s in range(10)
             for d in ("acm", "citeseer", "dblp")]
    return cmds


if __name__ == "__main__":
    for name in sys.argv[1:] or ["issue6", "issue7"]:
        print("\n".join(globals()[name]()))
