#!/bin/bash
# SDCN on CiteSeer and DBLP: the defaults against Q on the smoothed embedding with a sharper target
# (q_hops=2, target_power=16: AGCN-S's ACM setting, chosen on the planted partitions), full batch,
# tuning seeds 100-109, one thread per fit.
#   usage: queue.sh DATASET defaults|q-smooth a|b     (a: seeds 100-104, b: 105-109)
#          queue.sh DATASET reported a|b              (q-smooth, seeds 0-4 / 5-9; only if adopted, README.md)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
here=results/experiments/sdcn-q-smooth-citeseer-dblp
ds=$1; setting=$2; half=$3
case "$half" in a) s0=100 ;; b) s0=105 ;; *) echo "usage: $0 DATASET defaults|q-smooth|reported a|b" >&2; exit 2 ;; esac
q=""; [ "$setting" != defaults ] && q="--set q_hops=2 --set target_power=16"
[ "$setting" = reported ] && s0=$(( s0 - 100 ))
flock -s /tmp/dglclust-compute.lock python -m dglclust reproduce --model sdcn --dataset "$ds" \
  --no-baselines --quiet $q --runs 5 --seed0 $s0 --out $here/$ds-$setting-$half
