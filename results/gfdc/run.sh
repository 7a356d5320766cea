#!/usr/bin/env bash
# Issue 8 (GFDC): RUNS seeds (default 5) of the three transfer pairs MNIST(10k) -> USPS,
# digits -> USPS and USPS -> MNIST(10k); per pair and seed: KMeans on the target pixels, GFDC
# guided by the source, and the same network without the source (ablation). CPU-sized settings are
# in run_pair.py (CPU dict; width 0.25, 15 epochs, lr 1e-3, 200 warm-up steps, +-30 deg rotations).
# One seed of the three pairs (9 fits) took 11.6 min wall, 654 s user + 42 s sys CPU, on one thread
# of the 2-core dev machine (seed 0, 2026-11-24; results/gfdc/seed0_run.log).
# Usage: flock /tmp/dglclust-compute.lock results/gfdc/run.sh [RUNS]
#   env SEED0 (default 0), OUT (default results/gfdc/runs), EXTRA (extra run_pair.py args,
#   e.g. "--set epochs=5")
# then: python results/gfdc/summarize.py --write   (results/gfdc/RESULTS.md)
set -eu
cd "$(dirname "$0")/../.."
runs=${1:-5}
seed0=${SEED0:-0}
out=${OUT:-results/gfdc/runs}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for ((s = seed0; s < seed0 + runs; s++)); do
  for pair in "mnist-10k usps" "digits usps" "usps mnist-10k"; do
    # shellcheck disable=SC2086
    python results/gfdc/run_pair.py $pair "$s" --out "$out" ${EXTRA:-}
  done
done
python results/gfdc/summarize.py --dir "$out"
