"""Shared pytest fixtures (kept minimal)."""
import os
from pathlib import Path

# Quality floors must not depend on the CPU: `precision: auto` would pick bf16 autocast on CPUs
# with native bf16 and fp32 elsewhere. Tests of the choice itself clear this variable.
os.environ["DGLCLUST_PRECISION"] = "fp32"

# `make test` runs the suite in parallel (pytest-xdist, one worker per core): each worker gets its
# share of the cores, so that the workers' torch/BLAS threads do not oversubscribe them. An
# OMP_NUM_THREADS set by the user is kept.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1 and "OMP_NUM_THREADS" not in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ["OMP_NUM_THREADS"] = str(max(1, _cores // _WORKERS))

import pytest
import torch

if _WORKERS > 1:
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

import dglclust  # noqa: F401  (installs the DGL shim before any test imports dgl)
from dglclust.utils import data_dir


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The shared benchmark data folder (``$DGLCLUST_DATA`` or ``../shared/datasets``); tests that
    use it are skipped when it is absent."""
    d = data_dir()
    if d is None or not (d / "SOURCES.md").is_file():
        pytest.skip(
            "shared dataset folder not found: set DGLCLUST_DATA to the folder holding SOURCES.md "
            "(default ../shared/datasets next to the checkout)"
        )
    return d


@pytest.fixture
def private_cache(tmp_path_factory, monkeypatch):
    """Pretrained weights cached under the test session's temporary folder, not the user's."""
    monkeypatch.setenv("DGLCLUST_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def digits_graph():
    """The embedded default dataset (scikit-learn digits with its kNN graph)."""
    from dglclust.data import load_dataset

    return load_dataset("digits")[0]
