"""Where and in which groups a search's trainings run: the corpus and start embedding they share,
the device, the backend (here, or Ray tasks), and the groups of candidates that train together.

    scheduler = Scheduler(cfg, device, inflight=Checkpoint(...))
    results = scheduler.train(cells, seeds, on_event=..., should_stop=...)   # one train.Result (or None) per cell

A call trains its cells in groups, one batched model each: the cells of a training in flight
(inflight.pt) first, so that a resumed search continues it, then --parallel at a time (0: the
whole call on a GPU, CPU_GROUP at a time on a CPU, one a Ray task: Ray's tasks are its
parallelism). The backend runs the groups, one after another here or side by side as Ray tasks;
`on_event` hears the backend's events (events.TrainingStarted, EpochDone, TrainingDone) with
`index` the cell's place in the call's `cells`, whatever order the groups ran in.
"""
from __future__ import annotations

from dataclasses import replace
from functools import cached_property

from .backend import make_backend
from .core.config import SearchConfig
from .core.data import load_corpus
from .core.events import ignore
from .one_cell import start_embedding
from .proxy.checkpoint import tag

# Candidates per batched model under --parallel 0 on a CPU: two trained a whole Step 1.17-1.23x faster
# than one at a time on two cores in fp32 (1.02x in bf16), and more were no faster (docs/results/speed.md).
CPU_GROUP = 2


class Scheduler:
    """The trainings of one search, on one device through one backend."""

    def __init__(self, cfg: SearchConfig, device, inflight):
        self.cfg, self.device, self.inflight = cfg, device, inflight

    @cached_property
    def backend(self):
        return make_backend(self.cfg)

    @cached_property
    def corpus(self):
        return load_corpus(self.cfg.data)

    @cached_property
    def embedding(self):
        return start_embedding(self.cfg, self.corpus.words)

    def group_size(self, n: int) -> int:
        """Cells per batched model when `n` cells train: --parallel, else all on a GPU, else CPU_GROUP
        (one with Ray, whose tasks run side by side)."""
        if self.cfg.parallel:
            return self.cfg.parallel
        if self.device.type == "cuda":
            return max(n, 1)
        return 1 if self.cfg.backend == "ray" else CPU_GROUP

    def plan(self, cells, seeds) -> tuple[list[int], list[int]]:
        """(the order the cells train in, the sizes of its groups): the training in flight first."""
        saved = set(self.inflight.tags())
        first = [k for k, (c, s) in enumerate(zip(cells, seeds)) if tag(c, s) in saved]
        rest = [k for k in range(len(cells)) if k not in first]
        size = self.group_size(len(rest))
        return first + rest, ([len(first)] if first else []) + [size] * -(-len(rest) // size)

    def train(self, cells, seeds, on_event=None, should_stop=None, group: int | None = None, checkpoint=None,
              stop_after: int | None = None, test: bool = False) -> list:
        """Train `cells` (weights from `seeds`) in the planned groups, or `group` at a time in their
        order when given; with `checkpoint` (default inflight.pt) the training in flight is saved
        after every epoch, with `stop_after` E it pauses there, and with `test` each result holds its test
        perplexity too (train.train_cells). Returns one
        train.Result per cell, None for a cell left unfinished (stopped or paused)."""
        order, sizes = (list(range(len(cells))), group) if group else self.plan(cells, seeds)
        emit = on_event or ignore
        out = self.backend.train([cells[k] for k in order], [seeds[k] for k in order], self.corpus, self.embedding,
                                 self.cfg, self.device, group=sizes,
                                 on_event=lambda event: emit(replace(event, index=order[event.index])),
                                 should_stop=should_stop, checkpoint=checkpoint or self.inflight, test=test,
                                 **({"stop_after": stop_after} if stop_after else {}))
        results = [None] * len(cells)
        for place, k in enumerate(order):
            results[k] = out[place]
        return results
