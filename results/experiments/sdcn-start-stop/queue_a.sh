#!/bin/bash
# AE restart study (one thread): bf16 on the three datasets, fp32 on DBLP (the precision factor)
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
S="100 101 102 103 104 105 106 107 108 109"
for job in "dblp-sdcn bf16" "acm bf16" "dblp-sdcn fp32" "citeseer bf16" "acm fp32"; do
  flock -s /tmp/dglclust-compute.lock .venv/bin/python results/experiments/sdcn-start-stop/ae_restarts.py $job $S
done
