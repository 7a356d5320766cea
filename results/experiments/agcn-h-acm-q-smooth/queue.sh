#!/bin/bash
# AGCN-H on ACM: full batch with the defaults against Q on the smoothed embedding with a sharper
# target (q_hops=2, target_power=16, AGCN-S's ACM setting), one thread per fit, two lanes.
#   a: defaults, tuning seeds 100-104   b: defaults 105-109
#   c: q-smooth, tuning seeds 100-104   d: q-smooth 105-109
#   e: q-smooth, reported seeds 0-4     f: q-smooth 5-9 (only if adopted, README.md)
# usage: queue.sh a|b|c|d|e|f   (lane 1: a then c; lane 2: b then d)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/agcn-h-acm-q-smooth
run() { flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-h --dataset acm \
          --no-baselines --quiet "$@"; }
q="--set q_hops=2 --set target_power=16"
case "$1" in
  a) run --runs 5 --seed0 100 --out $here/full-a ;;
  b) run --runs 5 --seed0 105 --out $here/full-b ;;
  c) run $q --runs 5 --seed0 100 --out $here/tuning-a ;;
  d) run $q --runs 5 --seed0 105 --out $here/tuning-b ;;
  e) run $q --runs 5 --seed0 0 --out $here/reported-a ;;
  f) run $q --runs 5 --seed0 5 --out $here/reported-b ;;
  *) echo "usage: $0 a|b|c|d|e|f" >&2; exit 2 ;;
esac
