"""The training in flight, saved after every epoch so that a killed run loses at most one epoch.

`train_cells(..., checkpoint=Checkpoint(path))` saves, after each epoch, the weights of the
candidates still training (tensors only), the epoch to run next, the learning rate, each
candidate's tracker (best loss, patience, curve) and its share of the wall time; the sequence
schedule of an epoch follows from (run seed, epoch), so the epoch number is its position. A later
call with the same candidates (their tags, `tag(cell, seed)`, or some of them) continues from there.
A candidate is its cell and its weight seed together: under the paired seed rule every candidate of
a step has the same seed.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.disk import write_atomic


def tag(cell, seed: int) -> str:
    """The identity of one candidate's training in a checkpoint: its weight seed and its pruned mask."""
    bits = "".join(str(v) for row in cell.prune().mask for v in row)
    return f"{int(seed)}:{bits}:{','.join(cell.ops)}"


class Checkpoint:
    def __init__(self, path):
        self.path = Path(path)

    def load(self) -> dict | None:
        """The saved payload, or None when there is none or it cannot be read."""
        if not self.path.is_file():
            return None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:   # a torn or foreign file: start the group over
            return None

    def tags(self) -> list[str]:
        """The candidates the saved training holds (none for a file from before tags)."""
        saved = self.load()
        return list(saved.get("tags", [])) if saved else []

    def save(self, payload: dict) -> None:
        write_atomic(self.path, lambda tmp: torch.save(payload, tmp))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
