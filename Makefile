PY ?= python3
PIP ?= $(PY) -m pip
TORCH ?= 2.13.0

.PHONY: install demo test bench nvcc-check

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
	$(PY) -m pytest -q tests

nvcc-check:
	@if command -v nvcc >/dev/null; then for f in csrc/cuda/*.cu; do echo "nvcc -c $$f"; nvcc -std=c++17 -O2 -c $$f -o /tmp/$$(basename $$f).o || exit 1; done; else echo "nvcc not found: skipping"; fi
