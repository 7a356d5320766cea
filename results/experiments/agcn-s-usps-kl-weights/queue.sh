#!/bin/bash
# The AGCN-S USPS KL-weights experiment (README.md): the tuning seeds 100-109 of one setting in
# one lane, full batch, one thread per fit, under the shared compute lock.
# usage: queue.sh defaults|kl
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  defaults) sets=(); out=usps-tuning-defaults ;;
  kl) sets=(--set kl_weight=0.1 --set gcn_kl_weight=0.01); out=usps-tuning-kl ;;
  *) echo "usage: $0 defaults|kl" >&2; exit 2 ;;
esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-s --dataset usps \
  "${sets[@]}" --no-baselines --quiet --runs 10 --seed0 100 \
  --out "results/experiments/agcn-s-usps-kl-weights/$out"
