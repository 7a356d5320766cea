#!/bin/bash
# AGCN-H on USPS: the defaults against Q on the smoothed embedding with a sharper target
# (q_hops=2, target_power=16), full batch, tuning seeds 100-109, one thread per fit.
#   usage: queue.sh DATASET defaults|q-smooth a|b     (a: seeds 100-104, b: 105-109)
#          queue.sh DATASET reported a|b              (q-smooth, seeds 0-4 / 5-9; only if adopted, README.md)
exec "$(dirname "$0")/../../scripts/q_smooth_queue.sh" agcn-h "$1" "$2" "$3" results/experiments/agcn-h-usps-q-smooth
