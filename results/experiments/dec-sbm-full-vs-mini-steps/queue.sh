#!/bin/bash
# One lane of the step-matched full-batch fits (README.md), one thread each, under the shared
# compute lock:  queue.sh MODEL SEED...   e.g. queue.sh dec 0 2
# writes results/experiments/dec-sbm-full-vs-mini-steps/<model>-seed<S>.json (label files removed)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/dec-sbm-full-vs-mini-steps
model=$1; shift
for s in "$@"; do
  flock -s /tmp/dglclust-compute.lock python -m dglclust fit --model "$model" --dataset sbm-100k --seed "$s" \
    --set input_pca=clusters --set epochs=750 --set update_interval=25 --set lr=4e-5 --quiet \
    --out "$here/$model-seed$s.json" && rm -f "$here/$model-seed$s.labels.csv"
done
