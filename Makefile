PY ?= python3
PIP ?= $(PY) -m pip

.PHONY: install demo test bench nvcc-check

install:
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q setuptools wheel ninja
	$(PIP) install -q --no-build-isolation -e ".[test]"

demo: install
	dglclust fit --model sdcn --dataset digits

test: install
	$(PY) -m pytest -q tests

nvcc-check:
	@if command -v nvcc >/dev/null; then for f in csrc/cuda/*.cu; do echo "nvcc -c $$f"; nvcc -std=c++17 -O2 -c $$f -o /tmp/$$(basename $$f).o || exit 1; done; else echo "nvcc not found: skipping"; fi
