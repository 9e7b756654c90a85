"""Strategies compared on a space table, as Plotly figures: the anytime curves (the true rank of
each strategy's incumbent against trainings spent, median and quartiles over replays, as
NAS-Bench-201 and NASLib draw them) and the held-out P(at least as good as random search) by budget.

    anytime_figure(board, score="published", judge=3)   # board: space.leaderboard.leaderboard(...)
    verdict_figure(summary(board), score="published")
    trainings_figure(record)        # a strategy run's record (strategy.json): its trainings and incumbent
    fidelity_figure(report)         # each cell's score under a cheap and a longer proxy (space.fidelity.fidelity)
"""
from __future__ import annotations

import plotly.graph_objects as go

from ..core.record import incumbent_means
from .landscape import OTHER_COLORS

COLORS = {"autoshrink": "#d62728", "random": "#1f77b4"}


def _color(name: str, n: int) -> str:
    return COLORS.get(name, OTHER_COLORS[n % len(OTHER_COLORS)])


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def anytime_figure(board: dict, score: str = "published", judge=None) -> go.Figure:
    """One line per strategy: the median true rank of its incumbent after each training, its
    quartiles as a band; `judge` picks the judge seed (default: the first in the board)."""
    curves = [c for c in board["anytime"] if c["score"] == score and c.get("median")]
    judge = judge if judge is not None else (curves[0]["judge"] if curves else None)
    fig = go.Figure()
    for n, c in enumerate(x for x in curves if x["judge"] == judge):
        color = _color(c["strategy"], n)
        fig.add_trace(go.Scatter(x=c["trainings"] + c["trainings"][::-1], y=c["q75"] + c["q25"][::-1],
                                 fill="toself", fillcolor=_rgba(color, 0.12), line=dict(width=0),
                                 hoverinfo="skip", showlegend=False, legendgroup=c["strategy"]))
        fig.add_trace(go.Scatter(x=c["trainings"], y=c["median"], mode="lines", name=c["strategy"],
                                 line=dict(color=color, width=2), legendgroup=c["strategy"]))
    held = _judged(board, judge)
    fig.update_layout(title=f"True rank of the incumbent against trainings ({score} score; {held}; "
                            f"median and quartiles over {board['repeats']} replays)",
                      xaxis=dict(title="trainings spent"),
                      yaxis=dict(title=f"true rank of {board['cells']} (1: best)", autorange="reversed"),
                      height=420, margin=dict(l=60, r=20, t=60, b=50))
    return fig


def _judged(board: dict, judge) -> str:
    if board.get("truth"):
        return f"judged by {board['truth']}"
    return "held out: judged by table seed " + str(judge) if judge is not None else "in sample (one seed)"


def verdict_figure(rows: list[dict], score: str = "published") -> go.Figure:
    """P(at least as good as random search at equal budget), mean ± sd over the judge seeds, by
    budget, one line per strategy (summary() rows); 0.5 is what a second random search gets."""
    rows = [r for r in rows if r["score"] == score]
    fig = go.Figure()
    for n, name in enumerate(dict.fromkeys(r["strategy"] for r in rows)):
        mine = sorted((r for r in rows if r["strategy"] == name), key=lambda r: r["budget"])
        fig.add_trace(go.Scatter(x=[r["budget"] for r in mine], y=[r["p_mean"] for r in mine], name=name,
                                 mode="lines+markers", line=dict(color=_color(name, n)),
                                 error_y=dict(type="data", array=[r["p_sd"] or 0.0 for r in mine])))
    fig.add_hline(y=0.75, line=dict(dash="dot", color="#888888"), annotation_text="goal 0.75")
    fig.update_layout(title=f"P(pick at least as good as random search's, equal budget), {score} score, held out",
                      xaxis=dict(title="budget (trainings)"), yaxis=dict(title="P", range=[0, 1]),
                      height=420, margin=dict(l=60, r=20, t=60, b=50))
    return fig


def trainings_figure(record: dict) -> go.Figure:
    """A strategy run's trainings: each one's observed score (a diverged one at the bottom, marked
    x) and, as a line, the mean observed score of the incumbent after it (its diverged trainings
    left out: incumbent_means)."""
    trainings = record["trainings"]
    xs = list(range(1, len(trainings) + 1))
    scored = [t["score"] for t in trainings if t["score"] is not None]
    floor = min(scored, default=0.0) - 1.0
    incumbent = incumbent_means(trainings, record.get("incumbents") or [])
    fig = go.Figure(go.Scatter(
        x=xs, y=[floor if t["score"] is None else t["score"] for t in trainings], mode="markers", name="trained",
        marker=dict(symbol=["x" if t["score"] is None else "circle" for t in trainings], color="#1f77b4", size=8),
        hovertext=[f"{n}: {t['key']} (table seed {t['seed']}), score "
                   + ("diverged" if t["score"] is None else f"{t['score']:.2f}") for n, t in zip(xs, trainings)],
        hoverinfo="text"))
    fig.add_trace(go.Scatter(x=xs, y=incumbent, mode="lines", name="pick (its mean score)",
                             line=dict(color="#d62728", width=2, shape="hv")))
    fig.update_layout(title=f"{record['strategy']}: {len(trainings)} of {record['budget']} trainings",
                      xaxis=dict(title="training"), yaxis=dict(title="observed score"), height=360,
                      margin=dict(l=60, r=20, t=50, b=50))
    return fig


def fidelity_figure(report: dict) -> go.Figure:
    """Every cell at its true score under the cheap proxy (x) and under the longer one (y), coloured
    by edge count (report: space.fidelity.fidelity); a proxy that ranks as longer training does puts
    the points on a rising line."""
    cells = report["cells"]
    fig = go.Figure(go.Scatter(
        x=[c["cheap"] for c in cells], y=[c["longer"] for c in cells], mode="markers",
        marker=dict(color=[c["edges"] for c in cells], colorscale="Viridis", size=9, colorbar=dict(title="edges")),
        hovertext=[f"{c['key']}: {c['cheap']:.2f} cheap, {c['longer']:.2f} longer" for c in cells],
        hoverinfo="text"))
    changes = ", ".join(f"{n} {a} → {b}" for n, (a, b) in report["changes"].items())
    fig.update_layout(title=f"Each cell's true score, cheap against longer proxy ({changes}); "
                            f"Kendall tau {report['cross']['mean']:.2f}",
                      xaxis=dict(title=f"cheap proxy (mean of {report['cheap']['seeds']} seeds)"),
                      yaxis=dict(title=f"longer proxy (mean of {report['longer']['seeds']} seeds)"),
                      height=420, margin=dict(l=60, r=20, t=60, b=50))
    return fig
