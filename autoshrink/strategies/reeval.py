"""Noise-aware strategies: a base strategy, then the budget's last share spent re-training the top
observed cells under table seeds they have not seen (docs/strategies.md).

The best of many noisy scores is biased upwards: the cell that scored best once is often a cell
that was lucky once. `Reevaluated` runs its base strategy on (1 - REEVAL_SHARE) of the budget, takes
the FINALISTS cells of the best mean observed score, trains each again under fresh table seeds,
round by round, while budget and seeds last, and answers with the finalist of the best mean.
"""
from __future__ import annotations

import math

from .base import Ask, Strategy, Told

REEVAL_SHARE = 0.3    # of the budget kept for re-training the finalists
FINALISTS = 3         # cells re-trained


class Reevaluated(Strategy):
    base: type[Strategy]
    budget_aware = True

    def __init__(self, space, budget, pool, seed, **kw):
        super().__init__(space, budget, pool, seed)
        first = budget - max(FINALISTS, math.floor(REEVAL_SHARE * budget)) if budget >= 2 * FINALISTS else budget
        self.inner = self.base(space, first, pool, int(self.rng.integers(2**31)), **kw)
        self.finalists: list[str] | None = None

    def propose(self) -> list[Ask]:
        if self.finalists is None:
            asks = self.inner.ask()
            if asks:
                return asks
            self.finalists = sorted(self.seen, key=self.mean, reverse=True)[:FINALISTS]
        seeds = [(k, self.fresh_seed(k)) for k in self.finalists]
        return [Ask(k, s) for k, s in seeds if s is not None]

    def observe(self, told: Told) -> None:
        if self.finalists is None:
            self.inner.tell([told])

    def choose(self) -> str:
        if self.finalists is None:
            return self.inner.choose()
        return max(self.finalists, key=self.mean)
