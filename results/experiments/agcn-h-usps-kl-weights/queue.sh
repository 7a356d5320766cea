#!/bin/bash
# The AGCN-H USPS KL-weights experiment (README.md): the tuning seeds 100-109 in one lane, full
# batch, one thread per fit, under the shared compute lock. (Adopted: the reported seeds ran with the
# new default through results/scripts/sdcn_family_start.sh.)   usage: queue.sh
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-h --dataset usps \
  --set kl_weight=0.1 --set gcn_kl_weight=0.01 --no-baselines --quiet --runs 10 --seed0 100 \
  --out results/experiments/agcn-h-usps-kl-weights/usps-tuning
