"""SDCN on CiteSeer and DBLP: the defaults against ``q_hops=2 target_power=16``, per seed and mean
(final epoch; the start and the label-selected best epoch in their own columns). The reported-seed
rows of the defaults are SDCN's 10-seed result in results/sdcn/<dataset>/start-graph-target-graph.

    python results/experiments/sdcn-q-smooth-citeseer-dblp/report.py > results/experiments/sdcn-q-smooth-citeseer-dblp/tables.md
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parents[1]
sys.path.insert(0, str(RESULTS / "scripts"))
from minibatch_report import tables  # noqa: E402

for ds in ("citeseer", "dblp"):
    tables("sdcn", ds, {"defaults": sorted(HERE.glob(f"{ds}-defaults-*"))
                        + [RESULTS / "sdcn" / ds / "start-graph-target-graph"],
                        "q_hops=2, target_power=16": sorted(HERE.glob(f"{ds}-q-smooth-*"))
                        + sorted(HERE.glob(f"{ds}-reported-*"))})
print("\nAll rows of this folder ran on a 2-core Intel Xeon, one thread per fit, two or three fits at a time (load 2-3); the "
      "defaults' reported rows are SDCN's 10-seed result (machine in its JSON). The seconds are not comparable.")
