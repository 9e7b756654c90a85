"""Generic run helpers: seeds derived from integers, and the device a run uses."""
from __future__ import annotations

import numpy as np

from .errors import ConfigError


def derive_seed(*parts: int) -> int:
    """A 31-bit seed from integers, e.g. (run seed, step, i, j): stable across runs and machines."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def resolve_device(name: str):
    """The torch.device `name` means here (torch is imported only now: seeds need none of it)."""
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name!r} is not a device name; use auto, cpu or cuda[:N]") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(f"--device {name} is not available on this machine; use --device auto or cpu")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name} is not supported; use auto, cpu or cuda[:N]")
    return dev
