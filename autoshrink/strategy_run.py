"""A search strategy other than AutoShrink trained for real (docs/strategies.md): the strategy's asks
are trained by the search's Scheduler (here, batched, or as Ray tasks) and recorded in
`<save>/strategy.json` after every training.

    run = StrategyRun(SearchConfig(...), "local", budget=30)     # or StrategyRun.resume("runs/ls")
    run.run()                       # trains until the budget is spent; returns the record
    run.close()

Table seed k of a run is the weight seed space.table.table_seed(--seed, k), so a run with --seed S
trains exactly what the space table built with --seed S holds, and replaying the strategy from
that table (space.replay.TableEvaluator) makes the same decisions. The strategy draws from
derive_seed(--seed, SALT_STRATEGY). One process writes a run (core.disk.WriterLock); the training in
flight is saved after every epoch in `<save>/inflight.pt`, so a killed run loses at most one epoch
and `resume` continues it: the recorded trainings are told to a new strategy again (loop.Logged).
AutoShrink itself runs as search.Search (the same strategy on the same loop), whose search.json the
lab's views read.
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

from .core.config import SearchConfig
from .core.disk import HoldsLock, WriterLock, clean, write_json_atomic
from .core.errors import ConfigError
from .core.events import StrategyTold, TrainingDone, ignore
from .core.record import STRATEGY_FILE, STRATEGY_FORMAT, paths_to_record
from .core.record.strategy import read_strategy
from .core.rules import cfg_score, initial_cell
from .core.runtime import SALT_STRATEGY, derive_seed, resolve_device
from .proxy.checkpoint import Checkpoint
from .proxy.precision import proxy_precision
from .scheduler import Scheduler
from .space.table import table_seed
from .strategies import PUBLISHED, Ask, Space, Told, make
from .strategies.loop import Logged, run

FORMAT, FILE = STRATEGY_FORMAT, STRATEGY_FILE      # the record's format, owned by core.record
SEEDS = 4      # table seeds a run's trainings draw from: the shipped tables' count


class StrategyRun(HoldsLock):
    """One strategy's trainings in one save folder, through the search's Scheduler."""

    def __init__(self, cfg: SearchConfig, strategy: str, budget: int, seeds: int = SEEDS, on_event=None,
                 record: dict | None = None):
        if strategy == PUBLISHED:
            raise ConfigError("--strategy autoshrink is the search itself; run it without --strategy")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"--seeds must be a whole number, at least 1, got {seeds!r}")
        cfg = cfg.check()
        self.device = resolve_device(cfg.device)
        self.cfg = cfg.replace(precision=proxy_precision(cfg.precision, self.device, cfg.nhid))
        self.save_dir, self.on_event = Path(cfg.save), on_event or ignore
        if record is None and (self.save_dir / FILE).exists():
            raise ConfigError(f"{self.save_dir}/{FILE} exists; resume it (--resume) or choose another --save")
        self.space = Space(initial_cell(self.cfg).ops)
        self.strategy = self.new_strategy(strategy, budget, seeds)
        self.record = record or {"format": FORMAT, "config": self.cfg.to_dict(), "strategy": strategy,
                                 "budget": budget, "seeds": seeds, "ops": list(self.space.ops), "trainings": [],
                                 "incumbents": [], "pick": None, "finished": False}
        self.lock = WriterLock(self.save_dir, hint="or choose another --save")
        self.lock.acquire()
        self.scheduler = Scheduler(self.cfg, self.device, Checkpoint(self.save_dir / "inflight.pt"))

    @classmethod
    def resume(cls, save, on_event=None) -> "StrategyRun":
        d = read(save)
        cfg = SearchConfig.from_dict({**d["config"], "save": str(save)})
        return cls(cfg, d["strategy"], d["budget"], d["seeds"], on_event, record=d)

    def new_strategy(self, name: str, budget: int, seeds: int):
        return make(name, self.space, budget, list(range(seeds)), derive_seed(self.cfg.seed, SALT_STRATEGY))

    def run(self, should_stop=None) -> dict:
        """Train until the strategy's budget is spent (or `should_stop`); returns the record. A run
        stopped before continues from its record (a fresh strategy told the recorded results)."""
        r = self.record
        self.strategy, self.should_stop = self.new_strategy(r["strategy"], r["budget"], r["seeds"]), should_stop
        done = [Told(Ask(t["key"], t["seed"]), _score(t)) for t in self.record["trainings"]]
        self.record["incumbents"] = []
        history = run(self.strategy, Logged(done, self.train), should_stop, on_told=self.told)
        self.record["pick"] = history.pick
        self.record["pick_cell"] = self.space.cell(history.pick).to_dict() if history.pick else None
        self.record["finished"] = not history.stopped and self.strategy.ask() == []
        self.write()
        return self.record

    def told(self, told: Told, pick: str | None) -> None:
        """After each result is told: the pick joins the record, and a view hears of it."""
        incumbents = self.record["incumbents"]
        incumbents.append(pick)
        n = len(incumbents)
        told_so_far = {**self.record, "trainings": self.record["trainings"][:n]}   # not those trained, not told
        self.on_event(StrategyTold(n, self.record["budget"], self.record["trainings"][n - 1], pick,
                                   copy.deepcopy(told_so_far)))

    def train(self, asks) -> list[Told] | None:
        """Train `asks` in one Scheduler call; each finished training is recorded at once."""
        cells = [self.space.cell(a.key) for a in asks]
        seeds = [table_seed(self.cfg.seed, a.seed) for a in asks]

        def done(event):
            if isinstance(event, TrainingDone):
                self.add(asks[event.index], event.result)
            self.on_event(event)
        results = self.scheduler.train(cells, seeds, on_event=done, should_stop=self.should_stop)
        if any(r is None for r in results):
            return None
        return [Told(a, cfg_score(self.cfg, r.ppl, r.flops)) for a, r in zip(asks, results)]

    def add(self, ask, result) -> None:
        d = result.to_dict()
        self.record["trainings"].append(clean({
            "key": ask.key, "seed": ask.seed, "weight_seed": table_seed(self.cfg.seed, ask.seed),
            "score": cfg_score(self.cfg, result.ppl, result.flops), "ppl": result.ppl, "flops": result.flops,
            **{k: d[k] for k in ("params", "seconds", "epochs", "diverged", "ended", "curve") if k in d},
            "at": time.time()}))
        self.write()

    def write(self) -> None:
        """strategy.json, its paths relative to its own folder (as search.json's)."""
        config = paths_to_record(self.record["config"], self.save_dir)
        write_json_atomic(self.save_dir / FILE, {**self.record, "config": config})


def _score(training: dict) -> float:
    return -math.inf if training["score"] is None else training["score"]


def read(save) -> dict:
    """The strategy run in `save`, checked; its paths made usable from here."""
    return read_strategy(save)


def holds_run(save) -> bool:
    return (Path(save) / FILE).is_file()
