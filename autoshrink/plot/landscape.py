"""The landscape of a search space: every cell of a space table by its edge count and true score
(the mean over the table's seeds, with their sd as an error bar), a search's path through it and
where searches' picks fall.

    fig = landscape_figure(cells, path=["0-1 0-2 0-3 1-2 1-3 2-3", ...], picks={"random search": {"0-1": 12}})

`cells` holds one dict per cell: key, edges, score, score_sd, test_ppl (space.truth.cell_truth's
values with their key); the figure knows nothing of tables.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

SPREAD = 0.32          # half the width a column of cells with one edge count takes
PICK_COLORS = {"AutoShrink": "#d62728", "random search": "#1f77b4"}
OTHER_COLORS = ("#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def _x(cells: list[dict]) -> dict[str, float]:
    """Each cell's x: its edge count, the cells of one count spread across a column by true score."""
    out, by_edges = {}, {}
    for c in cells:
        by_edges.setdefault(c["edges"], []).append(c)
    for edges, group in by_edges.items():
        group = sorted(group, key=lambda c: c["score"])
        n = len(group)
        for k, c in enumerate(group):
            out[c["key"]] = edges + (0.0 if n == 1 else SPREAD * (2 * k / (n - 1) - 1))
    return out


def _finite(v):
    return v if v is not None and math.isfinite(v) else None


def _hover(c: dict) -> str:
    sd = "" if c.get("score_sd") is None else f" ± {c['score_sd']:.2f}"
    test = _finite(c.get("test_ppl"))
    return (f"<b>{c['key']}</b><br>{c['edges']} edges<br>true score {c['score']:.2f}{sd}<br>"
            f"test ppl {'diverged' if test is None else f'{test:.2f}'}")


def landscape_figure(cells: list[dict], path=None, picks=None, title=None) -> go.Figure:
    """Cells (edges against true score), the search path `path` (cell keys, first to last) and
    `picks` (name -> {key: how often it was picked}) as circles sized by their share."""
    xs = _x(cells)
    shown = [c for c in cells if _finite(c["score"]) is not None]
    fig = go.Figure(go.Scatter(
        x=[xs[c["key"]] for c in shown], y=[c["score"] for c in shown], mode="markers", name="cells",
        marker=dict(size=7, color="#888888"), hovertext=[_hover(c) for c in shown], hoverinfo="text",
        error_y=dict(type="data", array=[c.get("score_sd") or 0.0 for c in shown], color="#bbbbbb", thickness=1)))
    by_key = {c["key"]: c for c in shown}
    if path:
        steps = [k for k in path if k in by_key]
        fig.add_trace(go.Scatter(x=[xs[k] for k in steps], y=[by_key[k]["score"] for k in steps],
                                 mode="lines+markers", name="search path", line=dict(color="#2ca02c", width=2),
                                 marker=dict(size=9), hovertext=[f"step {n}: {k}" for n, k in enumerate(steps)],
                                 hoverinfo="text"))
    for n, (name, counts) in enumerate((picks or {}).items()):
        total = sum(counts.values()) or 1
        keys = [k for k in counts if k in by_key]
        fig.add_trace(go.Scatter(
            x=[xs[k] for k in keys], y=[by_key[k]["score"] for k in keys], mode="markers", name=f"{name} picks",
            marker=dict(size=[8 + 30 * math.sqrt(counts[k] / total) for k in keys], symbol="circle-open",
                        color=PICK_COLORS.get(name, OTHER_COLORS[n % len(OTHER_COLORS)]), line=dict(width=2)),
            hovertext=[f"{name} picked {k} in {100 * counts[k] / total:.1f}% of its runs" for k in keys],
            hoverinfo="text"))
    edges = sorted({c["edges"] for c in cells})
    fig.update_layout(title=title or f"The space: {len(cells)} cells by edges and true score (mean over seeds ± sd)",
                      xaxis=dict(title="edges", tickmode="array", tickvals=edges), yaxis=dict(title="true score"),
                      height=420, margin=dict(l=60, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.2))
    return fig
