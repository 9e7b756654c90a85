"""The truth a space table holds: each cell's true score and perplexity (means over the table's
seeds), where a cell stands in the space, and a search's steps graded against it.

    truth = cell_truth(table, cfg)            # key -> {"score", "score_sd", "ppl", "test_ppl", "edges", ...}
    standing(truth, key(cell))                # rank and percentile by score and by test ppl, all and same size
    search_truth(search.record, table)        # where the discovered cell stands, every step graded

A cell's true score is the mean over table seeds of its score (search.score with `cfg`'s
coefficients: target_ppl, ppl_weight, cost_weight); a seed on which it diverged scores -inf, so
the cell ranks worst. Rank 1 is the best; a cell's percentile is the share of the other cells it
beats strictly (100: it beats them all). A truth over all seeds shares them with the replays it
judges (in sample); distributions(..., judge=[k]) keeps table seed k out of every decision and
judges by it alone (held out).
"""
from __future__ import annotations

import math
import statistics

from ..core.cell import Cell
from ..core.cells import key
from ..core.config import SearchConfig
from ..core.record import SearchRecord, Step
from ..core.rules import cfg_score
from .table import SpaceTable


def run_score(run: dict | None, flops: int, cfg: SearchConfig) -> float:
    """The score of one run of a table (-inf when diverged or missing)."""
    return cfg_score(cfg, None if run is None else run["ppl"], flops)


def seed_scores(table: SpaceTable, cfg: SearchConfig) -> dict[str, list[float]]:
    """key -> the cell's score under each table seed."""
    return {row["key"]: [run_score(r, row["flops"], cfg) for r in row["runs"]] for row in table.cells}


def _mean(values) -> float:
    vals = list(values)
    return -math.inf if any(not math.isfinite(v) for v in vals) else statistics.fmean(vals)


def _mean_ppl(values) -> float:
    vals = list(values)
    return math.inf if any(v is None for v in vals) else statistics.fmean(vals)


def cell_truth(table: SpaceTable, cfg: SearchConfig, seeds=None) -> dict[str, dict]:
    """key -> true score (mean over the table seeds `seeds`, default all), its sd, mean validation
    and test ppl, edges, flops."""
    scores = seed_scores(table, cfg)
    use = list(range(len(table.seeds))) if seeds is None else list(seeds)
    out = {}
    for row in table.cells:
        runs, s = [row["runs"][k] for k in use], [scores[row["key"]][k] for k in use]
        finite = [v for v in s if math.isfinite(v)]
        out[row["key"]] = {"score": _mean(s), "score_sd": statistics.stdev(finite) if len(finite) > 1 else None,
                           "ppl": _mean_ppl(r and r["ppl"] for r in runs),
                           "test_ppl": _mean_ppl(r and r["test_ppl"] for r in runs),
                           "edges": row["edges"], "flops": row["flops"], "seeds": s}
    return out


def rank(value: float, others, higher: bool = True) -> int:
    """1 + the number of `others` strictly better than `value`."""
    return 1 + sum((o > value) if higher else (o < value) for o in others)


def percentile(value: float, others, higher: bool = True) -> float:
    """The share (0-100) of `others` that `value` beats strictly."""
    others = list(others)
    if not others:
        return 100.0
    return 100.0 * sum((value > o) if higher else (value < o) for o in others) / len(others)


def _place(truth: dict, k: str, keys: list[str]) -> dict:
    mine = truth[k]
    others = [truth[o] for o in keys if o != k]
    score, test = [o["score"] for o in others], [o["test_ppl"] for o in others]
    return {"of": len(others) + 1,
            "rank_score": rank(mine["score"], score), "percentile_score": percentile(mine["score"], score),
            "rank_test": rank(mine["test_ppl"], test, higher=False),
            "percentile_test": percentile(mine["test_ppl"], test, higher=False)}


def standing(truth: dict, k: str) -> dict:
    """Where cell `k` stands: among all cells of the space, and among those with its edge count."""
    same = [o for o, t in truth.items() if t["edges"] == truth[k]["edges"]]
    return {"key": k, **{n: truth[k][n] for n in ("score", "ppl", "test_ppl", "edges")},
            "all": _place(truth, k, list(truth)), "same_edges": _place(truth, k, same)}


def step_cells(record: SearchRecord) -> list[tuple[Step, Cell]]:
    """Each finished step of a search record with the cell it started from."""
    steps = record.done_steps()
    before = [record.initial] + [s.cell for s in steps[:-1]]
    return [(s, Cell.from_dict(b)) for s, b in zip(steps, before)]


def grade_step(step: Step, before: Cell, truth: dict) -> dict:
    """The removed edge's true rank among the step's candidates (1: it was truly the best to
    remove) and its regret: the best candidate's true score minus the removed one's."""
    true = {tuple(c.edge): truth[key(before.remove(tuple(c.edge))[0])]["score"] for c in step.candidates}
    removed = tuple(step.removed[0]) if step.removed else None
    if removed is None or removed not in true:
        return {"step": step.step, "removed": None, "rank": None, "of": len(true), "regret": None}
    best = max(true.values())
    return {"step": step.step, "removed": list(removed), "rank": rank(true[removed], true.values()),
            "of": len(true), "regret": best - true[removed] if math.isfinite(best) else None,
            "best_edge": list(max(true, key=true.get)), "true_scores": {f"{i}-{j}": v for (i, j), v in true.items()}}


def search_truth(record: SearchRecord, table: SpaceTable, cell: Cell | None = None,
                 cfg: SearchConfig | None = None) -> dict:
    """The truth about a search (its typed record): where `cell` (default: the discovered cell, the
    best step's) stands in the space, every finished step graded, the search's path (the keys of
    the cells it went through) and every cell's truth ("space", for the landscape). Refused in one
    line when the table does not hold the search's space and proxy settings."""
    cfg = cfg or SearchConfig.from_dict(record.config)
    table.check_answers(cfg, Cell.from_dict(record.initial).ops)
    if cell is None:
        cell = Cell.from_dict(record.best.cell if record.best else record.cell)
    truth, steps = cell_truth(table, cfg), step_cells(record)
    return {**_standing_in(table, truth, cell), "steps": [grade_step(s, before, truth) for s, before in steps],
            "path": [key(before) for _, before in steps] + [key(Cell.from_dict(s.cell)) for s, _ in steps[-1:]]}


def cell_standing(table: SpaceTable, cfg: SearchConfig, cell: Cell) -> dict:
    """The truth about one cell (another strategy's pick, say): where it stands in the space and
    every cell's truth ("space"); no steps to grade and no path."""
    return _standing_in(table, cell_truth(table, cfg), cell)


def _standing_in(table: SpaceTable, truth: dict, cell: Cell) -> dict:
    return {"cells": len(truth), "seeds": len(table.seeds), "complete": table.complete,
            "discovered": standing(truth, key(cell)), "steps": [], "path": [],
            "space": [{"key": k, **{n: t[n] for n in ("edges", "score", "score_sd", "ppl", "test_ppl")}}
                      for k, t in truth.items()]}
