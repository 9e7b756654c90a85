"""What every search strategy shares: the space it searches, the trainings it asks for and is told
about, and the one interface the loop (strategies/loop.py) drives (docs/strategies.md).

    strategy = make("local", space, budget=30, pool=[0, 1, 2], seed=7)
    asks = strategy.ask()          # [Ask(key="0-1 1-2", seed=2), ...]: the next trainings ([]: done)
    strategy.tell([Told(ask, score)])   # their scores (-inf: diverged), in any order
    strategy.pick()                # the key of the cell it would answer with now (its incumbent)

A cell is its pruned key (core.cells.key): two edge sets that prune alike train alike. A training
is a cell under a table seed k of `pool` (its weights are the paired seed k of the run's --seed:
space.table.table_seed), so the same strategy runs against trainings or a space table. Every
training counts against the budget: first trainings, re-trainings and retests alike. A strategy
decides from its seed and what it is told alone, so telling a new one the same results again
continues it (that is how a stopped run resumes: strategies/loop.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.cell import Cell
from ..core.cells import all_edges, key, space_cells


@dataclass(frozen=True)
class Ask:
    key: str        # the pruned cell to train (core.cells.key)
    seed: int       # the table seed it trains under (a place in the run's seeds)
    edge: tuple | None = None     # AutoShrink: the edge whose removal from the step's cell gives `key`
    epochs: int | None = None     # AutoShrink --halving: train only to this epoch (a rung), then tell
    round: int = 0                # AutoShrink --retest: 0 for a candidate's first training, r for retest r


@dataclass(frozen=True)
class Told:
    ask: Ask
    score: float    # the score it got (core.rules.score; -inf when it diverged)
    loss: float | None = None     # a rung's validation loss there (None: the training ended before it)


class Space:
    """The cells of one search space (fixed ops): keys, edge sets, one-edge neighbours, draws. The
    whole space is enumerated only when a strategy reads `cells` or `keys` (AutoShrink never does,
    so a trained search of any size uses one)."""

    def __init__(self, ops):
        self.ops = tuple(ops)
        self.edges = all_edges(len(self.ops))
        self._cells, self._keys, self._after, self._near = None, None, {}, {}

    @property
    def cells(self) -> dict[str, Cell]:
        if self._cells is None:
            self._cells = {key(c): c for c in space_cells(self.ops)}
        return self._cells

    @property
    def keys(self) -> list[str]:
        """Every cell's key: most edges first, then by key."""
        if self._keys is None:
            self._keys = list(self.cells)
        return self._keys

    def after(self, cell_key: str, edge) -> str:
        """The key of the cell left when `edge` is removed from cell `cell_key` (then pruned)."""
        k = (cell_key, tuple(edge))
        if k not in self._after:
            self._after[k] = key(self.cell(cell_key).remove(tuple(edge))[0])
        return self._after[k]

    def cell(self, cell_key: str) -> Cell:
        """The pruned cell of a key ("none": the cell without edges)."""
        edges = [] if cell_key == "none" else [tuple(map(int, e.split("-"))) for e in cell_key.split()]
        return Cell.from_edges(edges, self.ops)

    def edge_set(self, cell_key: str) -> frozenset:
        return frozenset(self.cell(cell_key).edges)

    def key_of(self, edges) -> str:
        return key(Cell.from_edges(sorted(edges), self.ops))

    def neighbours(self, cell_key: str) -> list[str]:
        """The distinct cells one edge away (one edge added or removed, then pruned), by key order."""
        if cell_key not in self._near:
            mine = self.edge_set(cell_key)
            found = {self.key_of(mine ^ {e}) for e in self.edges} - {cell_key}
            self._near[cell_key] = sorted(found, key=self.keys.index)
        return self._near[cell_key]

    def full(self) -> str:
        return key(Cell.full(self.ops))


class Strategy:
    """A search strategy over a Space, driven by ask/tell. Subclasses write `propose` (the next
    trainings) and may write `observe` (learn from a result) and `choose` (the pick); the base
    keeps every observation, the budget spent and the incumbent."""

    name = "strategy"
    about = ""                    # one line for menus and --help
    budget_aware = False          # decides otherwise with another budget (else: its pick after b trainings
                                  # is its pick with budget b, which an anytime curve reads)

    def __init__(self, space: Space, budget: int, pool: list[int], seed: int):
        if not pool:
            raise ValueError("a strategy needs at least one table seed to train under")
        self.space, self.budget, self.pool = space, budget, list(pool)
        self.rng = np.random.default_rng(seed)
        self.seen: dict[str, list[tuple[int, float]]] = {}     # key -> [(table seed, score), ...]
        self.means: dict[str, float] = {}                      # key -> mean observed score (-inf: diverged once)
        self.spent = 0

    # --- the interface the loop drives
    def ask(self) -> list[Ask]:
        if self.spent >= self.budget:
            return []
        return self.propose()[: self.budget - self.spent]

    def tell(self, results: list[Told]) -> None:
        for r in results:
            runs = self.seen.setdefault(r.ask.key, [])
            runs.append((r.ask.seed, r.score))
            scores = [s for _, s in runs]
            self.means[r.ask.key] = -math.inf if -math.inf in scores else math.fsum(scores) / len(scores)
            self.spent += 1
        for r in results:
            self.observe(r)

    def pick(self) -> str | None:
        return self.choose() if self.seen else None

    # --- what a strategy writes
    def propose(self) -> list[Ask]:
        raise NotImplementedError

    def observe(self, told: Told) -> None:
        """Learn from one result (after it is in `seen`)."""

    def choose(self) -> str:
        """The incumbent: the cell of the best mean observed score (ties: the first seen)."""
        return max(self.means, key=self.means.__getitem__)

    # --- helpers for strategies
    def mean(self, cell_key: str) -> float:
        return self.means[cell_key]

    def fresh_seed(self, cell_key: str) -> int | None:
        """A table seed of the pool this cell has not trained under yet, drawn at random (None: all used)."""
        used = {k for k, _ in self.seen.get(cell_key, [])}
        free = [k for k in self.pool if k not in used]
        return self.choice(free) if free else None

    def first(self, cell_key: str) -> Ask:
        """A first training of a cell, under a random table seed of the pool."""
        return Ask(cell_key, self.choice(self.pool))

    def choice(self, items: list):
        """One of `items`, drawn uniformly from the strategy's generator."""
        return items[int(self.rng.integers(len(items)))]

    def untried(self, keys=None) -> list[str]:
        """The cells of `keys` (default: the whole space, in its order) not trained yet."""
        return [k for k in (self.space.keys if keys is None else keys) if k not in self.seen]
