"""Mixed precision: bf16 autocast for the dense matrix products where the hardware runs bf16
natively. Master weights, the optimizer, the propagation op, the Student's-t assignment and all
losses stay in fp32.

``precision="auto"`` resolves to

* ``"bf16"`` on a CUDA GPU with bf16 support, and on a CPU whose flags include ``avx512_bf16`` or
  ``amx_bf16`` (read from ``/proc/cpuinfo``; oneDNN's own check also answers yes on AVX-512 CPUs
  that only *emulate* bf16, where it is about 2x slower than fp32);
* ``"fp32"`` everywhere else.

``DGLCLUST_PRECISION=fp32`` (or ``bf16``) in the environment replaces that choice for ``"auto"``
(the test suite sets ``fp32``, so quality floors do not depend on the CPU). An explicit
``precision="fp32"``/``"bf16"`` is always used as given. bf16 rounds the inputs of the products to
8 bits of mantissa: results differ from fp32 in the digits of float rounding, which over a
200-epoch fit can move a seed's ACC by a point or more (see docs/protocol.md).
"""
from __future__ import annotations

import contextlib
import functools
import os

import torch

__all__ = ["resolve_precision", "autocast", "cpu_bf16_native", "cpu_info", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16")
_NATIVE_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=None)
def cpu_info() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (``"model name"``, ``"cpu family"``,
    ``"model"``, ``"flags"``, ...); ``{}`` where the file does not exist (not Linux)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if not line.strip():
                    break  # the end of the first processor's block
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _cpu_flags() -> set[str]:
    return set(cpu_info().get("flags", "").split())


@functools.lru_cache(maxsize=None)
def cpu_bf16_native() -> bool:
    """Whether this CPU runs bf16 matrix products natively (AVX512-BF16 or AMX-BF16 flags, and
    oneDNN able to use them)."""
    if not (_cpu_flags() & set(_NATIVE_FLAGS)):
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` where bf16 matmuls are native on ``device``, else ``"fp32"``
    (``$DGLCLUST_PRECISION`` overrides the choice for ``"auto"``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    env = os.environ.get("DGLCLUST_PRECISION", "").strip().lower()
    if env:
        if env not in ("fp32", "bf16"):
            raise ValueError(f"DGLCLUST_PRECISION must be fp32 or bf16, got {env!r}")
        return env
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_bf16_native() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    """Context manager: bf16 autocast when ``precision == "bf16"``, a no-op otherwise."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
