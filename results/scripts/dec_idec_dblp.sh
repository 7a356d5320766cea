#!/bin/bash
# DEC and IDEC on DBLP in SDCN's node order (`dblp`), seeds 0-9, one thread per fit, paper settings
# (the earlier rows are `dblp-magnn`, the same data in MAGNN's order).
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
for model in dec idec; do
  flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset dblp \
    --runs 10 --seed0 0 --no-baselines --quiet --out "results/$model/dblp"
done
