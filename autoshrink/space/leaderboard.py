"""Strategies judged against a space table (docs/strategies.md, docs/ground-truth.md): the true rank
of each one's pick at equal budgets, how often it is at least as good as random search's, its
anytime curve, and the noise ceiling, all held out.

    board = leaderboard(table, cfg, budgets=(10, 20, 30), repeats=1000)
    board["rows"]        # one per strategy, budget, score and judge seed
    board["anytime"]     # per strategy, score and judge: the incumbent's true rank after each training
    ceiling(table, cfg, judge=3)     # what one noisy training per cell allows, and re-training the top
    seeds_ceiling(table, cfg, judge=3)   # every cell trained under 2, 3, ... seeds: what a decision needs

**Held out**: for judge seed j, every decision draws on the other table seeds only (the evaluator
refuses seed j) and the truth is seed j alone; the judge rotates over the table's seeds and the
rows give each. A one-seed table can only be judged in sample (judge None: every seed decides and
judges), which the rows say. With `judge_size` K (`--judges K`) each group of K seeds judges by
its mean while the others decide, a less noisy truth. Replay r of every strategy uses its own
draws; the random search it is compared with is replay r of `random` at the same budget
(independent draws). A strategy that ends on its own (AutoShrink) may spend less than the budget:
`spent` says how much.

**Judged by another table**: `leaderboard(cheap, truth=longer)` lets every seed of `cheap` decide
and judges by `longer`, a table of the same space under a longer proxy (the mean of its seeds):
does what the cheap proxy picks hold up when cells train longer (space/fidelity.py)?
"""
from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np

from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.runtime import SALT_BASELINE, SALT_CEILING, SALT_REPLAY, SALT_SEEDS_CEILING, derive_seed
from ..strategies import STRATEGIES, Space, make
from ..strategies.loop import run
from .fidelity import check_same_space
from .replay import TableEvaluator, rank_summary, wilson
from .table import SpaceTable
from .truth import cell_truth, rank, seed_scores

Judge = int | tuple[int, ...] | None   # a table seed, a group of seeds (their mean), or None: in sample
SCORES = {"published": {}, "cost_weight 10": {"cost_weight": 10.0}}   # the scores a board judges under
BASELINE = "random"


def judges(table: SpaceTable, size: int = 1) -> list:
    """The judges of a held-out board: each table seed in turn (None, in sample, with one seed), or
    with `size` > 1 each group of that many seeds (their mean is the truth; the others decide)."""
    seeds = len(table.seeds)
    if size == 1:
        return list(range(seeds)) if seeds > 1 else [None]
    if not 1 < size < seeds:
        raise ConfigError(f"--judges {size} leaves no table seed to decide ({seeds} seeds); give 1 to {seeds - 1}")
    return [tuple(g) for g in combinations(range(seeds), size)]


def held(judge) -> list[int]:
    """The table seeds a judge (None, a seed, or a group of seeds) holds out of every decision."""
    return [] if judge is None else [judge] if isinstance(judge, int) else list(judge)


class Judged:
    """One judging of a table: the observed scores under a score's coefficients, the decision pool
    (every seed but the judge's) and the true score and rank of each cell (the judge's seeds alone:
    one, or a group's mean). With `truth`, another table of the same space (a longer proxy's)
    judges by the mean of its seeds and every seed of `table` decides (judge None)."""

    def __init__(self, table: SpaceTable, cfg: SearchConfig, judge: Judge, truth: SpaceTable | None = None):
        if truth is not None and judge is not None:
            raise ConfigError("a judging table replaces the judge seed; give one or the other")
        self.table, self.cfg, self.judge, self.by_table = table, cfg, judge, truth is not None
        self.pool = [k for k in range(len(table.seeds)) if k not in held(judge)]
        self.observed = seed_scores(table, cfg)
        truth = cell_truth(table, cfg, held(judge) or None) if truth is None else cell_truth(truth, cfg)
        self.score = {k: t["score"] for k, t in truth.items()}
        self.rank = {k: rank(s, self.score.values()) for k, s in self.score.items()}
        self.space = Space(table.ops)

    def replay(self, name: str, budget: int | None, seed: int):
        strategy = make(name, self.space, budget, self.pool, seed, cfg=self.cfg)
        return run(strategy, TableEvaluator(self.table, self.cfg, self.pool, self.observed))


