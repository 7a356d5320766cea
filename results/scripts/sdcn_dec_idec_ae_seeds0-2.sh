#!/usr/bin/env bash
# Issue 3 reproduction: AE, DEC, IDEC, SDCN on ACM, DBLP, CiteSeer (final-epoch protocol).
# Seeds 0..2 first for every combination (the dev machine was shared with 5 other jobs), then more.
# Historical record: written when results lived in results/issueN/; those files now live in
# results/<model>/<dataset>/ (same JSONs; `python results/summarize.py --write` rebuilds the tables).
# New runs: use --out results/<model>/<dataset>/sS.
set -u
cd "$(dirname "$0")/../.."
dglclust reproduce --model sdcn --dataset acm --runs 2 --seed0 1 --out results/issue3/acm_s1 --quiet
dglclust reproduce --models ae,dec,idec --dataset acm --runs 3 --out results/issue3 --quiet
for ds in dblp citeseer; do
  dglclust reproduce --models sdcn,ae,dec,idec --dataset $ds --runs 3 --out results/issue3 --quiet
done
