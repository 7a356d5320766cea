#!/bin/bash
# AE+KMeans start on DBLP (SDCN order), seeds 0-9: each factor where ours differs from the official
# SDCN recipe (fp32, one AE), alone. Our default = bf16 autocast + best of 3 restarts by loss.
# The official recipe (data/pretrain.py) run here on DBLP: 46.7 +- 4.5 (seeds 0-4).
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
ds=${1:-dblp}
run() {  # NAME precision restarts
  flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model ae --dataset "$ds" --runs 10 --seed0 0 \
    --set precision="$2" --set pretrain_restarts="$3" --no-baselines --quiet \
    --out "results/experiments/ae-start-factors/$ds-$1"
}
run fp32-r1 fp32 1     # the official recipe's settings
run bf16-r1 bf16 1     # + bf16 autocast alone
run fp32-r3 fp32 3     # + best of 3 restarts by loss alone
run bf16-r3 bf16 3     # both (our default)
