#!/usr/bin/env bash
# Issue 5 reproduction: AGCN-H, AGCN-S, DFCN (final-epoch protocol), seeds 0..RUNS-1.
# Usage: flock /tmp/dglclust-compute.lock results/issue5/run.sh [RUNS] [DATASETS...]
# AGCN reuses SDCN's cached AE pretraining; DFCN pretrains AE, IGAE and both jointly per seed
# (cached; pretrain_time_s in the JSON rows, included in fit_time_s).
set -u
cd "$(dirname "$0")/../.."
runs=${1:-3}
shift || true
for ds in "${@:-acm}"; do
  for m in dfcn agcn-s agcn-h; do
    dglclust reproduce --model "$m" --dataset "$ds" --runs "$runs" --out results/issue5 --quiet
  done
done
