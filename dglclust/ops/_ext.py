"""Loading of the compiled extension ``dglclust._C`` and the backend switch.

The extension registers its ops under ``torch.ops.dglclust``. It is optional: when it was not
built (``DGLCLUST_NO_EXT=1`` at install time), fails to load (ABI mismatch with the running
torch), or ``DGLCLUST_NO_EXT=1`` is set at run time, every op runs its pure-torch reference and
:func:`backend` reports ``"reference"``. A missing library warns once; it never breaks import.
"""
from __future__ import annotations

import os
import sys
import warnings

import torch

__all__ = ["backend", "extension_loaded", "has_kernel", "load_error", "built_torch_version",
           "op_defined", "cpu_simd"]

_LOADED = False
_ERROR: str | None = None


def _disabled() -> bool:
    return os.environ.get("DGLCLUST_NO_EXT", "0").lower() in ("1", "true", "yes", "on")


def _mismatch(built: str, running: str) -> bool:
    """Whether an extension compiled against torch ``built`` may not run under ``running``: the
    release (``2.13.0``) and the local build tag (``+cpu``, ``+cu130``) must both agree."""
    return built != "unknown" and built != running


def _load() -> None:
    global _LOADED, _ERROR
    if _disabled():
        _ERROR = "disabled by DGLCLUST_NO_EXT=1"
        return
    try:
        from dglclust import _C
    except ImportError as exc:
        _ERROR = f"{type(exc).__name__}: {exc}"
        if "No module named" not in str(exc):  # built but unloadable: tell the user why
            _ERROR += (f" (the running torch is {torch.__version__}; an undefined symbol usually "
                       "means the extension was compiled against another torch)")
            warnings.warn(
                f"dglclust: the compiled extension failed to load ({_ERROR}); using the pure-torch "
                "reference ops. Rebuild with `pip install --no-build-isolation -e .` against the "
                "installed torch.",
                RuntimeWarning,
                stacklevel=2,
            )
        return
    built = getattr(_C, "torch_version", "unknown")
    if _mismatch(built, torch.__version__):
        _ERROR = (f"the extension was compiled against torch {built} but torch "
                  f"{torch.__version__} is running")
        warnings.warn(
            f"dglclust: {_ERROR}; using the pure-torch reference ops. Install torch {built} "
            "(`pip install torch==" + built.split("+")[0] + "`) or rebuild the extension against "
            "the running torch (`pip install --no-build-isolation -e .`).",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    _LOADED = True


def built_torch_version() -> str | None:
    """The torch version the compiled extension was built against, or ``None`` without one."""
    mod = sys.modules.get("dglclust._C")
    return None if mod is None else getattr(mod, "torch_version", "unknown")


_load()


def extension_loaded() -> bool:
    """Whether ``dglclust._C`` is loaded (and not disabled by ``DGLCLUST_NO_EXT=1``)."""
    return _LOADED and not _disabled()


def load_error() -> str | None:
    """Why the extension is not active, or ``None`` when it is."""
    if _disabled():
        return "disabled by DGLCLUST_NO_EXT=1"
    return None if _LOADED else (_ERROR or "not built")


def has_kernel(op: str, device: torch.device | str) -> bool:
    """Whether ``torch.ops.dglclust.<op>`` has a kernel for ``device``'s dispatch key."""
    if not extension_loaded():
        return False
    device = torch.device(device)
    key = {"cpu": "CPU", "cuda": "CUDA"}.get(device.type)
    if key is None:
        return False
    try:
        return torch._C._dispatch_has_kernel_for_dispatch_key(f"dglclust::{op}", key)
    except RuntimeError:
        return False


def cpu_simd() -> str:
    """The x86 vector set the extension's CPU kernels were compiled for: ``"avx512"``, ``"avx2"``
    or ``"none"`` (e.g. built with ``DGLCLUST_NATIVE=0``, or not on x86); ``"none"`` without one."""
    mod = sys.modules.get("dglclust._C")
    return getattr(mod, "cpu_simd", "none") if extension_loaded() and mod is not None else "none"


def op_defined(name: str) -> bool:
    """Whether the loaded extension defines ``torch.ops.dglclust.<name>`` (its schema; kernels
    aside), so that its fake/autograd registrations can be made."""
    try:
        getattr(torch.ops.dglclust, name)
        return True
    except (AttributeError, RuntimeError):
        return False


def backend() -> str:
    """``"extension"`` when the compiled kernels are active, else ``"reference"``."""
    return "extension" if extension_loaded() else "reference"
