"""AutoShrink as published, as a strategy: the shrink loop of docs/algorithm.md asked and told.

Each step tries removing the first --max_steps_to_action edges of the step's edge order
(core.rules.edge_order), decides on their scores (with --retest K, a close step's leaders get K
more table seeds and it decides on their mean), removes the --drop_k best for good, and stops once
--keep_fraction of the edges is left. Its pick is the best step's cell (the first step with the
highest chosen score, as the search's record.best_step). Which table seeds a step's candidates
train under is a draw: `SearchDraw`, the search's own (table seed k at step k: the decisions of
the search with that --seed), `OneSeedDraw` (one table seed at every step) or `RandomDraw` (random
edge orders and seeds by --seed_rule, for replays). --halving needs paused trainings, which a table
has not, so it is refused here; a trained search runs it (search.Search).
"""
from __future__ import annotations

import statistics

import numpy as np

from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.rules import decision_key, drop, edge_order, first_best, leaders, shrunk, tried_edges
from ..space.cells import key
from .base import Ask, Space, Strategy, Told


class SearchDraw:
    """The draws of the search with cfg's --seed: its edge order, table seed k at step k."""

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
    """Random draws from `rng`: edge orders, and table seeds of `pool` by the seed rule."""

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


class AutoShrink(Strategy):
    name = "autoshrink"
    about = "AutoShrink as published: remove the edge whose removal scores best, step by step"

    def __init__(self, space: Space, budget, pool, seed, cfg: SearchConfig, draw=None):
        super().__init__(space, budget, pool, seed)
        if cfg.halving:
            raise ConfigError("--halving needs paused trainings, which a table has not; replay without --halving "
                              "(a trained search runs it)")
        self.cfg = cfg
        self.draw = draw or RandomDraw(self.rng, self.pool, cfg.seed_rule)
        self.cell = space.full()
        self.steps: list[dict] = []          # per step: candidates (edge, key, seeds, score, decision), removed, cell
        self.best_step = None
        self.queue: list[Ask] = []           # asks of the open step not handed out yet
        self.waiting: dict[Ask, dict] = {}   # asks handed out -> their candidate
        self.open = None

    def shrunk(self) -> bool:
        return shrunk(self.cfg, len(self.space.edge_set(self.cell)))

    def propose(self) -> list[Ask]:
        if self.open is None and not self.shrunk():
            self.start()
        asks, self.queue = self.queue, []
        return asks

    def start(self) -> None:
        t = len(self.steps)
        edges = tried_edges(self.cfg, t, self.space.cell(self.cell).edges, order=self.draw.order)
        cands = [{"edge": e, "key": self.space.after(self.cell, e), "seeds": [k]}
                 for e, k in zip(edges, self.draw.seeds(t, len(edges)))]
        self.open = {"step": t, "candidates": cands, "retested": not self.cfg.retest}
        self.hand_out([(c, c["seeds"][0]) for c in cands])

    def hand_out(self, pairs) -> None:
        for cand, k in pairs:
            ask = Ask(cand["key"], k)
            self.waiting[ask] = cand
            self.queue.append(ask)

    def observe(self, told: Told) -> None:
        cand = self.waiting.pop(told.ask)
        cand.setdefault("scores", []).append(told.score)
        cand["score"] = cand["scores"][0]
        cand["decision"] = statistics.fmean(cand["scores"])
        if not self.waiting:
            self.retest() if not self.open["retested"] else self.commit()

    def retest(self) -> None:
        """A close step's leaders each train --retest more times; the step then decides on means."""
        self.open["retested"] = True
        close = leaders(self.open["candidates"], self.cfg.retest_margin)
        extra = self.draw.retest(self.open["step"], len(close), self.cfg.retest) if close else []
        for cand, seeds in zip(close, extra):
            cand["seeds"] = cand["seeds"] + list(seeds)
        self.hand_out([(c, k) for c, seeds in zip(close, extra) for k in seeds])
        if not self.queue:
            self.commit()

    def commit(self) -> None:
        """Remove the --drop_k best candidates' edges for good; record the step."""
        step, self.open = self.open, None
        ranked = sorted(step["candidates"], key=lambda c: decision_key(None, c["score"], c["decision"]),
                        reverse=True)
        cell, removed, _ = drop(self.space.cell(self.cell), [c["edge"] for c in ranked], self.cfg.drop_k)
        self.cell = key(cell)
        self.steps.append({"step": step["step"], "candidates": step["candidates"],
                           "removed": [tuple(e) for e in removed], "best_score": ranked[0]["score"], "cell": self.cell})
        self.best_step = first_best([s["best_score"] for s in self.steps])

    def choose(self) -> str:
        return self.steps[self.best_step]["cell"] if self.steps else self.space.full()
