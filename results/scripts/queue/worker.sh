#!/usr/bin/env bash
# Two-lane work queue for the measurement runs of a session: each worker pops the first line of
# results/queue/todo (under a lock), runs it with OMP_NUM_THREADS=1 and appends "rc seconds line"
# to results/queue/done. Usage: results/queue/worker.sh NAME &   (start two on the 2-core machine)
set -u
cd "$(dirname "$0")/../.."
q=results/queue
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while true; do
  line=$(flock $q/.lock bash -c "head -n 1 $q/todo; sed -i 1d $q/todo")
  [ -z "$line" ] && break
  t0=$(date +%s)
  echo "[$1 $(date +%T)] $line" >> $q/log
  bash -c "$line" >> $q/log.$1 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - t0 )) $1 $line" >> $q/done
done
