"""AGCN-S on USPS, tuning seeds 100-109: the defaults (KL weights 1000 / 1000) against the graph
datasets' 0.1 / 0.01, per seed and mean (README.md). An interrupted lane is reported with the
seeds it has."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parents[1]
sys.path.insert(0, str(RESULTS / "scripts"))
from minibatch_report import tables  # noqa: E402

tables("agcn-s", "usps", {
    "defaults (KL weights 1000 / 1000)": [HERE / "usps-tuning-defaults"],
    "kl_weight=0.1, gcn_kl_weight=0.01 (--set)": [HERE / "usps-tuning-kl"],
})
print("\nBoth lanes ran side by side on a 2-core Intel Xeon, one thread per fit. The seconds are not "
      "comparable across machines.")
