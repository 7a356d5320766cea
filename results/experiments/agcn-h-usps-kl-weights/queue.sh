#!/bin/bash
# The AGCN-H USPS KL-weights experiment (README.md): ten seeds in one lane, full batch, one thread
# per fit, under the shared compute lock.   usage: queue.sh tuning|reported  (seeds 100-109 / 0-9)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in tuning) s0=100 ;; reported) s0=0 ;; *) echo "usage: $0 tuning|reported" >&2; exit 2 ;; esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-h --dataset usps \
  --set kl_weight=0.1 --set gcn_kl_weight=0.01 --no-baselines --quiet --runs 10 --seed0 $s0 \
  --out "results/experiments/agcn-h-usps-kl-weights/usps-$1"
