#!/bin/bash
# Tuning seeds only (100-109): SDCN with the paper start vs the graph start, final epoch + history.
# usage: queue.sh DATASET MODEL SEED0 RUNS [START...]
cd "$(dirname "$0")/../../.."
ds=$1; model=$2; s0=$3; runs=$4; shift 4
export OMP_NUM_THREADS=1
for start in "$@"; do
  flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" --runs "$runs" --seed0 "$s0" \
    --set start="$start" --no-baselines --quiet --out "results/experiments/sdcn-graph-start/$model-$start"
done
