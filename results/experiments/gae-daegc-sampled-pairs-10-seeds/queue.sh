#!/bin/bash
# One lane of the 10-seed exact-vs-sampled check (README.md): the sampled path on seeds 3-9, one
# thread per fit, under the shared compute lock.   usage: queue.sh gae|daegc
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  gae) ds=acm,citeseer ;; daegc) ds=citeseer ;; *) echo "usage: $0 gae|daegc" >&2; exit 2 ;;
esac
flock -s /tmp/dglclust-compute.lock python bench/bench_scale.py --datasets $ds --models "$1" \
  --seeds 3,4,5,6,7,8,9 --set minibatch=true --timeout 1200 --out bench/results_scale_acm.md
