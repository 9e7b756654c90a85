"""Precision and kernel choice: which arithmetic a training (proxy or final) runs in, decided per device.

`--precision` is "fp32", "bf16", "bf16-decoder" or "auto"; bf16 means bf16 arithmetic on fp32
master weights (the loss, the gradient norm and the clip stay fp32); "bf16-decoder" runs only the
tied decoder and its loss in bf16 and the cell in fp32. In proxy training (search candidates)
"auto" is bf16 on a bf16-fast device for cells of nhid BF16_MIN_NHID or more, else fp32
(`proxy_precision`, as the rank study measured). In the final training "auto" picks bf16 only where the device
runs it fast: a CUDA device with native bf16 (compute capability 8.0 or newer, asked of the
requested device; older GPUs only emulate it), or a CPU whose flags (/proc/cpuinfo) list AVX-512
BF16 or AMX-BF16. On such a CPU a cell smaller than BF16_MIN_NHID gets "bf16-decoder": its many
small ops are bound by per-op overhead, which bf16 casts only add to, while the decoder's large
GEMMs still gain (measured on a 2-core CPU at nhid 32: the cell 16 ms per step in fp32 against
22 ms in bf16, the decoder and loss 37 ms against 27 ms). Otherwise fp32. `--fuse` is "on",
"off" or "auto" (on): the chunked fused decoder + cross-entropy and the fused cell step. fp32
with fuse off is the plain reference path.
"""
from __future__ import annotations

from pathlib import Path

import torch

FAST_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
NATIVE_BF16_MAJOR = 8   # CUDA compute capability from which bf16 runs natively (Ampere)
BF16_MIN_NHID = 64   # on a CPU, smaller cells run in fp32: they are bound by per-op overhead, not by GEMMs


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
    if device.type == "cuda":     # the requested device's own bf16 units (compute capability 8.0 on), not emulation
        return torch.cuda.get_device_capability(device)[0] >= NATIVE_BF16_MAJOR
    if device.type == "cpu":
        return any(f in (cpu_flags() if flags is None else flags) for f in FAST_BF16_FLAGS)
    return False


def resolve_precision(name: str, device: torch.device, nhid: int = BF16_MIN_NHID) -> str:
    """'fp32', 'bf16' or 'bf16-decoder' for the setting `name` on `device`, for a cell of hidden size `nhid`."""
    if name != "auto":
        return name
    if not fast_bf16(device):
        return "fp32"
    return "bf16" if device.type != "cpu" or nhid >= BF16_MIN_NHID else "bf16-decoder"


def proxy_precision(name: str, device: torch.device, nhid: int) -> str:
    """The precision of proxy training (search candidates, the quality report, `proxy`). "auto" is
    what the rank study (docs/results/rank-study.md) supports: bf16 where the device
    runs it fast and the cell is at least BF16_MIN_NHID wide, else fp32. At the published size (4
    seeds) bf16 agreed with fp32 at the same seed (Kendall's tau 0.44) more than two fp32 seeds
    agree (0.34), agreed more between its own seeds (0.53) and took 1.7x less CPU time; at the demo
    size (nhid 32) bf16 and bf16-decoder lowered a step's seed-to-seed agreement (0.47 and 0.38
    against 0.64)."""
    if name != "auto":
        return name
    return "bf16" if nhid >= BF16_MIN_NHID and fast_bf16(device) else "fp32"


def resolve_fuse(name: str) -> bool:
    return name != "off"


def compute_dtypes(precision: str) -> tuple[torch.dtype, torch.dtype]:
    """(the cell's dtype, the decoder's dtype) of a resolved precision."""
    bf, fp = torch.bfloat16, torch.float32
    return {"fp32": (fp, fp), "bf16": (bf, bf), "bf16-decoder": (fp, bf)}[precision]
