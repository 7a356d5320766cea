"""Build script for dglclust's C++/CUDA extension ``dglclust._C``.

* CPU kernels are always built (unless ``DGLCLUST_NO_EXT=1``).
* CUDA kernels are added when torch is a CUDA build and ``CUDA_HOME`` is found, or when
  ``FORCE_CUDA=1`` is set.
* A failed or skipped build still installs the pure-python package: the ops then run their
  torch reference paths and ``dglclust.ops.backend()`` reports ``"reference"``
  (``DGLCLUST_STRICT_BUILD=1`` makes a failed build an error instead).
"""
from __future__ import annotations

import glob
import os
import sys

from setuptools import setup

ROOT = os.path.dirname(os.path.abspath(__file__))


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").lower() in ("1", "true", "yes", "on")


def get_extensions():
    if _flag("DGLCLUST_NO_EXT"):
        print("dglclust: DGLCLUST_NO_EXT=1, skipping the C++ extension", file=sys.stderr)
        return []
    try:
        import torch
        from torch.utils.cpp_extension import CUDA_HOME, CppExtension, CUDAExtension
    except Exception as exc:  # torch missing in an isolated build env
        print(f"dglclust: torch not importable ({exc}); skipping the C++ extension", file=sys.stderr)
        return []

    rel = lambda pattern: sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))
    sources = rel("csrc/ops/*.cpp") + rel("csrc/cpu/*.cpp")
    use_cuda = _flag("FORCE_CUDA") or (torch.version.cuda is not None and CUDA_HOME is not None)
    # torch >= 2.14's headers need C++20 (ATen.h: "C++20 or later compatible compiler is
    # required"); older releases build as C++17
    major, minor = (int(v) for v in torch.__version__.split("+")[0].split(".")[:2])
    std = "c++20" if (major, minor) >= (2, 14) else "c++17"
    extra_cxx = ["-O3", f"-std={std}", "-fopenmp"]
    if os.environ.get("DGLCLUST_NATIVE", "1") != "0" and not use_cuda:
        extra_cxx.append("-march=native")
    # the torch version the extension is compiled against, checked at import (dglclust/ops/_ext.py)
    define_macros = [("DGLCLUST_TORCH_VERSION", torch.__version__)]
    if use_cuda:
        sources += rel("csrc/cuda/*.cpp") + rel("csrc/cuda/*.cu")
        define_macros.append(("WITH_CUDA", None))
        ext = CUDAExtension(
            "dglclust._C",
            sources,
            define_macros=define_macros,
            extra_compile_args={"cxx": extra_cxx, "nvcc": ["-O3", "--use_fast_math", f"-std={std}"]},
            extra_link_args=["-fopenmp"],
        )
    else:
        ext = CppExtension(
            "dglclust._C",
            sources,
            define_macros=define_macros,
            extra_compile_args={"cxx": extra_cxx},
            extra_link_args=["-fopenmp"],
        )
    return [ext]


def get_cmdclass():
    try:
        from torch.utils.cpp_extension import BuildExtension
    except Exception:
        return {}

    class OptionalBuildExtension(BuildExtension):
        """Build the extension if possible; never fail the install because of it."""

        def run(self):
            try:
                super().run()
            except Exception as exc:  # pragma: no cover - depends on the toolchain
                if _flag("DGLCLUST_STRICT_BUILD"):
                    raise
                print(f"dglclust: building the C++ extension failed ({exc}); "
                      "installing the pure-torch package", file=sys.stderr)

        def build_extension(self, ext):
            try:
                super().build_extension(ext)
            except Exception as exc:  # pragma: no cover
                if _flag("DGLCLUST_STRICT_BUILD"):  # make cuda-build: fail loudly
                    raise
                print(f"dglclust: building {ext.name} failed ({exc}); "
                      "installing the pure-torch package", file=sys.stderr)

    return {"build_ext": OptionalBuildExtension.with_options(use_ninja=True)}


setup(ext_modules=get_extensions(), cmdclass=get_cmdclass())
