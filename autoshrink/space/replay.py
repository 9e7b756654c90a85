"""Searches replayed from a space table, with no training: a candidate's validation result is looked
up in the table under the table seed the replay draws for it.

    replay_search(table, cfg)                   # the search with cfg's --seed: table seed k at step k
    distributions(table, cfg, repeats=1000)     # AutoShrink and random search at its budget, many times

AutoShrink replays the shrink loop of search.Search (the same edge order, candidates, score,
--retest and --drop_k rules, the best step's cell as the discovered cell). Under the paired seed rule
(`--seed_rule step`) a step's candidates share one table seed, under `candidate` each draws its
own; --retest K gives a close step's leaders K more table seeds (other than the step's). Random
search draws as many distinct cells of the space, uniformly, as AutoShrink trained candidates,
observes each under one random table seed and keeps the best observed score. Both picks are then
judged by their true score (truth.cell_truth): rank 1 is the best cell of the space.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..core.cell import Cell
from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.rules import edge_order
from ..core.runtime import SALT_REPLAY, derive_seed
from ..decisions import leaders
from .cells import key
from .table import SpaceTable
from .truth import cell_truth, rank, seed_scores


class Lookup:
    """A table's observed scores under `cfg`'s coefficients, and cells after removing an edge."""

    def __init__(self, table: SpaceTable, cfg: SearchConfig):
        self.table, self.cfg = table, cfg
        self.scores = seed_scores(table, cfg)
        self._removed = {}

    def remove(self, cell: Cell, edge) -> Cell:
        k = (key(cell), edge)
        if k not in self._removed:
            self._removed[k] = cell.remove(edge)[0]
        return self._removed[k]

    def score(self, cell_key: str, k: int) -> float:
        return self.scores[cell_key][k]


class SearchDraw:
    """The draws of the search with cfg's --seed: its edge order, table seed k at step k (the paired
    rule's own seeds, so the replay decides as that search did)."""

    def __init__(self, cfg: SearchConfig, n_seeds: int):
        if cfg.seed_rule != "step":
            raise ConfigError("an exact replay needs --seed_rule step (the table's seeds are a step's paired seeds)")
        self.cfg, self.n_seeds = cfg, n_seeds

    def order(self, step: int, edges: list) -> list:
        return edge_order(self.cfg, step, edges)

    def seeds(self, step: int, n: int) -> list[int]:
        if step >= self.n_seeds:
            raise ConfigError(f"the table has {self.n_seeds} seeds, the search's step {step} needs seed {step}; "
                              f"build the table with --seeds {step + 1} or more")
        return [step] * n

    def retest(self, step: int, leaders: int, rounds: int) -> list[list[int]]:
        raise ConfigError("an exact replay of --retest needs the search's retest seeds, which a table has not; "
                          "replay it as a distribution (distributions)")


class OneSeedDraw(SearchDraw):
    """The search's edge order with one table seed at every step."""

    def __init__(self, cfg: SearchConfig, n_seeds: int, k: int):
        super().__init__(cfg, n_seeds)
        self.k = k

    def seeds(self, step: int, n: int) -> list[int]:
        return [self.k] * n


class RandomDraw:
    """Random draws: edge order, and table seeds by the seed rule."""

    def __init__(self, rng: np.random.Generator, pool: list[int], seed_rule: str):
        self.rng, self.pool, self.rule = rng, list(pool), seed_rule
        self._step_seed = {}

    def order(self, step: int, edges: list) -> list:
        return [edges[i] for i in self.rng.permutation(len(edges))]

    def seeds(self, step: int, n: int) -> list[int]:
        if self.rule == "step":
            self._step_seed[step] = int(self.rng.choice(self.pool))
            return [self._step_seed[step]] * n
        return [int(k) for k in self.rng.choice(self.pool, size=n)]

    def retest(self, step: int, leaders: int, rounds: int) -> list[list[int]]:
        """Per leader, `rounds` more table seeds, none the step's own (shared by leaders when paired)."""
        others = [k for k in self.pool if k != self._step_seed.get(step)]
        if len(others) < rounds:
            raise ConfigError(f"--retest {rounds} needs at least {rounds + 1} table seeds to draw from, "
                              f"the replay has {len(self.pool)}")
        if self.rule == "step":
            shared = [int(k) for k in self.rng.choice(others, size=rounds, replace=False)]
            return [shared] * leaders
        return [[int(k) for k in self.rng.choice(self.pool, size=rounds, replace=False)]
                for _ in range(leaders)]


