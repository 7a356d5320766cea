PY ?= python3
PIP ?= $(PY) -m pip
TORCH ?= 2.13.0

.PHONY: install demo test bench nvcc-check cuda-build

# Installs torch (CPU wheel pinned), the package in editable mode and its C++ extension, compiled
# against that torch. Skipped when tools/install_current.py finds the checkout installed and the
# extension newer than its sources (set FORCE=1 to reinstall).
install:
	@if [ -z "$(FORCE)" ] && $(PY) tools/install_current.py; then :; else \
	  $(PIP) install -q torch==$(TORCH) && \
	  $(PIP) install -q setuptools wheel ninja && \
	  $(PIP) install -q --no-build-isolation -e ".[test]"; fi

demo: install
	$(PY) -m dglclust fit --model sdcn --dataset digits

test: install
	$(PY) -m pytest -q -n auto --dist worksteal tests

nvcc-check:
	@if command -v nvcc >/dev/null; then for f in csrc/cuda/*.cu; do echo "nvcc -c $$f"; nvcc -std=c++17 -O2 -c $$f -o /tmp/$$(basename $$f).o || exit 1; done; else echo "nvcc not found: skipping"; fi

# The CUDA half of the extension, verified without a GPU: a separate venv with a CUDA build of
# torch, the extension compiled with FORCE_CUDA=1 (nvcc for the .cu files, the torch glue, the
# link), an import check that the CUDA kernels are registered, then the test suite (its CUDA tests
# skip: no device here). The log goes to build/cuda-build.log.
CUDA_VENV ?= .venv-cuda
CUDA_TORCH ?= 2.14.1
CUDA_ARCHS ?= 8.0;9.0
cuda-build:
	@mkdir -p build
	@test -x $(CUDA_VENV)/bin/python || python3 -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -m pip install -q torch==$(CUDA_TORCH) setuptools wheel ninja dgl==2.1.0 \
	  numpy scipy scikit-learn pandas h5py pyyaml tqdm packaging matplotlib pytest hypothesis
	$(CUDA_VENV)/bin/python -c 'import torch; assert torch.version.cuda, "torch $(CUDA_TORCH) is not a CUDA build"; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
	CUDA_HOME=$${CUDA_HOME:-/usr/local/cuda} TORCH_CUDA_ARCH_LIST="$(CUDA_ARCHS)" FORCE_CUDA=1 DGLCLUST_STRICT_BUILD=1 MAX_JOBS=2 $(CUDA_VENV)/bin/python setup.py build_ext --build-temp build/cuda-temp --build-lib build/cuda-lib > build/cuda-build.log 2>&1 || { tail -30 build/cuda-build.log; exit 1; }
	cp -r dglclust/*.py dglclust/cluster dglclust/configs dglclust/data dglclust/graph dglclust/models \
	  dglclust/nn dglclust/ops dglclust/train build/cuda-lib/dglclust/
	cd build && PYTHONPATH=cuda-lib ../$(CUDA_VENV)/bin/python -c 'import dglclust, dglclust.ops as o, torch; print("extension built against torch", o._ext.built_torch_version(), "running", torch.__version__, "backend", o.backend()); assert o.backend() == "extension", o.load_error(); assert torch._C._dispatch_has_kernel_for_dispatch_key("dglclust::normalized_spmm", "CUDA"), "no CUDA kernel registered"; print("CUDA kernels registered")'
	PYTHONPATH=build/cuda-lib DGLCLUST_DATA=$(abspath ../shared/datasets) DGLCLUST_PRECISION=fp32 \
	  $(CUDA_VENV)/bin/python -P -m pytest -q -p no:cacheprovider tests/test_ops_spmm.py \
	  tests/test_ops_student_t.py tests/test_ops_adagae.py tests/test_ops_property.py
