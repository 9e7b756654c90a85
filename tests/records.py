"""Helpers the tests share (imported as `records`; pyproject.toml puts tests/ on pytest's path).

Hand-made search records (the `state` of search.json) for tests that need a known history: two
steps of a 4-node search whose best step is the first one, not the last. Also the tiny settings of
a search and of a lab that several test modules build on.
"""
from __future__ import annotations

from pathlib import Path

from autoshrink import Cell, SearchConfig

OPS = ("tanh", "relu", "sigmoid", "identity")
FULL4 = Cell.full(OPS)                      # 6 edges
AFTER0 = FULL4.remove((1, 2))[0]            # 5 edges
AFTER1, PRUNED1 = AFTER0.remove((0, 2))     # 3 edges: node 2 is cut off, 2->3 pruned


def _cand(edge, score, seconds=10.0):
    return {"edge": list(edge), "pruned": [], "edges_left": 0, "ppl": 300.0, "flops": 100, "score": score,
            "seconds": seconds, "diverged": False, "epochs": 1, "ended": "epochs", "params": 1, "val_loss": 5.7,
            "curve": []}


def _done(step, order, cands, removed, pruned, cell, best, mean):
    return {"step": step, "done": True, "edges_before": len(order), "order": order, "candidates": cands,
            "removed": removed, "pruned": pruned, "cell": cell.to_dict(), "edges_left": cell.n_edges,
            "ratio": round(cell.n_edges / 6, 2), "best_score": best, "mean_score": mean, "best_ppl": 300.0,
            "mean_ppl": 300.0, "mean_flops": 100.0, "diverged": 0}


def best_first(data, save, steps: int = 2, final: bool = True) -> dict:
    """A record whose step 0 scored -10 and step 1 -12: the best cell is the one after step 0.
    With steps=1 (and final=False), step 1 is in progress with one of its two candidates done."""
    cfg = SearchConfig(nodes=4, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10,
                       keep_fraction=0.5, max_steps_to_action=3, device="cpu", parallel=1,
                       data=str(data), save=str(save))
    step0 = _done(0, [[1, 2], [0, 3], [2, 3]], [_cand((1, 2), -10.0), _cand((0, 3), -20.0), _cand((2, 3), -30.0)],
                  [[1, 2]], [], AFTER0, -10.0, -20.0)
    if steps == 1:
        step1 = {"step": 1, "done": False, "edges_before": 5, "order": [[0, 2], [1, 3]],
                 "candidates": [_cand((0, 2), -12.0)]}
        cell = AFTER0
    else:
        step1 = _done(1, [[0, 2], [1, 3]], [_cand((0, 2), -12.0), _cand((1, 3), -15.0)], [[0, 2]],
                      [list(p) for p in PRUNED1], AFTER1, -12.0, -13.5)
        cell = AFTER1
    state = {"format": "autoshrink-search/1", "config": cfg.to_dict(), "initial": FULL4.to_dict(),
             "cell": cell.to_dict(), "steps": [step0, step1],
             "best": {"step": 0, "score": -10.0, "cell": AFTER0.to_dict()}, "final": None}
    if final:
        state["final"] = {"cell": AFTER1.to_dict(), "ppl": 250.0, "flops": 3 * 64, "params": 1, "seconds": 10.0,
                          "score": -11.0, "diverged": False, "epochs": 1, "ended": "epochs", "val_loss": 5.5,
                          "curve": []}
    return state


def tiny(tiny_data, save, **kw) -> SearchConfig:
    """The settings of a tiny search (4 nodes, 8 units, one epoch) on the tiny_data slice."""
    base = dict(data=str(tiny_data), nodes=4, emsize=8, epochs=1, batch_size=16, eval_batch_size=8, bptt=10,
                keep_fraction=0.5, max_steps_to_action=3, save=str(save), seed=7)
    return SearchConfig(**{**base, **kw})


LAB_TINY = dict(nodes=3, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, keep_fraction=0.34,
                max_steps_to_action=3, device="cpu", parallel=1)


def make_lab(tiny_data, tmp_path, on_event=None, **changes):
    """A SearchLab of LAB_TINY settings saving in <tmp_path>/run."""
    from autoshrink.lab.widgets import SearchLab

    settings = {**LAB_TINY, "data": str(tiny_data), "save": str(tmp_path / "run"), **changes}
    return SearchLab(SearchConfig(**settings), on_event=on_event)


def stepped_lab(tiny_data, tmp_path, steps: int = 2):
    """A 4-node lab (two candidates a step) after `steps` Steps, its save folder and its search.json text."""
    lab = make_lab(tiny_data, tmp_path, nodes=4, keep_fraction=0.34, max_steps_to_action=2)
    for _ in range(steps):
        lab.step()
    parent = Path(lab.runner.save_dir)
    return lab, parent, (parent / "search.json").read_text()
