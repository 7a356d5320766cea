#!/bin/bash
# Tuning seeds only (100-109): SDCN-family self-training target, P from Q (paper) vs from the
# 2-hop row-normalized average of Q (target=graph); graph start in both.
# usage: queue.sh DATASET MODEL SEED0 RUNS [TARGET...]
cd "$(dirname "$0")/../../.."
ds=$1; model=$2; s0=$3; runs=$4; shift 4
export OMP_NUM_THREADS=1
for target in "$@"; do
  flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" \
    --runs "$runs" --seed0 "$s0" --set start=graph --set target="$target" --no-baselines --quiet \
    --out "results/experiments/sdcn-target/$model-$target"
done
