#!/bin/bash
# SDCN fits from restart 0's AE, seeds 100-109 (one thread)
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
S="100 101 102 103 104 105 106 107 108 109"
for ds in acm dblp-sdcn citeseer; do
  flock -s /tmp/dglclust-compute.lock .venv/bin/python results/experiments/sdcn-start-stop/sdcn_runs.py sdcn $ds $S
done
