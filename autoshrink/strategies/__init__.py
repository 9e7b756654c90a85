"""Search strategies on one loop (docs/strategies.md): each asks for trainings and is told their
scores (strategies/base.py), and the loop (strategies/loop.py) answers either by training or by
looking a space table up. `STRATEGIES` names them; `make` builds one.

    strategy = make("evolution", Space(ops), budget=30, pool=[0, 1, 2], seed=0)
"""
from __future__ import annotations

from ..core.errors import ConfigError
from .autoshrink import AutoShrink
from .base import Ask, Space, Strategy, Told
from .baselines import Evolution, LocalSearch, RandomSearch
from .reeval import Reevaluated
from .tpe import TPE


class RandomReevaluated(Reevaluated):
    name, base = "random-reeval", RandomSearch
    about = "random search, then the top 3 re-trained under fresh seeds (noise-aware)"


class LocalReevaluated(Reevaluated):
    name, base = "local-reeval", LocalSearch
    about = "local search, then the top 3 re-trained under fresh seeds (noise-aware)"


class EvolutionReevaluated(Reevaluated):
    name, base = "evolution-reeval", Evolution
    about = "regularized evolution, then the top 3 re-trained under fresh seeds (noise-aware)"


STRATEGIES = {s.name: s for s in (AutoShrink, RandomSearch, LocalSearch, Evolution, TPE, RandomReevaluated,
                                  LocalReevaluated, EvolutionReevaluated)}
PUBLISHED = "autoshrink"


def make(name: str, space: Space, budget, pool, seed: int, cfg=None, **kw) -> Strategy:
    """Strategy `name` over `space` with `budget` trainings (None: AutoShrink's own, which it sets
    itself), table seeds `pool`, its draws from `seed`; AutoShrink also takes the search's `cfg`."""
    if name not in STRATEGIES:
        raise ConfigError(f"--strategy {name!r} is not a strategy; use one of {', '.join(STRATEGIES)}")
    if name == PUBLISHED:
        return AutoShrink(space, budget if budget is not None else 10**9, pool, seed, cfg=cfg, **kw)
    if budget is None or budget < 1:
        raise ConfigError(f"--strategy {name} needs --budget, the number of trainings it may make (at least 1)")
    return STRATEGIES[name](space, budget, pool, seed, **kw)


__all__ = ["STRATEGIES", "PUBLISHED", "Ask", "Space", "Strategy", "Told", "make"]