@dataclass
class Replay:
    steps: list = field(default_factory=list)   # per step: candidates (edge, key, seeds, score), removed, cell
    budget: int = 0                              # trainings the search made (candidates and retests)
    best_step: int | None = None
    discovered: str | None = None                # key of the discovered cell (the best step's)


def _retest(look: Lookup, draw, step: int, cands: list[dict], cfg: SearchConfig) -> int:
    close = leaders(cands, cfg.retest_margin)
    for c, extra in zip(close, draw.retest(step, len(close), cfg.retest) if close else []):
        c["seeds"] = c["seeds"] + extra
        c["decision"] = statistics.fmean(look.score(c["key"], k) for k in c["seeds"])
    return len(close) * cfg.retest


def _step(look: Lookup, draw, cell: Cell, t: int, cfg: SearchConfig) -> tuple[dict, Cell, int]:
    edges = draw.order(t, cell.edges)[: cfg.max_steps_to_action]
    seeds = draw.seeds(t, len(edges))
    cands = []
    for edge, k in zip(edges, seeds):
        after = key(look.remove(cell, edge))
        s = look.score(after, k)
        cands.append({"edge": edge, "key": after, "seeds": [k], "score": s, "decision": s})
    spent = len(cands) + (_retest(look, draw, t, cands, cfg) if cfg.retest else 0)
    ranked = sorted(cands, key=lambda c: c["decision"], reverse=True)
    removed = []
    for c in ranked[: cfg.drop_k]:
        if c["edge"] in cell.edges:
            cell = look.remove(cell, c["edge"])
            removed.append(c["edge"])
    return {"step": t, "candidates": cands, "removed": removed, "best_score": ranked[0]["score"],
            "cell": key(cell)}, cell, spent


def replay(table: SpaceTable, cfg: SearchConfig, draw, look: Lookup | None = None) -> Replay:
    """AutoShrink's shrink loop over the table with `draw`'s orders and seeds."""
    look = look or Lookup(table, cfg)
    cell, out = Cell.full(table.ops), Replay()
    while not (cell.n_edges <= cfg.threshold or cell.n_edges == 0):
        record, cell, spent = _step(look, draw, cell, len(out.steps), cfg)
        out.steps.append(record)
        out.budget += spent
    for s in out.steps:      # the first step with the highest chosen score, as record.best_of
        if out.best_step is None or s["best_score"] > out.steps[out.best_step]["best_score"]:
            out.best_step = s["step"]
    out.discovered = out.steps[out.best_step]["cell"] if out.steps else key(cell)
    return out


def replay_search(table: SpaceTable, cfg: SearchConfig) -> Replay:
    """The decisions of the search with `cfg` (its --seed, paired rule), from the table alone."""
    if cfg.seed != table.cfg.seed:
        raise ConfigError(f"the table's seeds are those of --seed {table.cfg.seed}, not {cfg.seed}; replay "
                          f"--seed {table.cfg.seed} or build a table with --seed {cfg.seed}")
    return replay(table, cfg, SearchDraw(cfg, len(table.seeds)))


