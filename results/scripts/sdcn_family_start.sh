#!/bin/bash
# SDCN family with the label-free graph start (start=graph) and a self-training target (target=q,
# the paper's, or graph), seeds 0-9, one thread per fit, into results/<model>/<dataset>/start-graph/
# (target q) or .../start-graph-target-graph/; summarize.py lists them as
# "<model> [start=graph]" / "<model> [start=graph, target=graph]".
# usage: sdcn_family_start.sh "MODELS" "DATASETS" [START] [TARGET] [SEED0 RUNS]
# With SEED0 and RUNS (one lane of a split run, e.g. `0 5` and `5 5` side by side), the seeds
# SEED0 .. SEED0+RUNS-1 go into .../<folder>/seedsA-B/; summarize.py joins the lanes' seeds.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
start=${3:-graph}
target=${4:-q}
out=start-$start
[ "$target" = q ] || out="$out-target-$target"
seed0=${5:-0}
runs=${6:-10}
[ -z "$5" ] || out="$out/seeds$seed0-$((seed0 + runs - 1))"
for model in $1; do
  for ds in $2; do
    flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" \
      --runs "$runs" --seed0 "$seed0" --set start="$start" --set target="$target" --no-baselines --quiet \
      --out "results/$model/$ds/$out"
  done
done
