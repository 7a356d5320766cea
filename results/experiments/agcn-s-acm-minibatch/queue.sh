#!/bin/bash
# AGCN-S on ACM: full batch against 256-node batches (batch_lr=epoch), one thread per fit, two
# lanes run side by side. Each lane: tuning seeds with batches, the same tuning seeds full batch,
# then reported seeds with batches (read only after the decision, see README.md).
#   a: tuning 100-104, reported 0-4      b: tuning 105-109, reported 5-9
# usage: queue.sh a|b
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/agcn-s-acm-minibatch
run() { flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-s --dataset acm \
          --no-baselines --quiet "$@"; }
mini() { run --set minibatch=true --set batch_size=256 "$@"; }
case "$1" in
  a) mini --runs 5 --seed0 100 --out $here/mini-256-a; run --runs 5 --seed0 100 --out $here/full-a
     mini --runs 5 --seed0 0 --out $here/mini-256-c ;;
  b) mini --runs 5 --seed0 105 --out $here/mini-256-b; run --runs 5 --seed0 105 --out $here/full-b
     mini --runs 5 --seed0 5 --out $here/mini-256-d ;;
  *) echo "usage: $0 a|b" >&2; exit 2 ;;
esac
