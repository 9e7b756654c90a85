"""Where a cell's drawing puts things, shared by every picture (matplotlib, Plotly, DOT).

Inputs x_t and h_{t-1} on the left feed node 0, node i sits at x = i + 1 on one line, the output
h_t on the right is fed by the leaves. Edges between neighbours are straight; longer edges are
arcs, above the line for an odd span and below for an even one, steeper for a longer span, so no
edge crosses a node and no two edges leave a node together.
"""
from __future__ import annotations

import networkx as nx

from ..core.cell import Cell

INPUTS = ("x_t", "h_{t-1}")
OUTPUT = "h_t"
NODE_FILL = {"relu": "#fdae6b", "sigmoid": "#9ecae1", "tanh": "#a1d99b", "identity": "#dadaeb",
             "init": "#ffffff", "io": "#eeeeee"}


def bend(span: int) -> float:
    """Curvature of an edge spanning `span` positions (matplotlib's arc3 rad: > 0 bends below)."""
    if span <= 1:
        return 0.0
    return (0.2 + 0.07 * span) * (1 if span % 2 == 0 else -1)


def cell_graph(cell: Cell) -> nx.DiGraph:
    """The cell as a networkx DAG: inputs, nodes 0..N-1 and the output, with labels and positions."""
    n, live, leaves = cell.nodes, set(cell.reachable()), cell.output_nodes()
    pos = node_positions(n)
    g = nx.DiGraph()
    for v in INPUTS:
        g.add_node(v, kind="input", label=v, pos=pos[v], index=-1)
    for i in range(n):
        label, op = (f"{i}: init", "init") if i == 0 else (f"{i}: {cell.ops[i]}", cell.ops[i])
        g.add_node(i, kind="node", label=label, op=op, pos=pos[i], index=i, reachable=i in live, leaf=i in leaves)
    g.add_node(OUTPUT, kind="output", label=OUTPUT, pos=pos[OUTPUT], index=n)
    g.add_edge(INPUTS[0], 0, kind="input", rad=0.0)
    g.add_edge(INPUTS[1], 0, kind="input", rad=0.0)
    dead = set(cell.dead_edges())
    for i, j in cell.edges:
        g.add_edge(i, j, kind="dead" if (i, j) in dead else "cell", rad=bend(j - i))
    for leaf in leaves:
        g.add_edge(leaf, OUTPUT, kind="output", rad=bend(n - leaf))
    return g


def node_positions(n: int) -> dict:
    """Positions of the inputs, the n nodes and the output (layout units)."""
    pos = {INPUTS[0]: (0.0, 0.5), INPUTS[1]: (0.0, -0.5), OUTPUT: (float(n + 1), 0.0)}
    pos.update({i: (float(i + 1), 0.0) for i in range(n)})
    return pos


def arc_points(p0, p2, rad: float, k: int = 31) -> tuple[list[float], list[float]]:
    """The quadratic Bezier from p0 to p2 that matplotlib's arc3 connection draws, as k points."""
    (x0, y0), (x2, y2) = p0, p2
    cx, cy = (x0 + x2) / 2 + rad * (y2 - y0), (y0 + y2) / 2 - rad * (x2 - x0)
    ts = [t / (k - 1) for t in range(k)]
    xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x2 for t in ts]
    ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y2 for t in ts]
    return xs, ys


def arc_extent(spans) -> tuple[float, float]:
    """Lowest and highest y reached by arcs of these spans (0 when none goes that way)."""
    heights = [bend(s) * s / 2 for s in spans]
    return -max([h for h in heights if h > 0], default=0.0), -min([h for h in heights if h < 0], default=0.0)


def pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]
