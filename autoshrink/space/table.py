"""A space table: every cell of a search space trained under the proxy, once per table seed.

    table = build_table(SearchConfig.preset("tiny", seed=1), "runs/space-tiny", seeds=3)
    table.run("0-1 0-2 1-3", 0)      # {"ppl", "test_ppl", "val_loss", "seconds", "epochs", "curve", ...}

The space is the one a search with these settings explores: its ops (--ops, else drawn from
--seed as the search draws them) and every edge set, pruned (cells.space_cells). Table seed k is
the weight seed derive_seed(seed, k), which is the paired seed of step k of the search with this
--seed (`--seed_rule step`): under it every cell starts from the same weights on the edges it has,
so table seed k holds exactly what step k of that search observes. The embedding is the search's
(start_embedding of the same --seed).

`<save>/space.json` (written atomically after every training) holds the settings, the seeds and
per cell its key, cell, edges, flops, params and one run per table seed (validation and test
perplexity, loss, seconds, epochs, curve; null until trained). Cells train through the search's
Scheduler, in its groups (several in one batched model, as a Step's candidates do); the group in
flight is saved after every epoch in `<save>/inflight.pt` and continued first, so a killed build
loses at most one epoch. One process writes a table
(core.disk.WriterLock); building again with the same settings continues it, with more --seeds
extends it, with fewer --seeds or other settings is refused in one line. Each training done is a
TableProgress with the time left (core.eta.TimeLeft: the pace so far, smoothed, as a group of
trainings ends together).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.cell import Cell
from ..core.cells import key, space_cells
from ..core.config import SearchConfig
from ..core.disk import HoldsLock, WriterLock, read_record, write_json_atomic
from ..core.errors import ConfigError
from ..core.eta import TimeLeft
from ..core.events import TableProgress, TrainingDone, ignore
from ..core.rules import initial_cell
from ..core.runtime import derive_seed, resolve_device
from ..proxy.checkpoint import Checkpoint
from ..proxy.precision import proxy_precision
from ..scheduler import Scheduler

FORMAT = "autoshrink-space/1"
FILE = "space.json"
# Settings a cell's numbers depend on: a table answers for a search only when these agree.
PROXY_SETTINGS = ("emb_path", "emsize", "lr", "clip", "epochs", "batch_size", "eval_batch_size", "bptt",
                  "precision", "fuse")
RUN_FIELDS = ("ppl", "test_ppl", "val_loss", "seconds", "epochs", "diverged", "ended", "curve")


def table_seed(seed: int, k: int) -> int:
    """The weight seed of table seed k: the paired (--seed_rule step) seed of step k under --seed."""
    return derive_seed(seed, k)


def search_ops(cfg: SearchConfig) -> tuple[str, ...]:
    """The ops of the space a search with `cfg` explores (--ops, else drawn from --seed)."""
    return initial_cell(cfg).ops


@dataclass
class SpaceTable:
    config: dict                 # SearchConfig.to_dict() the cells trained under (precision resolved)
    ops: list[str]               # the space's node ops
    seeds: list[int]             # weight seed of each table seed (table_seed(config seed, k))
    cells: list[dict] = field(default_factory=list)   # {"key", "cell", "edges", "flops", "params", "runs"}
    format: str = FORMAT

    @classmethod
    def read(cls, save) -> "SpaceTable":
        d = read_record(save, FILE, FORMAT, "space table", f"build one with `autoshrink space --save {save}`",
                        "build the table again with `autoshrink space` into another --save")
        return cls(config=d["config"], ops=d["ops"], seeds=d["seeds"], cells=d["cells"])

    def write(self, save) -> None:
        write_json_atomic(Path(save) / FILE, {"format": self.format, "config": self.config, "ops": self.ops,
                                              "seeds": self.seeds, "cells": self.cells})

    @property
    def cfg(self) -> SearchConfig:
        return SearchConfig.from_dict(self.config)

    def row(self, cell_key: str) -> dict:
        return self._index()[cell_key]

    def run(self, cell_key: str, k: int) -> dict | None:
        """The run of cell `cell_key` under table seed k (None while untrained)."""
        return self.row(cell_key)["runs"][k]

    def _index(self) -> dict:
        if getattr(self, "_by_key", None) is None or len(self._by_key) != len(self.cells):
            self._by_key = {c["key"]: c for c in self.cells}
        return self._by_key

    def missing(self) -> list[tuple[int, str]]:
        """(table seed, cell key) of every training not done yet, seed by seed."""
        return [(k, c["key"]) for k in range(len(self.seeds)) for c in self.cells if c["runs"][k] is None]

    @property
    def complete(self) -> bool:
        return not self.missing()

    def trained_seeds(self) -> "SpaceTable":
        """The table cut to its first table seeds that every cell has: a build still growing trains
        seed by seed, so this is a complete table of fewer seeds. ConfigError when no seed is."""
        missing = self.missing()
        k = min((k for k, _ in missing), default=len(self.seeds))
        if k == 0:
            raise ConfigError(f"no table seed is trained for every cell yet ({len(missing)} trainings "
                              "missing); continue the build with `autoshrink space` and its settings")
        return SpaceTable(config=self.config, ops=self.ops, seeds=self.seeds[:k],
                          cells=[{**c, "runs": c["runs"][:k]} for c in self.cells], format=self.format)

    def check_answers(self, cfg: SearchConfig, ops) -> None:
        """ConfigError (one line) unless this table holds the space and proxy settings of a search
        with settings `cfg` and ops `ops`."""
        if list(ops) != list(self.ops):
            raise ConfigError(f"the table's ops {self.ops} are not the search's {list(ops)}; build a table with "
                              f"--ops {','.join(ops)} (or the search's --seed)")
        mine = self.config
        for name in PROXY_SETTINGS:
            if cfg.to_dict()[name] != mine[name]:
                raise ConfigError(f"the table was trained with --{name} {mine[name]}, the search with "
                                  f"{cfg.to_dict()[name]}; build a table with the search's proxy settings")


def new_table(cfg: SearchConfig, n_seeds: int) -> SpaceTable:
    ops = search_ops(cfg)
    rows = [{"key": key(c), "cell": c.to_dict(), "edges": c.n_edges, "flops": c.flops(cfg.nhid),
             "params": None, "runs": [None] * n_seeds} for c in space_cells(ops)]
    return SpaceTable(config=cfg.to_dict(), ops=list(ops), seeds=[table_seed(cfg.seed, k) for k in range(n_seeds)],
                      cells=rows)


def _same_space(old: SpaceTable, new: SpaceTable, save) -> None:
    """A build continuing `old` must ask for its space and settings (not its place or machine)."""
    for name in ("seed", "nodes", *PROXY_SETTINGS):
        if old.config[name] != new.config[name]:
            raise ConfigError(f"{save} holds a table built with --{name} {old.config[name]}, not "
                              f"{new.config[name]}; continue it with its settings or choose another --save")
    if old.ops != new.ops:
        raise ConfigError(f"{save} holds a table of ops {old.ops}, not {new.ops}; choose another --save")
    if os.path.realpath(old.config["data"]) != os.path.realpath(new.config["data"]):
        raise ConfigError(f"{save} holds a table trained on {old.config['data']}, not {new.config['data']}; "
                          "continue it with its --data or choose another --save")


def check_seeds(save, n_seeds: int) -> None:
    """ConfigError (one line) when `save` holds a table of more seeds than n_seeds: a table never drops
    seeds, so building it with fewer would silently keep them all."""
    if not (Path(save) / FILE).exists():
        return
    held = len(SpaceTable.read(save).seeds)
    if held > n_seeds:
        raise ConfigError(f"{save} holds a table of {held} seeds, more than --seeds {n_seeds} asks for (a table "
                          f"never drops seeds); build it with --seeds {held} or more, or choose another --save")


def _open(cfg: SearchConfig, save, n_seeds: int) -> SpaceTable:
    """The table in `save` (grown to n_seeds when it holds fewer), or a new one."""
    fresh = new_table(cfg, n_seeds)
    if not (Path(save) / FILE).exists():
        return fresh
    check_seeds(save, n_seeds)
    table = SpaceTable.read(save)
    _same_space(table, fresh, save)
    for k in range(len(table.seeds), n_seeds):
        table.seeds.append(table_seed(cfg.seed, k))
        for row in table.cells:
            row["runs"].append(None)
    return table


def _run_record(r) -> dict:
    d = r.to_dict()
    out = {k: d[k] for k in RUN_FIELDS}
    out["ppl"] = r.ppl if math.isfinite(r.ppl) else None
    return out


class TableBuilder(HoldsLock):
    """Trains what a table misses, group by group, writing it after every training."""

    def __init__(self, cfg: SearchConfig, save, seeds: int = 3, on_event=None):
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"--seeds must be a whole number, at least 1, got {seeds!r}")
        cfg = cfg.check()
        self.device = resolve_device(cfg.device)
        self.cfg = cfg.replace(precision=proxy_precision(cfg.precision, self.device, cfg.nhid), save=str(save))
        self.save = Path(save)
        self.on_event = on_event or ignore
        self.lock = WriterLock(self.save, hint="or build into another --save")
        self.lock.acquire()
        self.table = _open(self.cfg, self.save, seeds)
        self.inflight = Checkpoint(self.save / "inflight.pt")

    def run(self, should_stop=None) -> SpaceTable:
        """Train every missing (cell, table seed), in the groups a search's Scheduler plans (the
        training in flight first); returns the table (complete unless stopped)."""
        todo = self.table.missing()
        self.table.write(self.save)
        if not todo:
            return self.table
        total, start, left = len(self.table.cells) * len(self.table.seeds), len(todo), TimeLeft()

        def done(event):
            if not isinstance(event, TrainingDone):
                return
            k, cell_key = todo[event.index]
            row = self.table.row(cell_key)
            row["runs"][k] = _run_record(event.result)
            row["params"] = event.result.params
            self.table.write(self.save)
            done = total - len(self.table.missing())
            eta = left.update(done, total, first_done=total - start)
            self.on_event(TableProgress(f"{cell_key} / seed {k}", done, total, eta or 0.0, row["runs"][k]))
        cells = [Cell.from_dict(self.table.row(c)["cell"]) for _, c in todo]
        seeds = [self.table.seeds[k] for k, _ in todo]
        Scheduler(self.cfg, self.device, self.inflight).train(cells, seeds, on_event=done, should_stop=should_stop,
                                                              test=True)
        return self.table


def build_table(cfg: SearchConfig, save, seeds: int = 3, on_event=None, should_stop=None) -> SpaceTable:
    """Build (or continue) the space table of `cfg`'s search space in `save`; see the module docstring."""
    with TableBuilder(cfg, save, seeds, on_event) as builder:
        return builder.run(should_stop)
