"""AGCN-H on USPS: the defaults (labels from the GCN head) against ``predict_from=q`` (labels from
Q), per seed and mean; tuning seeds 100-109 and, if adopted, the reported seeds 0-9 (README.md).
The defaults' rows are results/experiments/agcn-h-usps-q-smooth (tuning) and the model's 10-seed
result (reported)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parents[1]
sys.path.insert(0, str(RESULTS / "scripts"))
from minibatch_report import tables  # noqa: E402

q_smooth = RESULTS / "experiments" / "agcn-h-usps-q-smooth"
tables("agcn-h", "usps", {
    "defaults (labels: argmax of the GCN head)": sorted(q_smooth.glob("usps-defaults-*"))
    + [RESULTS / "experiments" / "agcn-h-usps-kl-weights" / "reported-kl-1000"],
    "predict_from=q (labels: argmax Q)": sorted(HERE.glob("usps-tuning-*")) + sorted(HERE.glob("usps-reported-*")),
})
print("\nAll rows ran on a 2-core Intel Xeon, one thread per fit, two fits at a time; the defaults' "
      "reported rows are the model's 10-seed result (machine in its JSON). The seconds are not comparable.")
