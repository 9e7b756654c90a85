"""The one loop every strategy runs on. What answers its asks is a space table (instant:
space.replay.TableEvaluator) or training (strategy_run.py for a strategy run; decisions.py for
AutoShrink's search, search.Search).

    history = run(strategy, TableEvaluator(table, cfg, pool))     # a replay from a table
    history.trainings, history.incumbents, history.pick

The loop asks for trainings, has them evaluated, tells the strategy each result and notes its
incumbent after every training (the anytime curve), until the strategy asks for nothing (its
budget spent, or its own end). An evaluator is a callable: asks -> one Told per ask, in order, or
None when stopped. `Logged` puts a run's recorded results in front of an evaluator, so a stopped
run resumes by telling a new strategy the same results again (strategies decide from their seed
and what they are told alone).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ConfigError
from .base import Ask, Strategy, Told


@dataclass
class History:
    trainings: list[Told] = field(default_factory=list)   # every training, in order
    incumbents: list[str | None] = field(default_factory=list)   # the strategy's pick after each training
    pick: str | None = None                                 # its pick at the end
    stopped: bool = False

    @property
    def budget(self) -> int:
        return len(self.trainings)


def run(strategy: Strategy, evaluate, should_stop=None, on_told=None) -> History:
    """Drive `strategy` until it asks for nothing (or `evaluate` returns None: stopped); with
    `on_told`, call on_told(told, pick) after each result is told."""
    out = History()
    while not (should_stop and should_stop()):
        asks = strategy.ask()
        if not asks:
            break
        told = evaluate(asks)
        if told is None:
            out.stopped = True
            break
        for t in told:
            strategy.tell([t])
            out.trainings.append(t)
            out.incumbents.append(strategy.pick())
            if on_told is not None:
                on_told(t, out.incumbents[-1])
    else:
        out.stopped = True
    out.pick = strategy.pick()
    return out


class Logged:
    """An evaluator that answers the first asks from `log` (recorded results, in order) and the rest
    through `evaluate`; an ask that differs from the log's is refused (the run changed)."""

    def __init__(self, log: list[Told], evaluate):
        self.log, self.evaluate = list(log), evaluate

    def __call__(self, asks: list[Ask]):
        known, self.log = self.log[: len(asks)], self.log[len(asks):]
        for ask, told in zip(asks, known):
            if ask != told.ask:
                raise ConfigError(f"the run's record trained {told.ask}, its strategy now asks {ask}: the "
                                  "settings changed; continue it with its own settings")
        rest = asks[len(known):]
        if not rest:
            return known
        more = self.evaluate(rest)
        return None if more is None else known + more
