"""DFCN's peak RSS and fit time with and without activation checkpointing, in a fresh process each.

    python bench/dfcn_checkpoint_memory.py sbm-100k off
    python bench/dfcn_checkpoint_memory.py sbm-100k on

``on`` is the default of the large-graph mode (``checkpoint: auto``); ``off`` runs the same fit with
it disabled. Prints the fit seconds (pretraining is cached after the first run), the process's peak
RSS and the metrics. Results: docs/scale.md (DFCN at three sizes).
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(dataset: str, mode: str) -> None:
    from dglclust.cluster import DFCN
    from dglclust.data import load_dataset
    from dglclust.metrics import evaluate

    if mode not in ("on", "off"):
        raise SystemExit(f"mode must be 'on' or 'off', got {mode!r}")
    g = load_dataset(dataset)[0]
    t0 = time.time()
    model = DFCN.from_config(dataset, random_state=0, verbose=False,
                             checkpoint=mode == "on").fit(g)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(dataset, "checkpoint", mode, "fit s", round(time.time() - t0, 1), "pretrain s",
          round(model.pretrain_time_, 1), "peak RSS GB", round(peak, 2),
          evaluate(g.ndata["label"].numpy(), model.labels_))


if __name__ == "__main__":
    main(*sys.argv[1:3])
