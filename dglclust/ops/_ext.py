"""Loading of the compiled extension ``dglclust._C`` and the backend switch.

The extension registers its ops under ``torch.ops.dglclust``. It is optional: when it was not
built (``DGLCLUST_NO_EXT=1`` at install time), fails to load (ABI mismatch with the running
torch), or ``DGLCLUST_NO_EXT=1`` is set at run time, every op runs its pure-torch reference and
:func:`backend` reports ``"reference"``. A missing library warns once; it never breaks import.
"""
from __future__ import annotations

import os
import warnings

import torch

__all__ = ["backend", "extension_loaded", "has_kernel", "load_error"]

_LOADED = False
_ERROR: str | None = None


def _disabled() -> bool:
    return os.environ.get("DGLCLUST_NO_EXT", "0").lower() in ("1", "true", "yes", "on")


def _load() -> None:
    global _LOADED, _ERROR
    if _disabled():
        _ERROR = "disabled by DGLCLUST_NO_EXT=1"
        return
    try:
        from dglclust import _C  # noqa: F401

        _LOADED = True
    except ImportError as exc:
        _ERROR = f"{type(exc).__name__}: {exc}"
        if "No module named" not in str(exc):  # built but unloadable: tell the user why
            warnings.warn(
                f"dglclust: the compiled extension failed to load ({_ERROR}); using the pure-torch "
                "reference ops. Rebuild with `pip install --no-build-isolation -e .` against the "
                "installed torch.",
                RuntimeWarning,
                stacklevel=2,
            )


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


def backend() -> str:
    """``"extension"`` when the compiled kernels are active, else ``"reference"``."""
    return "extension" if extension_loaded() else "reference"
