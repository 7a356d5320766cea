#!/usr/bin/env bash
# Issue 5 reproduction: AGCN-H, AGCN-S, DFCN (final-epoch protocol), seeds SEED0..SEED0+RUNS-1,
# plus one SDCN run per dataset as the timing reference (same machine state, same cached AE).
# Usage: flock /tmp/dglclust-compute.lock results/issue5/run.sh [RUNS] [DATASETS...]
#   env SEED0 (default 0), OUT (default results/issue5), SDCN_REF (default 1: run the SDCN reference)
# AGCN reuses SDCN's cached AE pretraining; DFCN pretrains AE, IGAE and both jointly per seed
# (cached; pretrain_time_s in the JSON rows, included in fit_time_s).
# Historical record: written when results lived in results/issueN/; those files now live in
# results/<model>/<dataset>/ (same JSONs; `python results/summarize.py --write` rebuilds the tables).
# New runs: use --out results/<model>/<dataset>/sS.
set -u
cd "$(dirname "$0")/../.."
runs=${1:-3}
shift || true
out=${OUT:-results/issue5}
for ds in "${@:-acm}"; do
  for m in dfcn agcn-s agcn-h; do
    dglclust reproduce --model "$m" --dataset "$ds" --runs "$runs" --seed0 "${SEED0:-0}" --out "$out" --quiet
  done
  if [ "${SDCN_REF:-1}" = 1 ]; then
    dglclust reproduce --model sdcn --dataset "$ds" --runs 1 --seed0 "${SEED0:-0}" --out "$out/sdcn_ref" --quiet
  fi
done
