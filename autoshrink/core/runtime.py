"""Generic run helpers: seeds derived from integers (and the one table of their salts), and the
device a run uses."""
from __future__ import annotations

import numpy as np

from .errors import ConfigError

# The salts that keep the seeds of different draws apart: derive_seed(run seed, SALT, ...). Every
# seeded draw of the package takes its salt from here; a changed number changes every result.
SALT_OPS = 0x0B5          # a search's node ops, drawn when --ops is not given (core.rules.initial_cell)
SALT_ORDER = 0x5F         # a step's edge order (with the step)
SALT_RETEST = 0x2E7       # a close step's leaders' extra trainings (--retest)
SALT_EMB = 0xE3B          # the starting embedding without --emb_path (one_cell.start_embedding)
SALT_FINAL = 0xF1         # the weights of a cell trained on its own (one_cell.cell_seed)
SALT_BATCHES = 0xB977     # the sequence lengths of a proxy epoch (proxy.train.seq_lengths)
SALT_RANDOM = 0x7A4D      # a quality report's random cells
SALT_WEIGHTS = 0x3E1      # a quality report's training seeds
SALT_SAME_OPS = 0x50C5    # a quality report's random cells with the discovered cell's ops
SALT_POOL = 0x9001        # a quality report's random-search pool
SALT_REPLAY = 0x2E9       # the random draws of a space table's replays (space.replay.distributions)
SALT_STRATEGY = 0x57A     # a trained strategy run's own draws (strategy_run.StrategyRun)
SALT_BASELINE = 0xBA5     # the random search a leaderboard compares each replay with (space.leaderboard)
SALT_CEILING = 0xCE1      # the draws of a leaderboard's noise ceiling (space.leaderboard.ceiling)
SALT_SEEDS_CEILING = 0x5CE1  # its seeds-per-cell rows (space.leaderboard.seeds_ceiling)


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
