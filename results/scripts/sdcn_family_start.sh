#!/bin/bash
# SDCN family with the label-free graph start (start=graph) and a self-training target (target=q,
# the paper's, or graph), seeds 0-9, one thread per fit, into results/<model>/<dataset>/start-graph/
# (target q) or .../start-graph-target-graph/; summarize.py lists them as
# "<model> [start=graph]" / "<model> [start=graph, target=graph]".
# usage: sdcn_family_start.sh "MODELS" "DATASETS" [START] [TARGET]
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
start=${3:-graph}
target=${4:-q}
out=start-$start
[ "$target" = q ] || out="$out-target-$target"
for model in $1; do
  for ds in $2; do
    flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" \
      --runs 10 --seed0 0 --set start="$start" --set target="$target" --no-baselines --quiet \
      --out "results/$model/$ds/$out"
  done
done
