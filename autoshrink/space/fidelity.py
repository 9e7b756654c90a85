"""Proxy fidelity (docs/ground-truth.md, "Proxy fidelity"): how far two tables of one space agree
when one was trained under a cheap proxy and the other under a longer one, and what a training of
each costs.

    seed_agreement(table, cfg)        # Kendall's tau between two table seeds: mean, sd, pairs
    fidelity(cheap, longer)           # each table's seed-to-seed tau, the cross-fidelity taus, seconds
    fidelity_text(fidelity(cheap, longer))   # the same in one Markdown paragraph
    leaderboard(cheap, truth=longer)  # strategies decide on the cheap table, the longer one judges

The cross-fidelity taus compare a cell's score under the cheap proxy (one table seed, or the mean
of all) with its true score under the longer one (the mean of its seeds). The longer table should
be trained under other weight seeds (another --seed with the same --ops), so that no noise is
shared between what decides and what judges.
"""
from __future__ import annotations

import itertools
import statistics

from ..core.config import SearchConfig
from ..core.errors import ConfigError
from ..core.stats import kendall_tau
from .table import PROXY_SETTINGS, SpaceTable
from .truth import cell_truth, seed_scores


def seed_agreement(table: SpaceTable, cfg: SearchConfig) -> tuple[float | None, float | None, int]:
    """Kendall's tau between two table seeds' scores of every cell: mean, sd over the pairs, pairs."""
    scores = seed_scores(table, cfg)
    keys = sorted(scores)
    taus = [kendall_tau([scores[k][a] for k in keys], [scores[k][b] for k in keys])
            for a, b in itertools.combinations(range(len(table.seeds)), 2)]
    if not taus:
        return None, None, 0
    return statistics.fmean(taus), statistics.stdev(taus) if len(taus) > 1 else None, len(taus)


def check_same_space(cheap: SpaceTable, longer: SpaceTable) -> None:
    """ConfigError (one line) unless both tables hold the same cells of the same ops and nodes."""
    if list(cheap.ops) != list(longer.ops):
        raise ConfigError(f"the judging table's ops {longer.ops} are not the deciding table's {cheap.ops}; "
                          f"build it with --ops {','.join(cheap.ops)}")
    if sorted(c["key"] for c in cheap.cells) != sorted(c["key"] for c in longer.cells):
        raise ConfigError("the two tables hold different cells; build the judging table with the same --nodes")
    if not longer.complete:
        raise ConfigError(f"the judging table misses {len(longer.missing())} trainings; finish it first")


def proxy_changes(cheap: SpaceTable, longer: SpaceTable) -> dict:
    """The proxy settings the longer table changes: name -> (cheap value, longer value)."""
    return {n: (cheap.config[n], longer.config[n]) for n in PROXY_SETTINGS if cheap.config[n] != longer.config[n]}


def seconds_per_training(table: SpaceTable) -> float:
    """Mean wall time of one training of the table (loaded machines included)."""
    return statistics.fmean(r["seconds"] for row in table.cells for r in row["runs"] if r)


def cross_agreement(mine: dict, truth: dict) -> dict:
    """Kendall's tau between the longer table's true scores (`truth`, truth.cell_truth) and the
    cheap table's (`mine`): its mean over seeds ("mean") and each of its seeds alone ("one_seed":
    mean, sd over the seeds)."""
    keys = sorted(truth)
    judged = [truth[k]["score"] for k in keys]
    seeds = len(next(iter(mine.values()))["seeds"])
    one = [kendall_tau([mine[k]["seeds"][s] for k in keys], judged) for s in range(seeds)]
    return {"mean": kendall_tau([mine[k]["score"] for k in keys], judged),
            "one_seed": {"mean": statistics.fmean(one), "sd": statistics.stdev(one) if len(one) > 1 else None,
                         "seeds": len(one)}}


def fidelity(cheap: SpaceTable, longer: SpaceTable, cfg: SearchConfig | None = None) -> dict:
    """Both tables' seed-to-seed agreement, the cross-fidelity taus, the cost of a training of each
    and every cell's true score under each ("cells"), under the score coefficients of `cfg`
    (default: the cheap table's)."""
    check_same_space(cheap, longer)
    cfg = cfg or cheap.cfg

    def agreement(table):
        mean, sd, pairs = seed_agreement(table, cfg)
        return {"mean": mean, "sd": sd, "pairs": pairs, "seeds": len(table.seeds),
                "seconds": seconds_per_training(table)}

    mine, truth = cell_truth(cheap, cfg), cell_truth(longer, cfg)
    return {"changes": {n: list(v) for n, v in proxy_changes(cheap, longer).items()},
            "cheap": agreement(cheap), "longer": agreement(longer), "cross": cross_agreement(mine, truth),
            "cells": [{"key": k, "edges": mine[k]["edges"], "cheap": mine[k]["score"], "longer": truth[k]["score"]}
                      for k in sorted(mine)]}


def _tau(d: dict) -> str:
    return f"{d['mean']:.2f}" + ("" if d.get("sd") is None else f" ± {d['sd']:.2f}")


def fidelity_text(f: dict) -> str:
    """A fidelity() report in one paragraph."""
    changes = ", ".join(f"--{n} {a} -> {b}" for n, (a, b) in f["changes"].items()) or "no proxy setting changed"
    return (f"Proxy fidelity ({changes}): seed-to-seed Kendall tau {_tau(f['cheap'])} under the cheap proxy "
            f"({f['cheap']['seeds']} seeds), {_tau(f['longer'])} under the longer one ({f['longer']['seeds']} seeds). "
            f"Against the longer proxy's mean, the cheap proxy's mean ranks the cells with tau "
            f"{f['cross']['mean']:.2f}, one cheap seed with {_tau(f['cross']['one_seed'])}. The tables' trainings "
            f"took {f['cheap']['seconds']:.1f} s and {f['longer']['seconds']:.1f} s on average, each under its "
            "build's load: scripts/proxy_cost.py measures the cost ratio side by side.")
