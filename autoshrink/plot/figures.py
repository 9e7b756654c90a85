"""Plotly figures for the lab and the notebooks: the cell as a DAG whose edges carry a search
state (`dag_figure`, `update_dag`), the step curves (`curves_figure`), the training curve of the
candidate in progress (`training_figure`, `update_training`), several cells side by side
(`cells_figure`) and validation perplexity per epoch, one line per cell (`comparison_figure`,
`update_comparison`).
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from ..core import formats
from ..core.cell import Cell
from ..core.config import TRAINED_ALIKE
from ..core.record import SearchRecord
from ..core.stats import perplexity
from .layout import INPUTS, NODE_FILL, OUTPUT, arc_extent, arc_points, bend, cell_graph, node_positions, pairs
from .series import best_step, edge_key, step_series

EDGE_STATES = ("live", "training", "tried", "removed", "pruned", "added")
EDGE_STYLE = {
    "live": dict(color="#3b6ea8", dash="solid", width=2.0),
    "training": dict(color="#ff7f0e", dash="solid", width=4.5),
    "tried": dict(color="#21918c", dash="solid", width=3.0),   # the colour is the score's, on SCORE_SCALE
    "removed": dict(color="#8c8c8c", dash="dash", width=1.5),
    "pruned": dict(color="#c8c8c8", dash="dot", width=1.5),
    "added": dict(color="#2ca02c", dash="solid", width=4.0),   # a move of a strategy that adds edges
}
DIVERGED_COLOR = "#222222"
SCORE_SCALE = "Viridis"
PX = 115          # plotly pixels per layout unit
NODE_PX = 48      # plotly node marker diameter


def _default_state(cell: Cell, edge):
    if not cell.mask[edge[0]][edge[1]]:
        return None
    return "pruned" if edge in set(cell.dead_edges()) else "live"


def _score_range(edge_states: dict) -> tuple[float, float]:
    scores = [v["score"] for v in edge_states.values() if v.get("state") == "tried" and v.get("score") is not None]
    if not scores:
        return 0.0, 1.0
    lo, hi = min(scores), max(scores)
    return (lo - 0.5, hi + 0.5) if hi - lo < 1e-9 else (lo, hi)


def _edge_color(info: dict, lo: float, hi: float) -> str:
    if info["state"] != "tried":
        return EDGE_STYLE[info["state"]]["color"]
    if info.get("score") is None:
        return DIVERGED_COLOR
    return sample_colorscale(SCORE_SCALE, [min(1.0, max(0.0, (info["score"] - lo) / (hi - lo)))])[0]


def _fmt(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _edge_hover(edge, info: dict) -> str:
    i, j = edge
    lines = [f"<b>edge {i} → {j}</b>", f"state: {info['state']}"]
    if info["state"] == "tried" and info.get("score") is None:
        lines.append("diverged")
    if info.get("ppl") is not None or info.get("score") is not None:
        lines += [f"ppl: {_fmt(info.get('ppl'), '.2f')}", f"flops: {_fmt(info.get('flops'), ',.0f')}",
                  f"score: {_fmt(info.get('score'), '.2f')}"]
    if info.get("seeds", 1) > 1:
        lines.append(f"{info['seeds']} seeds: {_fmt(info['mean_score'], '.2f')} ± {_fmt(info['sd_score'], '.2f')}")
    if info.get("chosen"):
        lines.append("the step removes it")
    if info.get("true_score") is not None:
        lines.append(f"true score {_fmt(info['true_score'], '.2f')}: rank {info['true_rank']} of {info['of']} "
                     "(space table)")
    if info.get("halved"):
        lines.append(f"stopped at epoch {info['halved']} (halving)")
    if info["state"] in ("removed", "pruned") and info.get("step") is not None:
        lines.append(f"{info['state']} at step {info['step']}")
    elif info.get("step") is not None:
        lines.append(f"tried at step {info['step']}")
    return "<br>".join(lines)


def _edge_infos(cell: Cell, edge_states) -> dict:
    """State record of every possible edge, None where the edge is not drawn."""
    edge_states = {edge_key(k): v for k, v in (edge_states or {}).items()}
    out = {}
    for e in pairs(cell.nodes):
        info = dict(edge_states.get(e) or {})
        info.setdefault("state", _default_state(cell, e))
        out[e] = info if info["state"] else None
    return out


def _node_style(cell: Cell):
    """Per plotted node (inputs, 0..N-1, output): label, shown text, hover, fill, border, opacity."""
    g = cell_graph(cell)
    names = [INPUTS[0], INPUTS[1], *range(cell.nodes), OUTPUT]
    shown = {INPUTS[0]: "<b>x</b><sub>t</sub>", INPUTS[1]: "<b>h</b><sub>t-1</sub>", OUTPUT: "<b>h</b><sub>t</sub>"}
    rows = []
    for v in names:
        d = g.nodes[v]
        if d["kind"] != "node":
            rows.append((d["label"], shown[v], d["label"], NODE_FILL["io"], "#555555", 1.0))
            continue
        i, op = d["index"], d["op"]
        text = f"<b>{i}</b><br>{'init' if i == 0 else op}"
        notes = ["initial state s0 (its op is unused)"] if i == 0 else []
        notes += ["output (averaged into h_t)"] if d["leaf"] else []
        notes += [] if d["reachable"] else ["unreachable (no live input)"]
        hover = "<br>".join([f"<b>{d['label']}</b>", *notes])
        rows.append((d["label"], text, hover, NODE_FILL[op], "#333333" if d["reachable"] else "#bbbbbb",
                     1.0 if d["reachable"] else 0.35))
    return rows


def _arrow_marker(k: int, color: str, size: float = 11) -> dict:
    """An arrowhead at the last of k points, standing off the node it points at."""
    return dict(symbol="arrow", angleref="previous", size=[0] * (k - 1) + [size], color=color,
                standoff=[0] * (k - 1) + [NODE_PX / 2 + 1], line=dict(width=0))


def _edge_trace_update(points, style: dict, color: str, group: str = "") -> dict:
    if points is None:
        return dict(x=[None], y=[None], marker=dict(size=[0]), visible=False)
    xs, ys = points
    return dict(x=xs, y=ys, visible=True, legendgroup=group,
                line=dict(color=color, dash=style["dash"], width=style["width"]),
                marker=_arrow_marker(len(xs), color, 8 + 1.5 * style["width"]))


def _dag_updates(cell: Cell, edge_states) -> dict[str, dict]:
    """Trace name -> property update that brings a DAG figure to this cell and these edge states."""
    n, pos = cell.nodes, node_positions(cell.nodes)
    infos = _edge_infos(cell, edge_states)
    lo, hi = _score_range({e: v for e, v in infos.items() if v})
    up = {}
    hover_x, hover_y, hover_text, hover_color = [], [], [], []
    scored_x, scored_y, scored_text, scored_val = [], [], [], []
    for e in pairs(n):
        info = infos[e]
        pts = arc_points(pos[e[0]], pos[e[1]], bend(e[1] - e[0])) if info else None
        style = EDGE_STYLE[info["state"]] if info else None
        color = _edge_color(info, lo, hi) if info else None
        up[f"edge {e[0]}->{e[1]}"] = _edge_trace_update(pts, style, color, info["state"] if info else "")
        mx, my = (pts[0][len(pts[0]) // 2], pts[1][len(pts[1]) // 2]) if pts else (None, None)
        scored = bool(info) and info["state"] == "tried" and info.get("score") is not None
        hover_x.append(None if scored else mx)
        hover_y.append(None if scored else my)
        hover_text.append(_edge_hover(e, info) if info else "")
        hover_color.append(color or "#ffffff")
        scored_x.append(mx if scored else None)
        scored_y.append(my if scored else None)
        scored_text.append(_edge_hover(e, info) if scored else "")
        scored_val.append(info["score"] if scored else lo)
    up["edge info"] = dict(x=hover_x, y=hover_y, hovertext=hover_text, marker=dict(color=hover_color))
    up["edge info (scored)"] = dict(x=scored_x, y=scored_y, hovertext=scored_text,
                                    marker=dict(color=scored_val, cmin=lo, cmax=hi,
                                                showscale=any(v is not None for v in scored_x)))
    leaves = set(cell.output_nodes())
    for leaf in range(n):
        pts = arc_points(pos[leaf], pos[OUTPUT], bend(n - leaf)) if leaf in leaves else None
        up[f"out {leaf}"] = _edge_trace_update(pts, EDGE_STYLE["live"], "#555555")
    rows = _node_style(cell)
    up["nodes"] = dict(text=[r[1] for r in rows], hovertext=[r[2] for r in rows], customdata=[r[0] for r in rows],
                       marker=dict(color=[r[3] for r in rows], line=dict(color=[r[4] for r in rows], width=1.5),
                                   opacity=[r[5] for r in rows]))
    return up


def dag_figure(cell: Cell, edge_states=None, title=None) -> go.Figure:
    """The cell as an interactive left-to-right DAG; `edge_states` maps (i, j) to
    dict(state=..., score=..., ppl=..., flops=..., step=...) with state one of EDGE_STATES."""
    n, pos = cell.nodes, node_positions(cell.nodes)
    fig = go.Figure()
    for i, j in pairs(n):
        fig.add_trace(go.Scatter(name=f"edge {i}->{j}", mode="lines+markers", hoverinfo="skip", showlegend=False))
    for leaf in range(n):
        fig.add_trace(go.Scatter(name=f"out {leaf}", mode="lines+markers", hoverinfo="skip", showlegend=False))
    for v in INPUTS:
        xs, ys = arc_points(pos[v], pos[0], 0.0)
        fig.add_trace(go.Scatter(name=f"in {v}", x=xs, y=ys, mode="lines+markers", hoverinfo="skip",
                                 showlegend=False, line=dict(color="#555555", width=2),
                                 marker=_arrow_marker(len(xs), "#555555", 11)))
    for s in EDGE_STATES:
        st = EDGE_STYLE[s]
        label = {"tried": "tried (colour = score)", "training": "training now"}.get(s, s)
        fig.add_trace(go.Scatter(name=label, x=[None], y=[None], mode="lines", legendgroup=s,
                                 line=dict(color=st["color"], dash=st["dash"], width=st["width"])))
    fig.add_trace(go.Scatter(name="edge info", mode="markers", hoverinfo="text", showlegend=False,
                             marker=dict(size=7, opacity=0.55, line=dict(color="white", width=1))))
    fig.add_trace(go.Scatter(name="edge info (scored)", mode="markers", hoverinfo="text", showlegend=False,
                             marker=dict(size=12, colorscale=SCORE_SCALE, line=dict(color="white", width=1),
                                         colorbar=dict(title=dict(text="score"), thickness=12, len=0.6))))
    names = [INPUTS[0], INPUTS[1], *range(n), OUTPUT]
    fig.add_trace(go.Scatter(name="nodes", x=[pos[v][0] for v in names], y=[pos[v][1] for v in names],
                             mode="markers+text", hoverinfo="text", showlegend=False, textposition="middle center",
                             textfont=dict(size=[13, 13] + [10] * n + [13], color="#111111"),
                             marker=dict(size=NODE_PX, symbol="circle")))
    low, high = arc_extent(range(2, n))   # an empty cell's arc from node 0 to h_t may overflow
    fig.update_layout(
        title=dict(text=title if title is not None else _dag_title(cell), x=0.02),
        xaxis=dict(visible=False, range=[-0.45, n + 1.45], fixedrange=True),
        yaxis=dict(visible=False, range=[low - 0.5, high + 0.5], fixedrange=True),
        width=int(PX * (n + 1.9)) + 120, height=int(PX * (high - low + 1.0)) + 130,
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest",
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="left", x=0.0),
    )
    update_dag(fig, cell, edge_states)
    return fig


def _dag_title(cell: Cell) -> str:
    return f"ShrinkCell: {cell.describe()}"


def update_dag(fig, cell: Cell, edge_states=None) -> None:
    """Restyle a figure made by `dag_figure` (or a FigureWidget of one) in place for this cell and
    these edge states; the cell must have the same number of nodes."""
    traces = {t.name: t for t in fig.data}
    if f"out {cell.nodes - 1}" not in traces or f"out {cell.nodes}" in traces:
        raise ValueError(f"this DAG figure was made for another number of nodes; make a new one "
                         f"with dag_figure for the {cell.nodes}-node cell")
    with fig.batch_update():
        for name, props in _dag_updates(cell, edge_states).items():
            traces[name].update(props)


def curves_figure(record: SearchRecord | None, parent: dict | None = None) -> go.Figure:
    """Best & mean score, best & mean ppl and mean cost against edges left, one subplot each; a
    branch's steps copied from its parent (whose settings `parent` gives, when known) are hollow."""
    s = step_series(record)
    symbols = ["circle-open" if k in copied_steps(record) else "circle" for k in s["step"]]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("score", "perplexity", "cost (mean flops)"),
                        horizontal_spacing=0.08)
    x, steps = s["edges_left"], s["step"]
    lines = ((1, "best_score", "best score", "#ff7f0e"), (1, "mean_score", "mean score", "#3b6ea8"),
             (2, "best_ppl", "best ppl", "#ff7f0e"), (2, "mean_ppl", "mean ppl", "#3b6ea8"),
             (3, "mean_flops", "mean flops", "#6a3d9a"))
    for col, key, name, color in lines:
        y = [None if math.isnan(v) else v for v in s[key]]
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers", customdata=steps, text=_where(s),
                                 marker=dict(symbol=symbols, size=8),
                                 line=dict(color=color, dash="solid" if key.startswith("best") else "dot"),
                                 hovertemplate=f"{name}: %{{y:{',.0f' if key == 'mean_flops' else '.2f'}}}"
                                               "<br>%{text}<extra></extra>"), row=1, col=col)
    fig.add_trace(_best_marker(record, s), row=1, col=1)
    for col in (1, 2, 3):
        fig.update_xaxes(title_text="edges left", autorange="reversed", dtick=1, row=1, col=col)
    if not x:
        fig.add_annotation(text="no finished shrink steps yet", x=0.5, y=0.5, xref="paper", yref="paper",
                           showarrow=False, font=dict(size=14, color="#777777"))
        fig.update_xaxes(showticklabels=False)   # no made-up range (plotly's -1 to 6) under no data
        fig.update_yaxes(showticklabels=False)
    _pad_flat_axes(fig, s)
    fig.update_yaxes(tickformat=",.0f", row=1, col=3)
    budget = f" ({formats.recipe(record.config)})" if record is not None and record.config else ""
    fig.update_layout(height=CURVES_HEIGHT, width=960, margin=CURVES_MARGIN, plot_bgcolor="white",
                      title=dict(text=f"per shrink step{budget}{copied_note(record, parent)}", x=0.02,
                                 font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(gridcolor="#eeeeee")
    fig.update_yaxes(gridcolor="#eeeeee")
    if x:
        fig.update_layout(updatemenus=[_x_menu(fig, record, s)])
    return fig


def _where(s: dict) -> list[str]:
    """Each point's step and edges left, for the hover (the x axis may show time instead)."""
    return [f"step {k}, {e:.0f} edges left" for k, e in zip(s["step"], s["edges_left"])]


def training_minutes(record: SearchRecord) -> list[float]:
    """Per finished step, the candidates' training time up to and including it, in minutes
    (summed over candidates, so candidates trained side by side count each; copied steps included)."""
    total, out = 0.0, []
    for step in record.done_steps():
        total += sum(c.seconds or 0.0 for c in step.candidates)
        out.append(total / 60)
    return out


# The curves' top margin holds, from the top: plotly's toolbar (about 30 px, on the right, shown on
# hover) and the title, then the x menu's buttons (about 22 px, on the right, under the toolbar),
# then the subplot titles just above the plots (about 18 px).
CURVES_HEIGHT, CURVES_MARGIN = 390, dict(l=40, r=10, t=110, b=40)
MENU_Y = 1.1      # the buttons' bottom, in plot heights: 24 px above the plots, clear of the subplot titles


def _x_menu(fig, record: SearchRecord, s: dict) -> dict:
    """Buttons above the curves: against edges left (as drawn) or against the training time so far."""
    minutes = dict(zip(s["step"], training_minutes(record)))
    by_time = [[minutes[k] for k in (t.customdata or ())] for t in fig.data]
    by_edges = [list(t.x or ()) for t in fig.data]
    axes = [f"xaxis{'' if col == 1 else col}" for col in (1, 2, 3)]
    edges = {**{f"{a}.title.text": "edges left" for a in axes}, **{f"{a}.autorange": "reversed" for a in axes},
             **{f"{a}.dtick": 1 for a in axes}}
    time = {**{f"{a}.title.text": "training minutes so far (summed over candidates)" for a in axes},
            **{f"{a}.autorange": True for a in axes}, **{f"{a}.dtick": None for a in axes}}
    return dict(type="buttons", direction="right", x=1.0, xanchor="right", y=MENU_Y, yanchor="bottom",
                font=dict(size=11), buttons=[dict(label="against edges left", method="update",
                                                  args=[{"x": by_edges}, edges]),
                                             dict(label="against training time", method="update",
                                                  args=[{"x": by_time}, time])])


def copied_steps(record: SearchRecord | None) -> list[int]:
    """The steps a branch copied from its parent (its first ones), none for a search of its own."""
    return [s.step for s in record.done_steps() if s.from_parent] if record else []


def budget_changes(parent: dict, config: dict) -> list[str]:
    """What the parent's settings were where a branch changed one of TRAINED_ALIKE, e.g. ["epochs 2"]."""
    return [f"{k} {parent.get(k)}" for k in TRAINED_ALIKE if parent.get(k) != config.get(k)]


def copied_note(record: SearchRecord | None, parent: dict | None) -> str:
    """A branch's copied steps, for a title: hollow markers, and whether they were trained as its own."""
    copied = copied_steps(record)
    if not copied:
        return ""
    span = f"step {copied[0]}" if len(copied) == 1 else f"steps {copied[0]}–{copied[-1]}"
    note = f"<br><sup>hollow: {span} copied from the parent"
    if parent is None:
        return note + " (its settings unknown: compare the scores with care)</sup>"
    changed = budget_changes(parent, record.config)
    if not changed:
        return note + ", trained alike</sup>"
    among = ("among this branch's own steps" if len(record.comparable_steps()) < len(record.done_steps())
             else "across both")
    return note + (f", trained with {', '.join(changed)}: their scores do not compare with the later steps' "
                   f"(★ best is picked {among})</sup>")


def _pad_flat_axes(fig, s: dict) -> None:
    """A subplot whose values are all one (a single step) gets a range of 5% around it (at least
    2 units) instead of plotly's ±1, whose ticks fall between whole numbers (4,778.5, 4779, ...)."""
    for col, keys in ((1, ("best_score", "mean_score")), (2, ("best_ppl", "mean_ppl")), (3, ("mean_flops",))):
        ys = [v for k in keys for v in s[k] if not math.isnan(v)]
        if ys and max(ys) == min(ys):
            pad = max(abs(ys[0]) * 0.05, 2.0)
            fig.update_yaxes(range=[ys[0] - pad, ys[0] + pad], row=1, col=col)


def _best_marker(record: SearchRecord | None, s: dict) -> go.Scatter:
    """A star on the score curve at the best step (empty while there is none)."""
    k = best_step(record)
    x = [s["edges_left"][s["step"].index(k)]] if k in s["step"] else []
    y = [record.best.score] if x else []
    return go.Scatter(x=x, y=y, name="best step", mode="markers", customdata=[k] * len(x),
                      text=[f"{x[0]:.0f} edges left"] if x else [],
                      marker=dict(symbol="star", size=16, color="#ff7f0e", line=dict(color="#333333", width=1)),
                      hovertemplate="best step %{customdata}: score %{y:.4g}<br>%{text}<extra></extra>")


def training_figure() -> go.Figure:
    """An empty train/val loss per epoch figure for the candidate in training."""
    fig = go.Figure([go.Scatter(name="train loss", x=[], y=[], mode="lines+markers", line=dict(color="#3b6ea8")),
                     go.Scatter(name="val loss", x=[], y=[], mode="lines+markers", line=dict(color="#ff7f0e"))])
    fig.update_layout(title=dict(text="training", x=0.02), xaxis_title="epoch", yaxis_title="loss (nats / word)",
                      height=300, margin=dict(l=50, r=10, t=60, b=40), plot_bgcolor="white",
                      xaxis=dict(gridcolor="#eeeeee", tick0=1, dtick=1, showticklabels=False),
                      yaxis=dict(gridcolor="#eeeeee", showticklabels=False))
    return fig


def update_training(fig, curve, title=None) -> None:
    """Show `curve` (a list of {"epoch", "train_loss", "val_loss", ...}) in a `training_figure`."""
    curve = curve or []
    epochs = [p["epoch"] + 1 for p in curve]  # counted from 1, as the progress bar does
    with fig.batch_update():
        fig.data[0].update(x=epochs, y=[p.get("train_loss") for p in curve])
        fig.data[1].update(x=epochs, y=[p.get("val_loss") for p in curve])
        fig.update_xaxes(showticklabels=bool(curve))    # no made-up range (plotly's -1 to 6) under no data
        fig.update_yaxes(showticklabels=bool(curve))
        if title is not None:
            fig.layout.title.text = title


STATIC_STATES = ("live", "pruned")   # the edge states a cell has outside a search: the legend of cells_figure
MAX_WIDTH = 880   # pixels: cells_figure is scaled down to fit a notebook's output area


def cells_figure(cells: dict, cols: int = 2) -> go.Figure:
    """Several cells as DAGs side by side (name -> Cell), `cols` to a row, titled with their edges,
    scaled down (keeping its proportions) to at most MAX_WIDTH pixels wide."""
    names = list(cells)
    cols = max(1, min(cols, len(names)))
    rows = math.ceil(len(names) / cols)
    titles = [f"{name}: {cells[name].n_edges} edges" for name in names]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08)
    heights, widths = [], []
    for k, name in enumerate(names):
        one = dag_figure(cells[name])
        r, c = k // cols + 1, k % cols + 1
        for t in one.data:
            t.showlegend = t.showlegend is not False and k == 0 and t.legendgroup in STATIC_STATES
            fig.add_trace(t, row=r, col=c)
        fig.update_xaxes(visible=False, range=one.layout.xaxis.range, fixedrange=True, row=r, col=c)
        fig.update_yaxes(visible=False, range=one.layout.yaxis.range, fixedrange=True, row=r, col=c)
        heights.append(one.layout.height - 60)
        widths.append(one.layout.width)
    scale = min(1.0, MAX_WIDTH / (max(widths) * cols))
    fig.update_layout(width=round(max(widths) * cols * scale), height=round(max(heights) * rows * scale) + 80,
                      plot_bgcolor="white",
                      paper_bgcolor="white", hovermode="closest", margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="left", x=0.0))
    return fig


