#!/bin/bash
# SDCN on ACM: full batch against 256-node batches (batch_lr=epoch), one thread per fit, in four
# lanes run two at a time: a and b, then c and d.
#   a, b: tuning seeds 100-109 with batches, full batch on 103-109
#   c, d: full batch on tuning seeds 100-102, then the reported seeds 0-9 with batches
# usage: queue.sh a|b|c|d
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/sdcn-acm-minibatch
run() { flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model sdcn --dataset acm \
          --no-baselines --quiet "$@"; }
mini() { run --set minibatch=true --set batch_size=256 "$@"; }
case "$1" in
  a) mini --runs 5 --seed0 100 --out $here/mini-256; run --runs 4 --seed0 103 --out $here/full-a ;;
  b) mini --runs 5 --seed0 105 --out $here/mini-256-b; run --runs 3 --seed0 107 --out $here/full-b ;;
  c) run --runs 2 --seed0 100 --out $here/full-c; mini --runs 5 --seed0 0 --out $here/mini-256-c ;;
  d) run --runs 1 --seed0 102 --out $here/full-d; mini --runs 5 --seed0 5 --out $here/mini-256-d ;;
  *) echo "usage: $0 a|b|c|d" >&2; exit 2 ;;
esac
