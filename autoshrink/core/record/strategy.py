"""A strategy run's record (strategy.json, docs/guide/record-format.md), typed, for the views that
show it beside searches (compare, the bench, the runs list). It answers the queries those views
ask of a search record (cell_of, best_step, best_ppl, done_steps) as a run with no shrink steps.

    run = StrategyRecord.read("runs/local")
    run.cell_of("best")           # its pick
    run.incumbent_scores()        # the pick's mean observed score after each training
"""
from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean
from typing import Optional

from ..cell import Cell
from ..disk import read_record
from .files import paths_from_record
from .layout import STRATEGY_FILE, STRATEGY_FORMAT
from .load import strategy_pick
from .schema import Best


def read_strategy(save) -> dict:
    """The strategy run in `save` as a plain dict, checked (one-line ConfigError); its paths made
    usable from here (files.paths_from_record)."""
    d = read_record(save, STRATEGY_FILE, STRATEGY_FORMAT, "strategy run", "start one with `autoshrink search "
                    "--strategy`", "start the run again into another --save")
    return {**d, "config": paths_from_record(d["config"], save)}


def incumbent_means(trainings: list, incumbents: list) -> list[float | None]:
    """After each training, the mean observed score of the incumbent over its trainings so far, a
    diverged one left out (None while it has none finite)."""
    out = []
    for n, key in enumerate(incumbents, start=1):
        scores = [t["score"] for t in trainings[:n] if t["key"] == key and t["score"] is not None]
        out.append(fmean(scores) if scores else None)
    return out


@dataclass(kw_only=True)
class StrategyRecord:
    format: str
    config: dict                    # the search settings it trained under
    strategy: str                   # its name (strategies.STRATEGIES)
    budget: int                     # trainings it may make
    seeds: int                      # table seeds its weights are drawn from
    ops: list                       # the space's node ops
    trainings: list = field(default_factory=list)    # per training: key, seed, score, ppl, seconds, ...
    incumbents: list = field(default_factory=list)   # its pick's key after each training
    pick: Optional[str] = None
    pick_cell: Optional[dict] = None
    finished: bool = False
    parent = None                   # never a branch
    steps: tuple = ()               # no shrink steps

    @classmethod
    def read(cls, save) -> "StrategyRecord":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in read_strategy(save).items() if k in names})

    @property
    def cell(self) -> dict:
        """The cell it stands for now: its pick (the ops alone before one)."""
        return self.pick_cell or {"ops": list(self.ops)}

    def cell_of(self, which="best") -> Cell:
        return strategy_pick({"pick_cell": self.pick_cell}, self.config.get("save", "the run"), which)

    def done_steps(self) -> list:
        return []

    def comparable_steps(self) -> list:
        return []

    def pick_scores(self, key: str | None) -> list[float | None]:
        return [t["score"] for t in self.trainings if t["key"] == key]

    def best_ppl(self) -> Optional[float]:
        """The mean proxy ppl of its pick's trainings (None before a pick, or when every one diverged)."""
        ppls = [t["ppl"] for t in self.trainings if t["key"] == self.pick and t.get("ppl") is not None]
        return fmean(ppls) if ppls else None

    def best_step(self) -> Optional[Best]:
        """Its pick as a search's best step would be given: after its last training, its mean score."""
        scores = [s for s in self.pick_scores(self.pick) if s is not None]
        if not self.pick_cell or not scores:
            return None
        return Best(step=len(self.trainings), score=fmean(scores), cell=self.pick_cell)

    def incumbent_scores(self) -> list[float | None]:
        """After each training, the mean observed score of the incumbent (incumbent_means)."""
        return incumbent_means(self.trainings, self.incumbents)