def _picks(j: Judged, name: str, budgets, repeats: int, seeds) -> tuple[dict, list]:
    """budget -> [(pick, spent)] over the repeats, and the incumbents' true ranks per repeat."""
    aware = STRATEGIES[name].budget_aware
    picks, curves = {b: [] for b in budgets}, []
    for r in range(repeats):
        if aware:
            for b in budgets:
                h = j.replay(name, b, seeds[r])
                picks[b].append((h.pick, h.budget))
            continue
        h = j.replay(name, None if name == "autoshrink" else max(budgets), seeds[r])
        for b in budgets:
            at = min(b, h.budget)
            picks[b].append((h.incumbents[at - 1] if at else h.pick, at))
        curves.append([j.rank[k] for k in h.incumbents])
    return picks, curves


def _anytime(curves: list[list[int]], length: int) -> dict:
    """Median and quartiles of the incumbent's true rank after 1..length trainings (a replay that
    ended keeps its last pick)."""
    if not curves:
        return {}
    grid = np.array([(c + c[-1:] * length)[:length] for c in curves if c])
    q = np.quantile(grid, [0.25, 0.5, 0.75], axis=0)
    return {"trainings": list(range(1, length + 1)), "q25": q[0].tolist(), "median": q[1].tolist(),
            "q75": q[2].tolist()}


def _row(j: Judged, name: str, budget: int, picks, baseline) -> dict:
    ranks = [j.rank[k] for k, _ in picks]
    mine, theirs = [j.score[k] for k, _ in picks], [j.score[k] for k, _ in baseline]
    wins = sum(a > b for a, b in zip(mine, theirs))
    ties = sum(a == b for a, b in zip(mine, theirs))
    n = len(picks)
    low, high = wilson(wins + ties, n)
    summary = rank_summary(ranks, len(j.score))
    summary.pop("counts")
    return {"strategy": name, "budget": budget, "judge": j.judge, "held_out": j.judge is not None or j.by_table,
            "judged_by": _judged_by(j),
            "repeats": n, "spent": float(np.mean([s for _, s in picks])), "cells": len(j.score),
            "rank": summary, "p_at_least_as_good": (wins + ties) / n, "ci95": [low, high],
            "p_better": wins / n, "p_tie": ties / n, "picks": dict(Counter(k for k, _ in picks))}


def _judged_by(j: Judged) -> str:
    if j.by_table:
        return "the judging table"
    if j.judge is None:
        return "every table seed (in sample)"
    seeds = held(j.judge)
    return f"table seed {seeds[0]}" if len(seeds) == 1 else f"table seeds {' and '.join(map(str, seeds))} (their mean)"


def judge_list(table: SpaceTable, truth: SpaceTable | None, judge_seeds=None, judge_size: int = 1) -> list:
    """The judges a board rotates over: None alone when another table judges."""
    if truth is not None and judge_size != 1:
        raise ConfigError(f"--judges {judge_size} cannot apply when another table judges (--truth); drop one of them")
    if truth is not None:
        check_same_space(table, truth)
        return [None]
    return judges(table, judge_size) if judge_seeds is None else list(judge_seeds)


