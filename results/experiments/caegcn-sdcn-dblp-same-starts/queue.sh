#!/bin/bash
# One lane: CaEGCN on DBLP with its reported row's setting (graph start and target), tuning seeds
# 100-104 (a) or 105-109 (b), one thread, under the shared compute lock.
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/caegcn-sdcn-dblp-same-starts
case "$1" in a) s0=100 ;; b) s0=105 ;; *) echo "usage: $0 a|b" >&2; exit 2 ;; esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model caegcn --dataset dblp \
  --set start=graph --set target=graph --no-baselines --quiet --runs 5 --seed0 $s0 --out "$here/dblp-$1"
