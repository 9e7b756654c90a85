"""Searches replayed from a space table, with no training: a candidate's validation result is looked
up in the table under the table seed the replay draws for it (strategies.loop.TableEvaluator).

    replay_search(table, cfg)                   # the search with cfg's --seed: table seed k at step k
    distributions(table, cfg, repeats=1000)     # AutoShrink and random search at its budget, many times

AutoShrink is the strategy strategies.autoshrink.AutoShrink (the shrink loop of search.Search: the
same edge order, candidates, score, --retest and --drop_k rules, the best step's cell as the
discovered cell). Under the paired seed rule
(`--seed_rule step`) a step's candidates share one table seed, under `candidate` each draws its
own; --retest K gives a close step's leaders K more table seeds (other than the step's). Random
search (strategies.baselines.RandomSearch) draws as many distinct cells of the space, uniformly, as
AutoShrink made trainings, observes each under one random table seed and keeps the best observed
score. Other strategies are compared on a table by space.leaderboard. Both picks are then
judged by their true score (truth.cell_truth): rank 1 is the best cell of the space.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.runtime import SALT_REPLAY, derive_seed
from ..strategies.autoshrink import AutoShrink, OneSeedDraw, RandomDraw, SearchDraw
from ..strategies.base import Ask, Space, Told
from ..strategies.baselines import RandomSearch
from ..strategies.loop import run
from .table import SpaceTable
from .truth import cell_truth, rank, seed_scores

__all__ = ["OneSeedDraw", "RandomDraw", "SearchDraw", "TableEvaluator", "Replay", "replay", "replay_search",
           "distributions", "per_seed", "wilson"]


class TableEvaluator:
    """Asks answered from a space table: the score of the cell under the asked table seed. Only the
    seeds in `pool` may be asked (a held-out judge seed never decides): another raises."""

    def __init__(self, table: SpaceTable, cfg: SearchConfig, pool=None, scores=None):
        self.scores = scores if scores is not None else seed_scores(table, cfg)
        self.pool = set(range(len(table.seeds)) if pool is None else pool)

    def __call__(self, asks: list[Ask]) -> list[Told]:
        return [Told(a, self.score(a)) for a in asks]

    def score(self, ask: Ask) -> float:
        if ask.epochs is not None:
            raise ConfigError("--halving needs paused trainings, which a table has not; replay without --halving "
                              "(a trained search runs it)")
        if ask.seed not in self.pool:
            raise ConfigError(f"table seed {ask.seed} is held out (or not in the table); decide with seeds "
                              f"{sorted(self.pool)}")
        return self.scores[ask.key][ask.seed]


@dataclass
class Replay:
    steps: list = field(default_factory=list)   # per step: candidates (edge, key, seeds, score), removed, cell
    budget: int = 0                              # trainings the search made (candidates and retests)
    best_step: int | None = None
    discovered: str | None = None                # key of the discovered cell (the best step's)


def replay(table: SpaceTable, cfg: SearchConfig, draw, space: Space | None = None, scores=None) -> Replay:
    """AutoShrink (strategies.autoshrink) over the table with `draw`'s orders and seeds."""
    space = space or Space(table.ops)
    shrink = AutoShrink(space, 10**9, range(len(table.seeds)), 0, cfg=cfg, draw=draw)
    history = run(shrink, TableEvaluator(table, cfg, scores=scores))
    return Replay(steps=shrink.steps, budget=history.budget, best_step=shrink.best_step, discovered=history.pick)


def replay_search(table: SpaceTable, cfg: SearchConfig) -> Replay:
    """The decisions of the search with `cfg` (its --seed, paired rule), from the table alone."""
    if cfg.seed != table.cfg.seed:
        raise ConfigError(f"the table's seeds are those of --seed {table.cfg.seed}, not {cfg.seed}; replay "
                          f"--seed {table.cfg.seed} or build a table with --seed {cfg.seed}")
    return replay(table, cfg, SearchDraw(cfg, len(table.seeds)))


def wilson(hits: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion hits / n."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rank_summary(ranks: list[int], n_cells: int) -> dict:
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
    space, observed, truth = Space(table.ops), seed_scores(table, cfg), cell_truth(table, cfg, judge)
    scores = {k: t["score"] for k, t in truth.items()}
    true_rank = {k: rank(s, scores.values()) for k, s in scores.items()}
    rng = np.random.default_rng(derive_seed(seed, SALT_REPLAY))
    shrink, rand, wins, ties, budgets = [], [], 0, 0, []
    picks = {"AutoShrink": Counter(), "random search": Counter()}
    for _ in range(repeats):
        r = replay(table, cfg, RandomDraw(rng, pool, cfg.seed_rule), space, observed)
        searcher = RandomSearch(space, r.budget, pool, int(rng.integers(2**31)))
        other = run(searcher, TableEvaluator(table, cfg, pool, observed)).pick
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
            "autoshrink": rank_summary(shrink, n), "random_search": rank_summary(rand, n),
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
