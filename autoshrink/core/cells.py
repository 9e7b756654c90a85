"""The cells of a search space with fixed ops: every subset of the N(N-1)/2 forward edges, pruned
(edges leaving an unreachable node removed), each distinct pruned cell once.

    cells = space_cells(("tanh", "identity", "sigmoid", "relu"))   # 34 cells for 4 nodes
    key(cells[0])                                                   # "0-1 0-2 0-3 1-2 1-3 2-3"

Two edge sets that prune to the same cell train to the same numbers (the weights of an edge come
from the seed alone, whatever the other edges), so a table keys its cells by their pruned edges.
"""
from __future__ import annotations

from .cell import Cell


def all_edges(nodes: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]


def key(cell: Cell) -> str:
    """A pruned cell's edges as text ("0-1 1-3"; "none" for the cell without edges)."""
    edges = cell.prune().edges
    return " ".join(f"{i}-{j}" for i, j in edges) if edges else "none"


def space_cells(ops) -> list[Cell]:
    """Every distinct pruned cell over the edge sets of len(ops) nodes, most edges first, then by key."""
    pairs = all_edges(len(ops))
    found = {}
    for bits in range(1 << len(pairs)):
        cell = Cell.from_edges([p for k, p in enumerate(pairs) if bits >> k & 1], ops).prune()
        found.setdefault(key(cell), cell)
    return sorted(found.values(), key=lambda c: (-c.n_edges, key(c)))
