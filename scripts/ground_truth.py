"""The ground-truth figures of docs/ground-truth.md, from space tables (`autoshrink space`): per
table (cut to the table seeds every cell has) the space, how far its seeds agree, AutoShrink under
each table seed, and AutoShrink against random search at its budget as distributions under several
decision rules.

    python scripts/ground_truth.py runs/space-tiny-s1 runs/space-tiny-s2 --repeats 1000 --out runs/truth.json

Prints Markdown; --out also writes every number as JSON. Nothing trains.
"""
from __future__ import annotations

import argparse
import json

from autoshrink.core.errors import ConfigError
from autoshrink.space.fidelity import seed_agreement
from autoshrink.space.replay import distributions, per_seed, replay_search
from autoshrink.space.shipped import open_table
from autoshrink.space.table import SpaceTable
from autoshrink.space.truth import cell_truth, rank

VARIANTS = {   # name -> setting changes: the decision rules and score coefficients replayed
    "paired seeds, published score": {},
    "one seed per candidate": {"seed_rule": "candidate"},
    "--retest 1 (margin 1)": {"retest": 1, "retest_margin": 1.0},
    "ppl_weight 0.05": {"ppl_weight": 0.05},
    "cost_weight 10": {"cost_weight": 10.0},
    "target_ppl 650": {"target_ppl": 650.0},
}


def complete_seeds(table: SpaceTable) -> SpaceTable:
    """The table cut to its table seeds that every cell has (a table still training reports those)."""
    n = next((k for k in range(len(table.seeds)) if any(row["runs"][k] is None for row in table.cells)),
             len(table.seeds))
    if n == 0:
        raise ConfigError("the table has no table seed that every cell has yet; let it train longer")
    cells = [{**row, "runs": row["runs"][:n]} for row in table.cells]
    return SpaceTable(config=table.config, ops=table.ops, seeds=table.seeds[:n], cells=cells)


def table_figures(folder: str, repeats: int) -> dict:
    table = complete_seeds(open_table(folder))
    cfg = table.cfg
    truth = cell_truth(table, cfg)
    best = max(truth, key=lambda k: truth[k]["score"])
    out = {"folder": folder, "ops": table.ops, "cells": len(truth), "seeds": len(table.seeds),
           "best": {"key": best, **{n: truth[best][n] for n in ("score", "ppl", "test_ppl", "edges")}},
           "agreement": seed_agreement(table, cfg), "per_seed": per_seed(table, cfg),
           "seconds": sum(r["seconds"] for row in table.cells for r in row["runs"])}
    try:
        r = replay_search(table, cfg)
        scores = [t["score"] for t in truth.values()]
        out["search"] = {"discovered": r.discovered, "rank": rank(truth[r.discovered]["score"], scores),
                         "removed": [s["removed"] for s in r.steps]}
    except ConfigError as e:      # the table has fewer seeds than the search has steps
        out["search"] = {"skipped": str(e)}
    out["variants"] = {name: _replays(table, cfg.replace(**changes), repeats, None)
                       for name, changes in VARIANTS.items()}
    held = [len(table.seeds) - 1]       # the last seed judges, the others decide
    out["held_out"] = {name: _replays(table, cfg.replace(**changes), repeats, held)
                       for name, changes in VARIANTS.items()} if len(table.seeds) > 1 else {}
    return out


def _replays(table, cfg, repeats, judge):
    try:
        return distributions(table, cfg, repeats=repeats, judge=judge)
    except ConfigError as e:        # too few seeds to decide with (--retest)
        return {"skipped": str(e)}


def _agreement(tau, sd, pairs) -> str:
    if not pairs:
        return "one table seed: no seed-to-seed agreement to give"
    spread = "" if sd is None else f" ± {sd:.2f}"
    return f"seed-to-seed Kendall tau of the cells' scores {tau:.2f}{spread} ({pairs} pair{'s' * (pairs > 1)})"


def _ranks(d: dict) -> str:
    return f"{d['mean']:.1f} ± {d['sd']:.1f} (median {d['median']:.0f}, best cell {100 * d['top1']:.0f}%)"


def markdown(figures: list[dict]) -> str:
    lines = []
    for f in figures:
        b, (tau, tau_sd, pairs) = f["best"], f["agreement"]
        lines += [f"### {f['folder']}: ops {', '.join(f['ops'])}", "",
                  f"{f['cells']} cells x {f['seeds']} seeds ({f['seconds'] / 60:.0f} minutes of training, wall time "
                  f"on a shared machine); the best "
                  f"cell {b['key']} ({b['edges']} edge{'s' * (b['edges'] != 1)}): true score {b['score']:.2f}, "
                  f"valid {b['ppl']:.2f}, test "
                  f"{b['test_ppl']:.2f}; {_agreement(tau, tau_sd, pairs)}.", "",
                  "AutoShrink under each table seed alone (the edge order of the table's --seed): " +
                  "; ".join(f"seed {p['seed']}: {p['discovered']} (true rank {p['rank']})" for p in f["per_seed"]),
                  ""]
        if "rank" in f["search"]:
            lines += [f"The search with the table's --seed, replayed: {f['search']['discovered']}, true rank "
                      f"{f['search']['rank']} of {f['cells']}.", ""]
        lines += _variants_table(f["variants"], "truth: the mean over every table seed (in sample)")
        if f["held_out"]:
            lines += _variants_table(f["held_out"], f"truth: table seed {f['seeds'] - 1} alone, which no decision "
                                                    "draws on (held out)")
    return "\n".join(lines)


def _variants_table(variants: dict, title: str) -> list[str]:
    lines = [f"{title}:", "", "| decision rule | budget | AutoShrink's pick, true rank | random search's pick, "
             "true rank | P(AutoShrink at least as good) [95% CI] |", "| --- | --- | --- | --- | --- |"]
    for name, d in variants.items():
        if "skipped" in d:
            lines.append(f"| {name} | | {d['skipped']} | | |")
            continue
        lines.append(f"| {name} | {d['budget']:.1f} | {_ranks(d['autoshrink'])} | {_ranks(d['random_search'])} "
                     f"| {d['p_at_least_as_good']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}] |")
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tables", nargs="+", help="space table folders")
    p.add_argument("--repeats", type=int, default=1000, help="replays of each search (default: 1000)")
    p.add_argument("--out", default=None, help="write every figure here as JSON")
    args = p.parse_args()
    figures = [table_figures(t, args.repeats) for t in args.tables]
    print(markdown(figures))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
