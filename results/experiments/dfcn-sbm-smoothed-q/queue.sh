#!/bin/bash
# One lane of the DFCN sbm-100k diagnostics (README.md), seed 0, one thread per fit, under the
# shared compute lock:  queue.sh a   (defaults; q_hops=2; q_hops=2 predict_from=q)
#                       queue.sh b   (q_hops=2 start=graph; pca_dim=10 q_hops=2)
# writes results/experiments/dfcn-sbm-smoothed-q/sbm-100k-<variant>.json (label files removed)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/dfcn-sbm-smoothed-q
run() {  # name, then --set arguments
  name=$1; shift
  flock -s /tmp/dglclust-compute.lock python -m dglclust fit --model dfcn --dataset sbm-100k --seed 0 \
    "$@" --quiet --out "$here/sbm-100k-$name.json" && rm -f "$here/sbm-100k-$name.labels.csv"
}
case "$1" in
  a) run defaults; run q2 --set q_hops=2; run q2-predict-q --set q_hops=2 --set predict_from=q ;;
  b) run q2-graph-start --set q_hops=2 --set start=graph; run pca10-q2 --set pca_dim=10 --set q_hops=2 ;;
  *) echo "usage: $0 a|b" >&2; exit 2 ;;
esac