def random_search(look: Lookup, budget: int, rng: np.random.Generator, pool: list[int]) -> str:
    """The key of the cell random search keeps: `budget` distinct cells drawn uniformly, each seen
    under one table seed drawn from `pool`, the best observed score."""
    keys = [row["key"] for row in look.table.cells]
    picked = rng.choice(len(keys), size=min(budget, len(keys)), replace=False)
    seen = [(look.score(keys[i], int(rng.choice(pool))), -n, keys[i]) for n, i in enumerate(picked)]
    return max(seen)[2]


def wilson(hits: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion hits / n."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ranks_summary(ranks: list[int], n_cells: int) -> dict:
    arr = np.asarray(ranks)
    return {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "median": float(np.median(arr)), "q10": float(np.quantile(arr, 0.1)),
            "q90": float(np.quantile(arr, 0.9)), "top1": float((arr == 1).mean()),
            "top5pct": float((arr <= max(1, math.ceil(0.05 * n_cells))).mean()),
            "counts": np.bincount(arr, minlength=n_cells + 1)[1:].tolist()}


def distributions(table: SpaceTable, cfg: SearchConfig, repeats: int = 1000, seed: int = 0, judge=None) -> dict:
    """AutoShrink (random edge orders and table seeds by cfg's rule) and random search at the same
    number of trainings, `repeats` times each: the distributions of the true rank of their picks and
    the probability that AutoShrink's pick is at least as good as random search's (Wilson 95% CI).
    The truth is the mean over every table seed (in sample), or with `judge` (table seed indices)
    the mean over those alone, which no decision then draws on (held out)."""
    if not table.complete:
        raise ConfigError(f"the table misses {len(table.missing())} trainings; finish it (run `autoshrink space` "
                          "again with its settings) before replaying")
    every = list(range(len(table.seeds)))
    pool = [k for k in every if k not in (judge or [])]
    if not pool:
        raise ConfigError("the held-out seeds leave no table seed to decide with; hold out fewer")
    look, truth = Lookup(table, cfg), cell_truth(table, cfg, judge)
    scores = {k: t["score"] for k, t in truth.items()}
    true_rank = {k: rank(s, scores.values()) for k, s in scores.items()}
    rng = np.random.default_rng(derive_seed(seed, SALT_REPLAY))
    shrink, rand, wins, ties, budgets = [], [], 0, 0, []
    picks = {"AutoShrink": Counter(), "random search": Counter()}
    for _ in range(repeats):
        r = replay(table, cfg, RandomDraw(rng, pool, cfg.seed_rule), look)
        other = random_search(look, r.budget, rng, pool)
        picks["AutoShrink"][r.discovered] += 1
        picks["random search"][other] += 1
        shrink.append(true_rank[r.discovered])
        rand.append(true_rank[other])
        wins += scores[r.discovered] > scores[other]
        ties += scores[r.discovered] == scores[other]
        budgets.append(r.budget)
    n = len(scores)
    low, high = wilson(wins + ties, repeats)
    return {"cells": n, "repeats": repeats, "judge": judge or "all seeds (in sample)",
            "budget": statistics.fmean(budgets),
            "autoshrink": _ranks_summary(shrink, n), "random_search": _ranks_summary(rand, n),
            "p_at_least_as_good": (wins + ties) / repeats, "ci95": [low, high], "p_better": wins / repeats,
            "p_tie": ties / repeats, "picks": {name: dict(c) for name, c in picks.items()}}


def per_seed(table: SpaceTable, cfg: SearchConfig) -> list[dict]:
    """AutoShrink under each table seed alone (every step that seed, the edge order of cfg's --seed):
    the discovered cell and its true rank."""
    truth = cell_truth(table, cfg)
    scores = {k: t["score"] for k, t in truth.items()}
    out = []
    for k in range(len(table.seeds)):
        r = replay(table, cfg, OneSeedDraw(cfg, len(table.seeds), k))
        out.append({"seed": k, "discovered": r.discovered, "rank": rank(scores[r.discovered], scores.values()),
                    "removed": [s["removed"] for s in r.steps]})
    return out
