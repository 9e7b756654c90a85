"""Figures of the search-quality report and of the final training (Plotly).

- `quality_figure(report)`: proxy perplexity of the discovered cell, the random cells of its edge
  count, ShrinkRNN, DARTS and the LSTM: every run as a point over a box per group, the discovered
  cell's mean as a line, its rank among the random cells in the title.
- `pareto_figure(state)`: perplexity against flops of every candidate a search tried (search.json),
  coloured by step, with the Pareto front (no other candidate both cheaper and better).
- `final_figure()` / `update_final(fig, history)`: train and valid perplexity per epoch of a final
  training, the ASGD phase shaded.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from .formats import budget
from .quality import GROUPS

COLORS = {"discovered": "#d62728", "random": "#7f7f7f", "ShrinkRNN": "#1f77b4", "DARTS": "#2ca02c",
          "LSTM": "#9467bd"}


def _fmt(v, spec=".1f") -> str:
    return "n/a" if v is None else format(v, spec)


def quality_title(summary: dict) -> str:
    d = summary.get("discovered", {})
    if not d.get("n"):
        return "Proxy perplexity (lower is better)"
    text = f"discovered cell: {_fmt(d['mean'])} ± {_fmt(d['sd'])} over {d['n']} seed{'s' * (d['n'] != 1)}"
    if "rank" in d:
        text += f"; rank {d['rank']} of {d['of']} among random cells (random median {_fmt(d['random_median'])})"
    return text


def quality_figure(report: dict) -> go.Figure:
    """Every run's proxy perplexity by group (points over boxes); diverged runs are left out."""
    fig = go.Figure()
    summary = report["summary"]
    for g in GROUPS:
        runs = [r for r in report["records"] if r["group"] == g and r["ppl"] is not None]
        if not runs:
            continue
        s = summary[g]
        label = f"{g} ({len({r['name'] for r in runs})} cells)" if g == "random" else g
        fig.add_trace(go.Box(
            name=label, y=[r["ppl"] for r in runs], boxpoints="all", jitter=0.4, pointpos=0,
            marker=dict(color=COLORS[g], size=8, opacity=0.8), line=dict(color=COLORS[g]),
            text=[f"{r['name']}, seed {r['seed']}" for r in runs],
            hovertemplate="%{text}<br>ppl %{y:.1f}<extra></extra>",
            customdata=[[s["mean"], s["sd"]]] * len(runs)))
    mine = summary.get("discovered", {}).get("mean")
    if mine is not None:
        fig.add_hline(y=mine, line=dict(color=COLORS["discovered"], dash="dash", width=1),
                      annotation_text=f"discovered<br>mean {mine:.1f}", annotation_position="right")
    fig.update_layout(title=dict(text=quality_title(summary), x=0.02, font=dict(size=14)),
                      yaxis_title=f"proxy perplexity (valid; {budget(report['config'])})", showlegend=False,
                      width=820, height=460, plot_bgcolor="white", margin=dict(l=60, r=110, t=60, b=40))
    fig.update_xaxes(range=[-0.8, len(fig.data) - 0.2])   # the first and last boxes clear of the axes
    fig.update_yaxes(gridcolor="#e5e5e5")
    return fig


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (flops, ppl) points no other point beats on both (lower flops and lower ppl), by flops."""
    front, best = [], math.inf
    for f, p in sorted(points, key=lambda fp: (fp[0], fp[1])):
        if p < best:
            front.append((f, p))
            best = p
    return front


def search_points(state: dict) -> list[dict]:
    """Every candidate the search trained (not diverged): step, edge removed, flops, ppl; and the final cell."""
    pts = [{"step": s["step"], "edge": c["edge"], "flops": c["flops"], "ppl": c["ppl"]}
           for s in state.get("steps", []) for c in s.get("candidates", []) if c.get("ppl") is not None]
    final = state.get("final") or {}
    if final.get("ppl") is not None:
        pts.append({"step": "final", "edge": None, "flops": final["flops"], "ppl": final["ppl"]})
    return pts


def discovered_point(state: dict) -> dict | None:
    """The discovered cell's point: the best step's chosen candidate (its removed edge), None before one."""
    best = state.get("best")
    steps = {s["step"]: s for s in state.get("steps", [])}
    if not best or best["step"] not in steps:
        return None
    step = steps[best["step"]]
    chosen = [c for c in step["candidates"] if c["edge"] in (step.get("removed") or [])]
    return {"step": best["step"], "flops": chosen[0]["flops"], "ppl": chosen[0]["ppl"]} if chosen else None


def pareto_figure(state: dict) -> go.Figure:
    pts = search_points(state)
    tried = [p for p in pts if p["step"] != "final"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="candidates", mode="markers", x=[p["flops"] for p in tried], y=[p["ppl"] for p in tried],
        text=[f"step {p['step']}, removing {p['edge'][0]}->{p['edge'][1]}" for p in tried],
        hovertemplate="%{text}<br>flops %{x:,}<br>ppl %{y:.1f}<extra></extra>",
        marker=dict(size=9, color=[p["step"] for p in tried], colorscale="Viridis", opacity=0.8,
                    colorbar=dict(title=dict(text="step"), thickness=12, tick0=0,
                                  dtick=max(1, math.ceil(len(state.get("steps", [])) / 10))))))
    front = pareto_front([(p["flops"], p["ppl"]) for p in pts])
    fig.add_trace(go.Scatter(name="Pareto front", mode="lines+markers", x=[f for f, _ in front],
                             y=[p for _, p in front], line=dict(color="#d62728", shape="hv", width=2),
                             marker=dict(size=5, color="#d62728")))
    best = discovered_point(state)
    if best:
        fig.add_trace(go.Scatter(name=f"discovered cell (after step {best['step']})", mode="markers",
                                 x=[best["flops"]], y=[best["ppl"]],
                                 marker=dict(symbol="star", size=16, color="#ff7f0e", line=dict(color="black", width=1))))
    fig.update_layout(title=dict(text=f"Every candidate of the search ({len(tried)}): perplexity against flops",
                                 x=0.02, font=dict(size=14)),
                      xaxis_title="flops (live edges x nhid²)",
                      yaxis_title=f"proxy perplexity (valid; {budget(state['config'])})",
                      width=820, height=460, plot_bgcolor="white", legend=dict(x=0.99, xanchor="right", y=0.99),
                      margin=dict(l=60, r=20, t=60, b=50))
    fig.update_xaxes(gridcolor="#e5e5e5")
    fig.update_yaxes(gridcolor="#e5e5e5")
    return fig


def final_figure() -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(name="train", mode="lines+markers", x=[], y=[], line=dict(color="#1f77b4")))
    fig.add_trace(go.Scatter(name="valid", mode="lines+markers", x=[], y=[], line=dict(color="#d62728")))
    fig.update_layout(title=dict(text="Final training", x=0.02), xaxis_title="epoch", yaxis_title="perplexity",
                      yaxis_type="log", width=760, height=380, plot_bgcolor="white",
                      margin=dict(l=60, r=20, t=50, b=40))
    return fig


def update_final(fig, history: list[dict], title: str | None = None) -> None:
    """Redraw the curves of a figure made by `final_figure` (or its FigureWidget) from a run's history."""
    epochs = [r["epoch"] + 1 for r in history]
    train = [math.exp(r["train_loss"]) if r["train_loss"] is not None and r["train_loss"] < 30 else None
             for r in history]
    asgd = [r["epoch"] + 1 for r in history if r["phase"] == "ASGD"]
    with fig.batch_update():
        fig.data[0].update(x=epochs, y=train)
        fig.data[1].update(x=epochs, y=[r["val_ppl"] for r in history])
        fig.layout.shapes = ()
        if asgd:
            fig.add_vrect(x0=asgd[0] - 0.5, x1=asgd[-1] + 0.5, fillcolor="#ffdd99", opacity=0.35, line_width=0,
                          annotation_text="ASGD", annotation_position="top left")
        if title is not None:
            fig.layout.title.text = title