def leaderboard(table: SpaceTable, cfg: SearchConfig | None = None, strategies=None, budgets=(10, 20, 30, 50),
                repeats: int = 1000, seed: int = 0, scores=None, on_progress=None, judge_seeds=None,
                truth: SpaceTable | None = None, judge_size: int = 1) -> dict:
    """Every strategy against random search at each budget, under each score of `scores` (default
    SCORES) and each judge (`judge_seeds`, default judges(table, judge_size): table seeds, or groups
    of `judge_size` seeds; None in it: in sample), or
    judged by the table `truth` (a longer proxy's; space/fidelity.py): see the module docstring.
    `cfg` defaults to the table's settings."""
    if not table.complete:
        raise ConfigError(f"the table misses {len(table.missing())} trainings; finish it (run `autoshrink space` "
                          "again with its settings), or judge it on the seeds every cell has (--trained_seeds)")
    cfg, names = cfg or table.cfg, list(strategies or STRATEGIES)
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise ConfigError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    budgets = sorted({min(int(b), len(table.cells)) for b in budgets})
    rng = np.random.default_rng(derive_seed(seed, SALT_REPLAY))
    seeds = [int(x) for x in rng.integers(2**31, size=repeats)]
    rows, anytime = [], []
    for score_name, changes in (scores or SCORES).items():
        for judge in judge_list(table, truth, judge_seeds, judge_size):
            j = Judged(table, cfg.replace(**changes), judge, truth)
            base, _ = _picks(j, BASELINE, budgets, repeats, [derive_seed(s, SALT_BASELINE) for s in seeds])
            for name in names:
                picks, curves = _picks(j, name, budgets, repeats, seeds)
                rows += [{"score": score_name, **_row(j, name, b, picks[b], base[b])} for b in budgets]
                anytime.append({"strategy": name, "score": score_name, "judge": judge,
                                **_anytime(curves, max(budgets))})
                if on_progress:
                    on_progress(f"{score_name}, judge {judge}: {name} done")
    return {"cells": len(table.cells), "seeds": len(table.seeds), "budgets": budgets, "repeats": repeats,
            "rows": rows, "anytime": anytime}


def summary(board: dict) -> list[dict]:
    """Per score, strategy and budget: the held-out P(at least as good as random search) as mean and
    sd over the judge seeds, and the mean true rank of the pick."""
    groups = {}
    for r in board["rows"]:
        groups.setdefault((r["score"], r["strategy"], r["budget"]), []).append(r)
    out = []
    for (score, name, budget), rows in groups.items():
        p = [r["p_at_least_as_good"] for r in rows]
        out.append({"score": score, "strategy": name, "budget": budget, "judges": len(rows),
                    "held_out": rows[0]["held_out"], "p_mean": float(np.mean(p)),
                    "p_sd": float(np.std(p, ddof=1)) if len(p) > 1 else None,
                    "rank_mean": float(np.mean([r["rank"]["mean"] for r in rows])),
                    "spent": float(np.mean([r["spent"] for r in rows]))})
    return out


def leaderboard_markdown(rows: list[dict], score: str = "published") -> str:
    """summary() rows of one score as a Markdown table: a strategy a line, a budget a column, each
    cell P(at least as good as random search) mean ± sd over the judges, and the pick's mean true rank."""
    rows = [r for r in rows if r["score"] == score]
    budgets = sorted({r["budget"] for r in rows})
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    at = {(r["strategy"], r["budget"]): r for r in rows}
    lines = ["| strategy | " + " | ".join(f"budget {b}" for b in budgets) + " |",
             "| --- |" + " --- |" * len(budgets)]
    for name in names:
        cells = []
        for b in budgets:
            r = at[(name, b)]
            sd = "" if r["p_sd"] is None else f" ± {r['p_sd']:.2f}"
            spent = "" if r["spent"] >= b - 0.05 else f", spent {r['spent']:.1f}"
            cells.append(f"P {r['p_mean']:.2f}{sd} (rank {r['rank_mean']:.1f}{spent})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ceiling(table: SpaceTable, cfg: SearchConfig, judge: Judge, top=(1, 3, 5), repeats: int = 1000,
            seed: int = 0, truth: SpaceTable | None = None) -> list[dict]:
    """The noise ceiling: every cell trained once under a random decision seed, the best observed
    kept; and the `m` best observed re-trained under every other decision seed, the best mean kept.
    The true rank (judge seed alone, or the table `truth`) of what each keeps, over `repeats` draws."""
    return _ceiling(Judged(table, cfg, judge, truth), top, repeats, seed)


