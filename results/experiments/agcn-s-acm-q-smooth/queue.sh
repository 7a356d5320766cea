#!/bin/bash
# AGCN-S on ACM with Q on the smoothed embedding and a sharper target (q_hops=2, target_power=16,
# the values chosen on the planted partitions), full batch, one thread per fit, two lanes.
#   a: tuning seeds 100-104   b: 105-109   c: reported 0-4   d: reported 5-9 (only if adopted, README.md)
# usage: queue.sh a|b|c|d
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/agcn-s-acm-q-smooth
run() { flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-s --dataset acm \
          --no-baselines --quiet --set q_hops=2 --set target_power=16 "$@"; }
case "$1" in
  a) run --runs 5 --seed0 100 --out $here/tuning-a ;;
  b) run --runs 5 --seed0 105 --out $here/tuning-b ;;
  c) run --runs 5 --seed0 0 --out $here/reported-a ;;
  d) run --runs 5 --seed0 5 --out $here/reported-b ;;
  *) echo "usage: $0 a|b|c|d" >&2; exit 2 ;;
esac
