#!/bin/bash
# One lane: SDCN on DBLP with its defaults (graph start and target), reported seeds 0-4 (a) or 5-9
# (b), one thread, under the shared compute lock.
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/caegcn-sdcn-dblp-same-starts
case "$1" in a) s0=0 ;; b) s0=5 ;; *) echo "usage: $0 a|b" >&2; exit 2 ;; esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model sdcn --dataset dblp \
  --set start=graph --set target=graph --no-baselines --quiet --runs 5 --seed0 $s0 --out "$here/sdcn-reported-$1"
