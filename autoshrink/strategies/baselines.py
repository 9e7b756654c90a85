"""The standing baselines of NAS, on AutoShrink's space (docs/strategies.md): random search, local
search and regularized evolution. Each trains a cell once, under a random table seed of its pool,
and answers with the cell of the best mean observed score.

- `RandomSearch`: distinct cells drawn uniformly, as many as the budget allows.
- `LocalSearch` (White et al. 2020): from a random cell, train every untried one-edge neighbour
  (one edge added or removed); move to the best if it beats the current cell, else restart from a
  random untried cell.
- `Evolution` (regularized evolution, Real et al. 2019): a population of POPULATION random cells;
  each cycle the best of TOURNAMENT random members is the parent, its child (one edge flipped)
  trains and joins, the oldest member leaves.
"""
from __future__ import annotations

from collections import deque

from .base import Ask, Strategy

POPULATION = 10   # regularized evolution's population (cells alive at once)
TOURNAMENT = 3    # members drawn to choose a parent


class RandomSearch(Strategy):
    name = "random"
    about = "random search: distinct cells drawn uniformly, the best observed"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.order = [self.space.keys[i] for i in self.rng.permutation(len(self.space.keys))]

    def propose(self) -> list[Ask]:
        todo = self.untried(self.order)
        return [self.first(k) for k in todo[: self.budget - self.spent]]


class LocalSearch(Strategy):
    name = "local"
    about = "local search: train the current cell's one-edge neighbours, move to the best, restart at a peak"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.current: str | None = None      # the cell whose neighbourhood is being tried
        self.moves: list[tuple] = []         # (from, to) of every move; from None: a (re)start

    def propose(self) -> list[Ask]:
        if self.current is not None and self.neighbourhood_tried():
            self.move()
        if self.current is None:
            return self.restart()
        todo = self.untried(self.space.neighbours(self.current))
        return [self.first(k) for k in (todo[i] for i in self.rng.permutation(len(todo)))]

    def neighbourhood_tried(self) -> bool:
        return all(k in self.seen for k in self.space.neighbours(self.current))

    def move(self) -> None:
        """To the best neighbour if it beats the current cell, else nowhere (a restart follows)."""
        best = max(self.space.neighbours(self.current), key=self.mean)
        if self.mean(best) > self.mean(self.current):
            self.moves.append((self.current, best))
            self.current = best
        else:
            self.current = None

    def restart(self) -> list[Ask]:
        untried = self.untried()
        if not untried:
            return []
        self.current = self.choice(untried)
        self.moves.append((None, self.current))
        return [self.first(self.current)]


class Evolution(Strategy):
    name = "evolution"
    about = "regularized evolution: tournament parents, one-edge mutations, the oldest dies"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.population: deque = deque(maxlen=POPULATION)    # (key, score) of the living, oldest first

    def propose(self) -> list[Ask]:
        if not self.seen:
            n = min(POPULATION, len(self.space.keys))
            return [self.first(self.space.keys[i]) for i in self.rng.choice(len(self.space.keys), n, replace=False)]
        return self.child(self.parent())

    def observe(self, told) -> None:
        self.population.append((told.ask.key, told.score))

    def parent(self) -> str:
        members = list(self.population)
        drawn = self.rng.choice(len(members), size=min(TOURNAMENT, len(members)), replace=False)
        return max((members[i] for i in drawn), key=lambda m: m[1])[0]

    def child(self, parent: str) -> list[Ask]:
        """An untried one-edge mutant of `parent`; else a mutant again under a table seed it has not
        seen; else any untried cell (none: the space and its seeds are spent)."""
        near = self.space.neighbours(parent)
        untried = self.untried(near)
        if untried:
            return [self.first(self.choice(untried))]
        again = [(k, self.fresh_seed(k)) for k in near]
        again = [Ask(k, s) for k, s in again if s is not None]
        if again:
            return [self.choice(again)]
        anywhere = self.untried()
        return [self.first(self.choice(anywhere))] if anywhere else []
