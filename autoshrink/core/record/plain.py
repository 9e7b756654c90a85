"""The typed record's queries on the plain layout (a search.json as read), for code that holds
the dict (the search folder, the runs list, the quality report): each types the dict first and
asks SearchRecord, so every query has one home.

    best_of(state)       # {"step", "score", "cell"} of the best step, None while there is none
    cell_of(state, "step:2")
"""
from __future__ import annotations

from ..cell import Cell
from .layout import FORMAT
from .schema import SearchRecord


def typed(state: dict) -> SearchRecord:
    """A plain record typed for a query; the keys a query needs not (format, config, cells) may be missing."""
    return SearchRecord.from_dict({"format": FORMAT, "config": {}, "initial": {}, "cell": {}, "steps": [], **state})


def done_steps(state: dict) -> list[dict]:
    return [s for s in state["steps"] if s.get("done")]


def best_of(state: dict) -> dict | None:
    """{"step", "score", "cell"} of SearchRecord.best_step, None while there is none."""
    best = typed(state).best_step()
    return best.to_dict() if best else None


def best_ppl(state: dict) -> float | None:
    """SearchRecord.best_ppl of a plain record."""
    return typed(state).best_ppl()


def cell_of(state: dict, which="best") -> Cell:
    """SearchRecord.cell_of of a plain record: the best step's cell, the final cell, or step N's cell."""
    return typed(state).cell_of(which)
