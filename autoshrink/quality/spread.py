"""Search-to-search spread: does the same search, under other run seeds, discover the same cell?

    result = run_spread("runs/search", n=3)     # the search itself and two more, seeds +1 and +2
    result["overlap"]                          # mean pairwise edge overlap (Jaccard) of the discovered cells

The other searches have every setting of the first, their node ops included (so that their edges
can be compared), and another run seed, which moves the candidates' weights, the embedding, the
edge order and the step lengths. Each runs in the sibling folder `<save>-seed<N>`, resumed when it
is there, so a stopped spread continues and a finished one trains nothing.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from ..core.config import SearchConfig
from ..core.record import best_of, cell_of, read_state, record_path
from ..core.stats import mean_sd
from ..search import Search


def spread_folder(save, seed: int) -> Path:
    return Path(f"{Path(save)}-seed{seed}")


def run_spread(save, n: int = 3, on_event=None, should_stop=None) -> dict:
    """Run (or resume, or reuse) the search in `save` under n - 1 more run seeds; return spread_summary."""
    state = read_state(save)
    cfg = SearchConfig.from_dict({**state["config"], "save": str(save)})
    cfg = cfg.replace(ops=",".join(cell_of(state, "best").ops))
    states = {cfg.seed: state}
    for seed in range(cfg.seed + 1, cfg.seed + n):
        folder = spread_folder(save, seed)
        search = (Search.resume(folder, on_event=on_event) if record_path(folder).is_file() else
                  Search(cfg.replace(seed=seed, save=str(folder)), on_event=on_event))
        with search:
            done = search.shrinking_done or search.run(should_stop) is not None
        if not done:
            break
        states[seed] = read_state(folder)
    return spread_summary(states)


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|, 1 for two empty sets."""
    return len(a & b) / len(a | b) if a | b else 1.0


def spread_summary(states: dict[int, dict]) -> dict:
    """Per seed: the discovered (best) cell, its edges, its step and score; every pair's
    edge overlap (Jaccard of the pruned cells' edge sets) and their mean ± sd."""
    cells = {seed: cell_of(st, "best").prune() for seed, st in states.items()}
    runs = {seed: {"cell": cells[seed].to_dict(), "edges": [list(e) for e in cells[seed].edges],
                   "step": (best_of(st) or {}).get("step"), "score": (best_of(st) or {}).get("score")}
            for seed, st in states.items()}
    pairs = {f"{a} / {b}": jaccard(set(cells[a].edges), set(cells[b].edges))
             for a, b in itertools.combinations(cells, 2)}
    mean, sd = mean_sd(pairs.values())
    common = set.intersection(*(set(c.edges) for c in cells.values())) if cells else set()
    return {"runs": runs, "pairs": pairs, "overlap": mean, "overlap_sd": sd, "common": sorted(list(e) for e in common)}
