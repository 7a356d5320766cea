#!/usr/bin/env bash
# Issue 3, seeds 3..9 (2 threads, machine otherwise lightly used), merged with seeds 0..2 by
# summarize.py. Each fit takes the shared compute lock (DEVELOPERS.md).
# Historical record: written when results lived in results/issueN/; those files now live in
# results/<model>/<dataset>/ (same JSONs; `python results/summarize.py --write` rebuilds the tables).
# New runs: use --out results/<model>/<dataset>/sS.
set -u
cd "$(dirname "$0")/../.."
L="flock /tmp/dglclust-compute.lock"
for s in 4 5 6 7 8 9; do
  $L dglclust reproduce --model sdcn --dataset acm --runs 1 --seed0 $s --out results/issue3/s$s --quiet
done
for ds in acm citeseer dblp; do
  for m in ae dec idec; do
    $L dglclust reproduce --model $m --dataset $ds --runs 7 --seed0 3 --out results/issue3/s3 --quiet
  done
done
for ds in citeseer dblp; do
  for s in 3 4 5 6 7 8 9; do
    $L dglclust reproduce --model sdcn --dataset $ds --runs 1 --seed0 $s --out results/issue3/s$s --quiet
  done
done
