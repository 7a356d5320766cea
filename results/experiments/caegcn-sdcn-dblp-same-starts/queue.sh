#!/bin/bash
# One lane, one thread, under the shared compute lock, DBLP with the reported rows' setting (graph
# start and target):
#   queue.sh caegcn a|b   CaEGCN on the tuning seeds 100-104 / 105-109   -> dblp-a|b
#   queue.sh sdcn a|b     SDCN on the reported seeds 0-4 / 5-9           -> sdcn-reported-a|b
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/caegcn-sdcn-dblp-same-starts
case "$1 $2" in
  "caegcn a") s0=100 out=dblp-a ;; "caegcn b") s0=105 out=dblp-b ;;
  "sdcn a") s0=0 out=sdcn-reported-a ;; "sdcn b") s0=5 out=sdcn-reported-b ;;
  *) echo "usage: $0 caegcn|sdcn a|b" >&2; exit 2 ;;
esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$1" --dataset dblp \
  --set start=graph --set target=graph --no-baselines --quiet --runs 5 --seed0 $s0 --out "$here/$out"
