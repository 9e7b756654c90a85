"""A hand-made space table for the tests of autoshrink.space and the replay lab: 3 nodes (6 cells,
the one without edges among them), 2 seeds, perplexities chosen by hand."""
import math

from autoshrink.core.cell import Cell
from autoshrink.core.cells import key, space_cells
from autoshrink.core.config import SearchConfig
from autoshrink.space.table import SpaceTable

HAND_PPL = {   # key -> (valid ppl under seed 0, seed 1, ...), test ppl is valid + 10
    "0-1 0-2 1-2": (400.0, 420.0), "0-1 0-2": (380.0, 380.0), "0-1 1-2": (500.0, 520.0),
    "0-2": (390.0, 410.0), "0-1": (600.0, 600.0), "none": (700.0, 700.0),
}


def hand_table(seed_ppl=HAND_PPL) -> SpaceTable:
    cfg = SearchConfig(nodes=3, emsize=1000, ops="tanh,tanh,tanh", precision="fp32")   # nhid^2 = 10^6
    n_seeds = len(next(iter(seed_ppl.values())))
    table = SpaceTable(config=cfg.to_dict(), ops=["tanh"] * 3, seeds=[11 + k for k in range(n_seeds)])
    for cell in space_cells(("tanh",) * 3):
        ppls = seed_ppl[key(cell)]
        table.cells.append({"key": key(cell), "cell": cell.to_dict(), "edges": cell.n_edges,
                            "flops": cell.flops(cfg.nhid), "params": 1,
                            "runs": [{"ppl": p, "test_ppl": p + 10, "seconds": 1.0} for p in ppls]})
    return table


def hand_score(ppl, edges):
    """(200 - ppl) * 0.25 - (log10(edges * 10^6) - 6), by hand (no edge is costed as one)."""
    return (200 - ppl) * 0.25 - math.log10(edges)


def hand_search(removed, table: SpaceTable) -> dict:
    """A search record on the hand-made table's space: one finished step from the full cell that
    tried every edge and removed `removed`, its cell the best; its chosen score is the cell's score
    under table seed 0 (as a step with that seed observed it)."""
    full = Cell.full(("tanh",) * 3)
    candidates = []
    for edge in ([0, 1], [0, 2], [1, 2]):
        cell, pruned = full.remove(tuple(edge))
        ppl = table.row(key(cell))["runs"][0]["ppl"]
        candidates.append({"edge": edge, "pruned": [list(e) for e in pruned], "edges_left": cell.n_edges,
                           "ppl": ppl, "val_loss": math.log(ppl), "flops": cell.flops(table.cfg.nhid),
                           "score": hand_score(ppl, max(1, cell.n_edges))})
    after = full.remove(tuple(removed))[0]
    chosen = next(c["score"] for c in candidates if c["edge"] == list(removed))
    step = {"step": 0, "done": True, "removed": [list(removed)], "cell": after.to_dict(),
            "best_score": chosen, "candidates": candidates}
    return {"config": table.config, "initial": full.to_dict(), "cell": step["cell"], "steps": [step],
            "best": {"step": 0, "score": chosen, "cell": step["cell"]}}


def mirrored_table() -> SpaceTable:
    """The hand table's space trained 'longer': every perplexity mirrored (1000 - ppl), so the order
    of the cells is the hand table's reversed under both seeds (by ppl alone); --epochs tripled."""
    table = hand_table({k: (1000 - a, 1000 - b) for k, (a, b) in HAND_PPL.items()})
    table.config = {**table.config, "epochs": table.config["epochs"] * 3}
    return table
