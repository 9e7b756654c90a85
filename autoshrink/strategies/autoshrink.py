"""AutoShrink as published, as a strategy: the shrink loop of docs/algorithm.md asked and told. The
trained search (search.Search) and every replay from a table are this one object driven by the
loop of strategies/loop.py; only what answers its asks differs.

Each step tries removing the first --max_steps_to_action edges of the step's edge order
(core.rules.edge_order). With --halving E every candidate first trains to epoch E (a rung: an ask
with `epochs` E, told its validation loss there) and the better half trains on; the others end
there, "halved", and rank below the rest. The step then decides on their scores (with --retest K,
a close step's leaders get K more trainings, asks of `round` 1..K, and it decides on their mean),
removes the --drop_k best for good, and stops once --keep_fraction of the edges is left. Its pick is
the best step's cell (the first step with the highest chosen score, as record.best_step). Which
table seeds a step's candidates train under is a draw: `SearchDraw`, the search's own (table seed k
at step k: the decisions of the search with that --seed), `OneSeedDraw` (one table seed at every
step), `RandomDraw` (random edge orders and seeds by --seed_rule, for replays) or `TrainedDraw` (a
trained search's: its edge order; the weights follow from --seed, core.rules.candidate_seed).
"""
from __future__ import annotations

import math
import statistics

import numpy as np

from ..core.cell import Cell
from ..core.cells import key
from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.rules import HALVING_KEEP, decision_key, drop, edge_order, first_best, leaders, shrunk, tried_edges
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


class TrainedDraw:
    """A trained search's draws: its edge order. Its seeds are placeholders: the search derives each
    training's weights from --seed (core.rules.candidate_seed and retest_seed)."""

    def __init__(self, cfg: SearchConfig):
        self.cfg = cfg

    def order(self, step: int, edges: list) -> list:
        return edge_order(self.cfg, step, edges)

    def seeds(self, step: int, n: int) -> list[int]:
        return [0] * n

    def retest(self, step: int, leaders: int, rounds: int) -> list[list[int]]:
        return [[0] * rounds for _ in range(leaders)]


class AutoShrink(Strategy):
    name = "autoshrink"
    about = "AutoShrink as published: remove the edge whose removal scores best, step by step"

    def __init__(self, space: Space, budget, pool, seed, cfg: SearchConfig, draw=None):
        super().__init__(space, budget, pool, seed)
        self.cfg = cfg
        self.draw = draw or RandomDraw(self.rng, self.pool, cfg.seed_rule)
        self.now = Cell.full(space.ops)      # the cell the next step shrinks
        self.cell = key(self.now)
        self.steps: list[dict] = []          # per step: candidates (edge, key, seeds, score, decision), removed, cell
        self.best_step = None
        self.queue: list[Ask] = []           # asks of the open step not handed out yet
        self.waiting: dict[Ask, dict] = {}   # asks handed out -> their candidate
        self.open = None                     # the open step: its candidates, phase, survivors, leaders

    def restore(self, removed: list, pruned: list, cell: Cell, best_score) -> None:
        """A step decided before (the record of a resumed or branched search), taken as it was."""
        self.now, self.cell = cell, key(cell)
        self.steps.append({"step": len(self.steps), "candidates": [], "removed": [tuple(e) for e in removed],
                           "pruned": [tuple(e) for e in pruned], "best_score": best_score, "cell": self.cell,
                           "left": cell, "survivors": None, "halved": None, "leaders": None})
        self.best_step = first_best([s["best_score"] for s in self.steps])

    def shrunk(self) -> bool:
        return shrunk(self.cfg, self.now.n_edges)

    def propose(self) -> list[Ask]:
        if self.open is None and not self.shrunk():
            self.start()
        asks, self.queue = self.queue, []
        return asks

    def start(self) -> None:
        t = len(self.steps)
        edges = tried_edges(self.cfg, t, self.now.edges, order=self.draw.order)
        cands = [{"edge": tuple(e), "key": self.space.after(self.cell, e), "seeds": [k]}
                 for e, k in zip(edges, self.draw.seeds(t, len(edges)))]
        self.open = {"step": t, "candidates": cands, "phase": "rung" if self.cfg.halving else "train",
                     "survivors": None, "halved": None, "leaders": None}
        self.hand_out([(c, c["seeds"][0], 0, self.cfg.halving or None) for c in cands])

    def hand_out(self, asks) -> None:
        """(candidate, table seed, round, epochs) -> an ask each, queued."""
        for cand, k, round_, epochs in asks:
            ask = Ask(cand["key"], k, cand["edge"], epochs, round_)
            self.waiting[ask] = cand
            self.queue.append(ask)

    def observe(self, told: Told) -> None:
        cand = self.waiting.pop(told.ask)
        if told.ask.epochs is None or told.loss is None:     # a result (a rung that ended early is one too)
            cand.setdefault("scores", []).append(told.score)
            cand["score"] = cand["scores"][0]
            cand["decision"] = statistics.fmean(cand["scores"])
        else:
            cand["rung"], cand["paused"] = told.loss, told.score
        while not self.waiting and self.open is not None and not self.queue:
            {"rung": self.halve, "train": self.retest, "retest": self.commit}[self.open["phase"]]()

    def halve(self) -> None:
        """--halving: the better half by validation loss at the rung trains on, the rest end there."""
        self.open["phase"] = "train"
        cands = self.open["candidates"]
        paused = sorted((c for c in cands if "rung" in c), key=lambda c: c["rung"])
        keep = max(1, math.ceil(len(cands) * HALVING_KEEP) - (len(cands) - len(paused)))
        for c in paused[keep:]:
            c.update(ended="halved", scores=[c["paused"]], score=c["paused"], decision=c["paused"])
        self.open["survivors"] = [c["edge"] for c in paused[:keep]]
        self.open["halved"] = [c["edge"] for c in paused[keep:]]
        self.hand_out([(c, c["seeds"][0], 0, None) for c in paused[:keep]])

    def retest(self) -> None:
        """--retest K: a close step's leaders each train K more times; the step then decides on means."""
        self.open["phase"] = "retest"
        if not self.cfg.retest:
            return
        close = leaders(self.open["candidates"], self.cfg.retest_margin)
        self.open["leaders"] = [c["edge"] for c in close]
        extra = self.draw.retest(self.open["step"], len(close), self.cfg.retest) if close else []
        for cand, seeds in zip(close, extra):
            cand["seeds"] = cand["seeds"] + list(seeds)
        self.hand_out([(c, seeds[r], r + 1, None) for r in range(self.cfg.retest) for c, seeds in zip(close, extra)])

    def commit(self) -> None:
        """Remove the --drop_k best candidates' edges for good; record the step."""
        step, self.open = self.open, None
        ranked = sorted(step["candidates"], key=lambda c: decision_key(c.get("ended"), c["score"], c["decision"]),
                        reverse=True)
        cell, removed, pruned = drop(self.now, [c["edge"] for c in ranked], self.cfg.drop_k)
        self.now, self.cell = cell, key(cell)
        self.steps.append({**step, "removed": [tuple(e) for e in removed], "pruned": [tuple(e) for e in pruned],
                           "best_score": ranked[0]["score"], "cell": self.cell, "left": cell})
        self.best_step = first_best([s["best_score"] for s in self.steps])

    def choose(self) -> str:
        return self.steps[self.best_step]["cell"] if self.best_step is not None else self.space.full()
