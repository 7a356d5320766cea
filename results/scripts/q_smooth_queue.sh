#!/bin/bash
# One lane of a q-smooth experiment: MODEL on DATASET with its defaults, or with Q on the smoothed
# embedding and a sharper target (q_hops=2, target_power=16), full batch, one thread per fit, five
# seeds, under the shared compute lock.
#   usage: q_smooth_queue.sh MODEL DATASET defaults|q-smooth|reported a|b OUT_PREFIX
#   defaults|q-smooth: tuning seeds 100-104 (a) or 105-109 (b); reported: q-smooth on seeds 0-4 / 5-9
#   writes OUT_PREFIX/DATASET-SETTING-HALF
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
model=$1; ds=$2; setting=$3; half=$4; here=$5
case "$half" in a) s0=100 ;; b) s0=105 ;; *) echo "usage: $0 MODEL DATASET defaults|q-smooth|reported a|b OUT_PREFIX" >&2; exit 2 ;; esac
q=""; [ "$setting" != defaults ] && q="--set q_hops=2 --set target_power=16"
[ "$setting" = reported ] && s0=$(( s0 - 100 ))
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model "$model" --dataset "$ds" \
  --no-baselines --quiet $q --runs 5 --seed0 $s0 --out "$here/$ds-$setting-$half"
