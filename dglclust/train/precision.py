"""Mixed precision: bf16 autocast for the dense matrix products where the hardware runs bf16
natively (AVX512-BF16/AMX CPUs, CUDA GPUs with bf16). Master weights, the optimizer, the
propagation op, the Student's-t assignment and all losses stay in fp32."""
from __future__ import annotations

import contextlib
import functools

import torch

__all__ = ["resolve_precision", "autocast"]

_CHOICES = ("auto", "fp32", "bf16")


@functools.lru_cache(maxsize=None)
def _cpu_bf16_native() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` where bf16 matmuls are native on ``device``, else ``"fp32"``."""
    if precision not in _CHOICES:
        raise ValueError(f"precision must be one of {_CHOICES}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if _cpu_bf16_native() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    """Context manager: bf16 autocast when ``precision == "bf16"``, a no-op otherwise."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