def _ceiling(j: Judged, top, repeats: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(derive_seed(seed, SALT_CEILING))
    ranks = {m: [] for m in top}
    for _ in range(repeats):
        once = {k: j.observed[k][int(rng.choice(j.pool))] for k in j.score}
        ordered = sorted(once, key=lambda k: -once[k])
        for m in top:
            best = max(ordered[:m], key=lambda k: _mean([j.observed[k][s] for s in j.pool]) if m > 1 else once[k])
            ranks[m].append(j.rank[best])
    return [{"top": m, "per_cell": 1, "retrained_on": len(j.pool) if m > 1 else 1, "judge": j.judge,
             "trainings": len(j.score) + (m * (len(j.pool) - 1) if m > 1 else 0),
             "rank": _ranks(r, len(j.score))} for m, r in ranks.items()]


def seeds_ceiling(table: SpaceTable, cfg: SearchConfig, judge: Judge, repeats: int = 1000, seed: int = 0,
                  truth: SpaceTable | None = None) -> list[dict]:
    """How many seeds a decision needs: every cell trained under `n` of the decision seeds (drawn
    anew for each cell), the best mean kept, for n from 2 to all of them. The true rank of what
    each keeps, over `repeats` draws (n = 1 is ceiling()'s top-1 row)."""
    return _seeds_ceiling(Judged(table, cfg, judge, truth), repeats, seed)


def _seeds_ceiling(j: Judged, repeats: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(derive_seed(seed, SALT_SEEDS_CEILING))
    keys = list(j.score)
    observed = np.array([[j.observed[k][s] for s in j.pool] for k in keys])      # (cells, decision seeds)
    observed = _floored(observed)                                                 # a diverged training ranks worst
    sizes = range(2, len(j.pool) + 1)
    ranks = {n: [] for n in sizes}
    for _ in range(repeats):
        order = rng.random(observed.shape).argsort(axis=1)                        # each cell's seeds, shuffled
        for n in sizes:
            mean = np.take_along_axis(observed, order[:, :n], axis=1).mean(axis=1)
            ranks[n].append(j.rank[keys[int(np.argmax(mean))]])
    return [{"top": 1, "per_cell": n, "retrained_on": n, "judge": j.judge, "trainings": n * len(j.score),
             "rank": _ranks(r, len(j.score))} for n, r in ranks.items()]


def _ranks(ranks: list, cells: int) -> dict:
    return {k: v for k, v in rank_summary(ranks, cells).items() if k != "counts"}


def _floored(scores) -> np.ndarray:
    """Scores with every diverged (non-finite) training at -inf: it ranks worst, and so does any mean over it."""
    scores = np.asarray(scores, dtype=float)
    return np.where(np.isfinite(scores), scores, -np.inf)


def _mean(values) -> float:
    return float(np.mean(_floored(values)))


def ceilings(table: SpaceTable, cfg: SearchConfig | None = None, repeats: int = 1000, scores=None,
             truth: SpaceTable | None = None, judge_size: int = 1) -> list[dict]:
    """ceiling() and seeds_ceiling() under each score of `scores` (default SCORES) and each judge
    (judge_list), one row each; one Judged serves both."""
    cfg = cfg or table.cfg
    return [{"score": name, **row} for name, changes in (scores or SCORES).items()
            for judge in judge_list(table, truth, judge_size=judge_size)
            for j in [Judged(table, cfg.replace(**changes), judge, truth)]
            for row in _ceiling(j, (1, 3, 5), repeats, 0) + _seeds_ceiling(j, repeats, 0)]


def ceiling_markdown(rows: list[dict], score: str = "published") -> str:
    """ceilings() rows of one score as a Markdown table: the kept cell's true rank, mean ± sd over
    the judge seeds of each judge's mean, and its top-1 rate."""
    rows = [r for r in rows if r["score"] == score]
    lines = ["| kept | trainings | true rank (mean over replays; mean ± sd over judges) | top-1 rate |",
             "| --- | --- | --- | --- |"]
    for top, n in dict.fromkeys((r["top"], r.get("per_cell", 1)) for r in rows):
        mine = [r for r in rows if r["top"] == top and r.get("per_cell", 1) == n]
        means = [r["rank"]["mean"] for r in mine]
        sd = f" ± {np.std(means, ddof=1):.1f}" if len(means) > 1 else ""
        kept = _kept(top, n)
        lines.append(f"| {kept} | {mine[0]['trainings']} | {np.mean(means):.1f}{sd} | "
                     f"{np.mean([r['rank']['top1'] for r in mine]):.2f} |")
    return "\n".join(lines)


def _kept(top: int, per_cell: int) -> str:
    if per_cell > 1:
        return f"best mean, every cell on {per_cell} seeds"
    return "best observed, every cell once" if top == 1 else f"best mean of the top {top}, re-trained"
