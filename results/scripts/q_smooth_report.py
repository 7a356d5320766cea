"""A q-smooth experiment (results/scripts/q_smooth_queue.sh): MODEL's defaults against
``q_hops=2 target_power=16`` on each dataset, per seed and mean (final epoch; the start and the
label-selected best epoch in their own columns). The reported-seed rows of the defaults are
MODEL's 10-seed result in results/<model>/<dataset>/start-graph-target-graph.

    python results/scripts/q_smooth_report.py sdcn results/experiments/sdcn-q-smooth-citeseer-dblp citeseer dblp
    python results/scripts/q_smooth_report.py agcn-s results/experiments/agcn-s-citeseer-q-smooth citeseer
"""
import argparse
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RESULTS / "scripts"))
from minibatch_report import tables  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("model")
ap.add_argument("folder", type=Path)
ap.add_argument("datasets", nargs="+")
args = ap.parse_args()
for ds in args.datasets:
    tables(args.model, ds, {"defaults": sorted(args.folder.glob(f"{ds}-defaults-*"))
                            + [RESULTS / args.model / ds / "start-graph-target-graph"],
                            "q_hops=2, target_power=16": sorted(args.folder.glob(f"{ds}-q-smooth-*"))
                            + sorted(args.folder.glob(f"{ds}-reported-*"))})
print("\nAll rows of the experiment folder ran on a 2-core Intel Xeon, one thread per fit, two or three fits at a "
      "time (load 2-3); the defaults' reported rows are the model's 10-seed result (machine in its JSON). The "
      "seconds are not comparable.")
