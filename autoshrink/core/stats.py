"""Small statistics for judging a search: the divergence rule and perplexity, mean and sd, Kendall's
rank correlation, top-1 agreement and one-sided permutation p-values (over runs, and over cells).
Plain Python, no SciPy; each is tested against a hand computation (tests/test_stats.py).

    kendall_tau([1, 2, 3], [1, 3, 2])          # 0.333...: tau-b, ties allowed
    permutation_pvalue([400, 410], [420, 430, 440])   # P(a random split is as good as this one)
    cell_pvalue(405, [425, 430, 380])                  # 0.5: two of the four cells are at most 405
"""
from __future__ import annotations

import itertools
import math
import random
import statistics

DIVERGED_LOSS = 30.0   # a validation loss at or above this (or NaN) counts as diverged, in every training


def perplexity(loss) -> float | None:
    """exp(loss); None for a missing or diverged loss (not below DIVERGED_LOSS)."""
    return math.exp(loss) if loss is not None and loss < DIVERGED_LOSS else None


def mean_sd(values) -> tuple[float | None, float | None]:
    """(mean, sample sd) of the finite values; sd None for one value (nothing measured it: a record
    that wrote 0 would read as a measured spread of 0); (None, None) for none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None, None
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else None


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def kendall_tau(a, b) -> float | None:
    """Kendall's tau-b between two orderings of the same items (a[i], b[i] are item i's values;
    lower or higher alike, infinities allowed and tied with each other). None when fewer than two
    items or when one side is all ties."""
    if len(a) != len(b):
        raise ValueError(f"kendall_tau needs two lists of one length, got {len(a)} and {len(b)}")
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        sa = 0 if a[i] == a[j] else _sign(a[i] - a[j])
        sb = 0 if b[i] == b[j] else _sign(b[i] - b[j])
        if sa == 0 and sb == 0:
            continue
        if sa == 0:
            ties_a += 1
        elif sb == 0:
            ties_b += 1
        elif sa == sb:
            concordant += 1
        else:
            discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denom if denom else None


def argbest(values, higher: bool = True) -> int:
    """Index of the best value (the first on a tie); None values rank worst."""
    worst = -math.inf if higher else math.inf
    vals = [worst if v is None else v for v in values]
    return max(range(len(vals)), key=lambda i: (vals[i] if higher else -vals[i], -i))


def permutation_pvalue(mine, others, exact_limit: int = 20000, draws: int = 20000, seed: int = 0) -> float | None:
    """One-sided p-value that `mine` (lower is better, e.g. perplexities) beats `others` by chance:
    the share of relabellings of the pooled values whose first len(mine) values have a mean at
    least as low as mine's. Exact when the relabellings are at most `exact_limit`, else `draws`
    random ones. Non-finite values (failed runs) count as worse than every finite one."""
    mine, others = [_worst_inf(v) for v in mine], [_worst_inf(v) for v in others]
    if not mine or not others:
        return None
    pooled = mine + others
    big = max([v for v in pooled if math.isfinite(v)], default=0.0) * 10 + 1
    pooled = [v if math.isfinite(v) else big for v in pooled]
    k = len(mine)
    observed = sum(pooled[:k])
    if math.comb(len(pooled), k) <= exact_limit:
        sums = [sum(s) for s in itertools.combinations(pooled, k)]
        return sum(s <= observed + 1e-9 for s in sums) / len(sums)
    rng = random.Random(seed)
    hits = sum(sum(rng.sample(pooled, k)) <= observed + 1e-9 for _ in range(draws))
    return (hits + 1) / (draws + 1)


def cell_pvalue(mine, others) -> float | None:
    """One-sided p-value that the cell whose mean is `mine` beats cells whose means are `others` by
    chance (lower is better): permutation_pvalue over cells, one value per cell, so the runs of one
    cell (its seeds) are not counted as independent cells. Equals (1 + others at most as good) /
    (len(others) + 1), so it is never below smallest_pvalue(len(others))."""
    return permutation_pvalue([mine], list(others))


def smallest_pvalue(n_others: int) -> float | None:
    """The smallest p-value cell_pvalue can give against `n_others` cells: 1 / (n_others + 1)."""
    return 1 / (n_others + 1) if n_others > 0 else None


def _worst_inf(v) -> float:
    return math.inf if v is None or not math.isfinite(v) else float(v)
