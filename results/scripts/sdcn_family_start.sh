#!/bin/bash
# SDCN family with the label-free graph start (start=graph), seeds 0-9, one thread per fit, into
# results/<model>/<dataset>/start-graph/ (summarize.py lists them as "<model> [start=graph]").
# usage: sdcn_family_start.sh "MODELS" "DATASETS" [START]
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
start=${3:-graph}
for model in $1; do
  for ds in $2; do
    flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" \
      --runs 10 --seed0 0 --set start="$start" --no-baselines --quiet --out "results/$model/$ds/start-$start"
  done
done
