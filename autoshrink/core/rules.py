"""AutoShrink's rules as plain functions of the settings (docs/algorithm.md): the score, the cell a
search starts from, when it stops, which edges a step tries, a candidate's weight seed, how a step
ranks and removes, and which step is best. The trained search (search.Search) and the AutoShrink
strategy (strategies/autoshrink.py, which replays from tables) both decide by these, so each rule
has this one home.

    cell = initial_cell(cfg)                       # fully connected, ops from --ops or the seed
    shrunk(cfg, cell.n_edges)                      # True once --keep_fraction of the edges is left
    edges = tried_edges(cfg, step, cell.edges)     # the first --max_steps_to_action of the step's order
    seed = candidate_seed(cfg, step, edge)         # the weights a candidate starts from
    seed = retest_seed(cfg, step, edge, round_)    # ... and those of a leader's retest round_
    close = leaders(candidates, cfg.retest_margin) # a close step's leaders (--retest retrains them)
    key = decision_key(ended, score, mean_score)   # what a step ranks candidates by (higher first)
    cell, removed, pruned = drop(cell, ranked_edges, cfg.drop_k)   # the step's removals, pruned
    k = first_best(best_scores)                    # the best step: the first with the highest score
    s = cfg_score(cfg, ppl, flops)                 # higher is better; -inf when diverged
"""
from __future__ import annotations

import math

import numpy as np

from .cell import Cell, random_ops
from .config import SearchConfig
from .runtime import SALT_OPS, SALT_ORDER, SALT_RETEST, derive_seed

MAX_LEADERS = 3     # candidates a close step retrains with --retest extra seeds, at most
HALVING_KEEP = 0.5  # share of a step's candidates that trains on past the --halving rung


def score(ppl, flops: int, nhid: int, target_ppl: float = 200.0, ppl_weight: float = 0.25,
          cost_weight: float = 1.0) -> float:
    """AutoShrink's score: (target_ppl - ppl) * ppl_weight - cost_weight * (log10(flops) - 6), with the
    published 200, 0.25 and 1 as defaults; -inf when diverged (ppl None, inf or NaN). A cell left
    with no edge is costed as one edge (its W0 projection still runs)."""
    if ppl is None or not math.isfinite(ppl):
        return -math.inf
    return (target_ppl - ppl) * ppl_weight - cost_weight * (math.log10(max(flops, nhid * nhid)) - 6)


def cfg_score(cfg: SearchConfig, ppl, flops: int) -> float:
    """score() with the coefficients of `cfg`."""
    return score(ppl, flops, cfg.nhid, cfg.target_ppl, cfg.ppl_weight, cfg.cost_weight)


def initial_cell(cfg: SearchConfig) -> Cell:
    """The fully connected cell a search with these settings starts from: --ops if given, else ops
    drawn from the seed."""
    if cfg.ops:
        return Cell.full([o.strip() for o in cfg.ops.split(",")])
    return Cell.full(random_ops(cfg.nodes, np.random.default_rng(derive_seed(cfg.seed, SALT_OPS))))


def edge_order(cfg: SearchConfig, step: int, edges: list) -> list:
    """All of `edges` in the order step `step` tries them (drawn from the seed and the step); the
    step tries the first --max_steps_to_action."""
    rng = np.random.default_rng(derive_seed(cfg.seed, step, SALT_ORDER))
    return [edges[i] for i in rng.permutation(len(edges))]


def shrunk(cfg: SearchConfig, n_edges: int) -> bool:
    """The search stops once round(full edges x --keep_fraction) edges or fewer are left (or none)."""
    return n_edges <= cfg.threshold or n_edges == 0


def tried_edges(cfg: SearchConfig, step: int, edges: list, order=None) -> list:
    """The edges step `step` tries removing: the first --max_steps_to_action of its edge order
    (edge_order, or `order(step, edges)`, a replay's draw)."""
    ordered = edge_order(cfg, step, edges) if order is None else order(step, edges)
    return ordered[: cfg.max_steps_to_action]


def decision_key(ended: str | None, score, mean_score=None) -> tuple:
    """What a step ranks a candidate by: not halved first, then its mean score over seeds when
    retested (--retest), else its score; a diverged one (score None or -inf) last."""
    s = score if mean_score is None else mean_score
    return ended != "halved", -math.inf if s is None else s


def drop(cell: Cell, ranked_edges: list, drop_k: int) -> tuple[Cell, list, list]:
    """Remove the first `drop_k` of `ranked_edges` (best first) for good, each pruning what it leaves
    unreachable; an edge an earlier removal already pruned is skipped, not replaced. Returns the
    cell left, the edges removed and the edges pruned."""
    removed, pruned = [], []
    for edge in ranked_edges[:drop_k]:
        if tuple(edge) in cell.edges:
            cell, dead = cell.remove(tuple(edge))
            removed.append(list(edge))
            pruned += [list(p) for p in dead]
    return cell, removed, pruned


def first_best(scores: list) -> int | None:
    """The index of the highest of `scores` (None ones skipped), the first on a tie; None if none."""
    best = None
    for k, s in enumerate(scores):
        if s is not None and (best is None or s > scores[best]):
            best = k
    return best


def candidate_seed(cfg: SearchConfig, step: int, edge) -> int:
    """The weight seed of the candidate that removes `edge` at `step`, by --seed_rule: (seed, step)
    under "step" (paired: every candidate starts from the same weights), (seed, step, edge) under
    "candidate"."""
    if cfg.seed_rule == "step":
        return derive_seed(cfg.seed, step)
    return derive_seed(cfg.seed, step, *edge)


def retest_seed(cfg: SearchConfig, step: int, edge, round_: int) -> int:
    """The weight seed of a leader's extra training `round_` (1, 2, ...): shared by a step's leaders
    under the paired rule, the leader's own otherwise."""
    if cfg.seed_rule == "step":
        return derive_seed(cfg.seed, step, SALT_RETEST, round_)
    return derive_seed(cfg.seed, step, *edge, SALT_RETEST, round_)


def leaders(candidates: list[dict], margin: float) -> list[dict]:
    """The candidates within `margin` score points of the best (at most MAX_LEADERS), best first;
    none unless two or more are that close. Diverged (score None or -inf) and halved ones never lead."""
    ranked = sorted((c for c in candidates if c["score"] is not None and math.isfinite(c["score"])
                     and c.get("ended") != "halved"), key=lambda c: -c["score"])
    close = [c for c in ranked if c["score"] >= ranked[0]["score"] - margin][:MAX_LEADERS]
    return close if len(close) > 1 else []
