#!/usr/bin/env bash
# One prepared GPU session (H100/H200 class, CUDA torch, no DGL): build the CUDA extension, run the
# CUDA tests (parity with the CPU reference, opcheck, gradcheck), benchmark the kernels and time
# SDCN / DFCN epochs on ACM; writes bench/results_gpu.md (and $OUT/results_gpu.md when $OUT is set).
# Budget: under 8 minutes. Without CUDA it stops at once with a clear message (exit 3).
#
# Needs, next to the checkout: the DGL wheel for the device's Python in .whl/ (fetch it here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform manylinux1_x86_64 -d .whl dgl==2.1.0
# and carry ".whl"), and ../shared/datasets or shared/datasets for ACM.
# Device call:  run(command="bash bench/gpu/run.sh", carry=[".whl"], timeout_s=540)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
T0=$(date +%s)
log() { echo "[gpu $(( $(date +%s) - T0 ))s] $*"; }

if ! $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "bench/gpu/run.sh: no CUDA device visible to torch ($($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'torch not installed'));" >&2
  echo "  run it on a GPU machine (the device tool), not here. Nothing was built or measured." >&2
  exit 3
fi
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'

log "installing DGL from .whl/ (no network on the device)"
$PY -c 'import dgl' 2>/dev/null || $PY -m pip install -q --no-deps --no-index .whl/dgl-*.whl || {
  echo "bench/gpu/run.sh: no DGL wheel in .whl/ (see the header of this script)" >&2; exit 4; }

log "building the extension with CUDA kernels against the device's torch"
export FORCE_CUDA=1 MAX_JOBS=${MAX_JOBS:-16}
$PY setup.py build_ext --inplace > /tmp/dglclust_build.log 2>&1 || { tail -40 /tmp/dglclust_build.log; exit 5; }
$PY -c 'import dglclust.ops as o, torch; print("backend", o.backend(), o.load_error()); assert o.has_kernel("normalized_spmm", "cuda"), "CUDA kernels not registered"' || { tail -40 /tmp/dglclust_build.log; exit 5; }

log "CUDA tests"
export DGLCLUST_DATA=${DGLCLUST_DATA:-$( [ -d shared/datasets ] && echo "$PWD/shared/datasets" || echo "$PWD/../shared/datasets")}
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_ops_spmm.py tests/test_ops_student_t.py \
  tests/test_ops_adagae.py 2>&1 | tail -15 | tee /tmp/dglclust_cuda_tests.txt

log "benchmarks"
timeout 240 $PY bench/gpu/bench_gpu.py --tests /tmp/dglclust_cuda_tests.txt --out bench/results_gpu.md
rc=$?
[ -n "${OUT:-}" ] && cp bench/results_gpu.md /tmp/dglclust_build.log "$OUT"/ 2>/dev/null
log "done (exit $rc)"
exit $rc
