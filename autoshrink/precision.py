"""Precision and kernel choice: which arithmetic a proxy training runs in, decided per device.

`--precision` is "fp32", "bf16" or "auto"; bf16 means bf16 arithmetic on fp32 master weights
(the loss, the gradient norm and the clip stay fp32). "auto" picks bf16 only where the device
runs it fast: a CUDA device with bf16 support, or a CPU whose flags (/proc/cpuinfo) list AVX-512
BF16 or AMX-BF16 and a hidden size of at least BF16_MIN_NHID (measured on a 2-core CPU: at
nhid 32 bf16 gained nothing over the fused fp32 path, at nhid 100 it did); otherwise fp32. `--fuse` is "on", "off" or "auto" (on): the chunked fused
decoder + cross-entropy and the fused cell step. fp32 with fuse off is the plain reference path.
"""
from __future__ import annotations

from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")
FUSES = ("auto", "on", "off")
FAST_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
BF16_MIN_NHID = 64   # on a CPU, smaller cells are bound by per-op overhead, not by GEMMs


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of the first processor in /proc/cpuinfo text (empty when unknown)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.is_file() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def fast_bf16(device: torch.device, flags: set[str] | None = None) -> bool:
    """Whether `device` does bf16 arithmetic faster than fp32 (detected, not assumed)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return any(f in (cpu_flags() if flags is None else flags) for f in FAST_BF16_FLAGS)
    return False


def resolve_precision(name: str, device: torch.device, nhid: int = BF16_MIN_NHID) -> str:
    """'fp32' or 'bf16' for the setting `name` on `device`, for a cell of hidden size `nhid`."""
    if name == "auto":
        big = device.type != "cpu" or nhid >= BF16_MIN_NHID
        return "bf16" if big and fast_bf16(device) else "fp32"
    return name


def resolve_fuse(name: str) -> bool:
    return name != "off"


def compute_dtype(precision: str) -> torch.dtype:
    return torch.bfloat16 if precision == "bf16" else torch.float32
