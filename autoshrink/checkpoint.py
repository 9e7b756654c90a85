"""The training in flight, saved after every epoch so that a killed run loses at most one epoch.

`train_cells(..., checkpoint=Checkpoint(path))` saves, after each epoch, the weights of the
candidates still training (tensors only), the epoch to run next, the learning rate, each
candidate's tracker (best loss, patience, curve) and its share of the wall time; the sequence
schedule of an epoch follows from (run seed, epoch), so the epoch number is its position. A later
call with the same candidates (their weight seeds, or some of them) continues from there.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch


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

    def seeds(self) -> list[int]:
        saved = self.load()
        return list(saved["seeds"]) if saved else []

    def save(self, payload: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