def comparison_figure(names, budget: str = "") -> go.Figure:
    """An empty validation-perplexity-per-epoch figure with one line per cell name; `budget` (e.g.
    formats.recipe(cfg)) joins the title."""
    fig = go.Figure([go.Scatter(name=str(n), x=[], y=[], mode="lines+markers") for n in names])
    title = "validation perplexity per epoch" + (f" ({budget})" if budget else "")
    fig.update_layout(title=dict(text=title, x=0.02), xaxis_title="epoch",
                      yaxis_title="validation ppl", height=340, margin=dict(l=50, r=10, t=40, b=40),
                      plot_bgcolor="white", xaxis=dict(gridcolor="#eeeeee", dtick=1, showticklabels=False),
                      yaxis=dict(gridcolor="#eeeeee", showticklabels=False),
                      annotations=[dict(text=WAITING, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                        font=dict(size=14, color="#777777"), name="waiting")])
    return fig


WAITING = "training the first epoch: each cell's point appears when its epoch ends"


def update_comparison(fig, name, curve) -> None:
    """Show the epochs `curve` ({"epoch", "val_loss", ...}) of cell `name` in a `comparison_figure`
    (epochs counted from 1; a diverged loss is left out)."""
    [trace] = [t for t in fig.data if t.name == str(name)]
    trace.update(x=[p["epoch"] + 1 for p in curve],
                 y=[perplexity(p["val_loss"]) for p in curve])
    if curve:          # the first point: real axes instead of the waiting note
        fig.layout.annotations = [a for a in fig.layout.annotations if a.name != "waiting"]
        fig.update_xaxes(showticklabels=True)
        fig.update_yaxes(showticklabels=True)
