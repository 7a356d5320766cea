#!/bin/bash
# Diagnostic DAEGC fits on sbm-100k, seed 0, one thread, under the shared compute lock.
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/daegc-sbm-smoothed-q
flock -s /tmp/dglclust-compute.lock python -m dglclust fit --model daegc --dataset sbm-100k --seed 0 \
  --set minibatch=true --set q_hops=2 --quiet --out $here/sbm-100k-q2.json
flock -s /tmp/dglclust-compute.lock python -m dglclust fit --model daegc --dataset sbm-100k --seed 0 \
  --set minibatch=true --set q_hops=2 --set start=graph --quiet --out $here/sbm-100k-q2-graph-start.json
