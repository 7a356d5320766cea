#!/bin/bash
# One lane of the AGCN-H USPS predict_from=q experiment (README.md): five seeds, full batch, one
# thread per fit, under the shared compute lock.
#   usage: queue.sh tuning|reported a|b   (tuning: seeds 100-104 / 105-109; reported: 0-4 / 5-9)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/agcn-h-usps-predict-q
case "$1 $2" in
  "tuning a") s0=100 ;; "tuning b") s0=105 ;; "reported a") s0=0 ;; "reported b") s0=5 ;;
  *) echo "usage: $0 tuning|reported a|b" >&2; exit 2 ;;
esac
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model agcn-h --dataset usps \
  --set predict_from=q --no-baselines --quiet --runs 5 --seed0 $s0 --out "$here/usps-$1-$2"
