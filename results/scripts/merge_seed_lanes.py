"""Join the result of one reproduction split over two one-thread lanes into one result.

Lane A ran ``reproduce --runs a --seed0 s`` into OUT, lane B ``--runs b --seed0 s+a`` (same model,
dataset and ``--set`` overrides) into another directory. This script writes into OUT an
*interrupted* result for seeds ``s .. s+a+b-1`` that holds both lanes' runs, so that

    python -m dglclust reproduce --model M --dataset D --runs a+b --seed0 s --set ... --out OUT

resumes it, finds every seed done, and writes the complete result (summary, CSV, manifest) without
fitting anything. Each run's row is kept as its lane wrote it.

    python results/scripts/merge_seed_lanes.py OUT_DIR LANE_B_DIR MODEL DATASET
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, when not installed
from dglclust.reproduce import output_paths
from dglclust.utils import atomic_write


def main(out_dir, lane_dir, model, dataset):
    a_path = output_paths(out_dir, model, dataset)[0]
    b_path = output_paths(lane_dir, model, dataset)[0]
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    if not (a.get("complete") and b.get("complete")):
        sys.exit("both lanes must be complete")
    if (a.get("overrides") or {}) != (b.get("overrides") or {}):
        sys.exit(f"the lanes ran with other --set overrides: {a.get('overrides')} vs {b.get('overrides')}")
    if a["seeds"][-1] + 1 != b["seeds"][0]:
        sys.exit(f"lane B's seeds {b['seeds']} do not follow lane A's {a['seeds']}")
    merged = dict(a)
    merged["seeds"] = a["seeds"] + b["seeds"]
    merged["runs"] = len(merged["seeds"])
    merged["rows"] = sorted(a["rows"] + b["rows"], key=lambda r: r["seed"])
    merged["complete"] = False
    merged.pop("finished", None)
    merged.pop("files", None)
    with atomic_write(a_path, "w") as fh:
        json.dump(merged, fh, indent=1)
    print(f"{a_path}: seeds {merged['seeds']} from two lanes; now run reproduce with "
          f"--runs {merged['runs']} --seed0 {merged['seeds'][0]} to complete it")


if __name__ == "__main__":
    main(*sys.argv[1:5])
