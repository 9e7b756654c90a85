"""Searches side by side (branches, seeds, settings, other strategies' runs): their step curves
overlaid, the incumbent against trainings spent, their discovered cells (a strategy's pick) as one
DAG diff, and their settings with the differences marked; in a notebook or as one offline HTML page.

    records = read_searches(["runs/a", "runs/local"])  # name -> SearchRecord, or StrategyRecord for a strategy run
    curves_overlay(records)                            # best score, best ppl, cost against edges left (searches)
    anytime_overlay(records)                           # the incumbent's observed score against trainings
    cell_diff_figure(records)                          # edges in both, only in the first, only in the second
    settings_rows(records)                             # [{"setting", "runs/a", "runs/b", "differs"}]
    settings_parallel(records)                         # the settings that differ against best ppl, one line each
    write_comparison(["runs/a", "runs/b"], "compare.html")   # `python -m autoshrink compare A B --out F`
"""
from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core import formats
from ..core.cell import Cell
from ..core.errors import ConfigError
from ..core.record import SearchRecord, StrategyRecord, holds_strategy_run, read_state
from .figures import budget_changes, copied_steps, dag_figure
from .page import write_page
from .series import step_series

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
DIFF = {"both": ("#3b6ea8", "solid"), "first": ("#d62728", "dash"), "second": ("#2ca02c", "dot")}


def read_searches(saves) -> dict[str, SearchRecord | StrategyRecord]:
    """Each save folder's record, by its folder name as given (two at least): a search's, or a
    strategy run's (a folder with strategy.json and no search.json)."""
    saves = [str(s) for s in saves]
    if len(saves) < 2:
        raise ConfigError(f"compare needs two or more search folders, got {len(saves)}; name another --save folder")
    return {s: _read(s) for s in saves}


def _read(save: str):
    return StrategyRecord.read(save) if holds_strategy_run(save) else SearchRecord.read(save)


def incumbent_series(record) -> tuple[list[int], list]:
    """The incumbent's observed score against trainings spent: for a search, after each finished
    step (its candidates and retests counted) the best step's score so far; for a strategy run,
    after each training its pick's mean observed score."""
    if isinstance(record, StrategyRecord):
        scores = record.incumbent_scores()
        return list(range(1, len(scores) + 1)), scores
    xs, ys, spent, best = [], [], 0, None
    for s in record.done_steps():
        spent += len(s.candidates) + (len(s.retests.runs) if s.retests else 0)
        if s.best_score is not None and (best is None or s.best_score > best):
            best = s.best_score
        xs.append(spent)
        ys.append(best)
    return xs, ys


def anytime_overlay(records) -> go.Figure:
    """One line per run: the observed score of what it would answer with now, against the
    trainings it has spent (a search's after each step, a strategy's after each training)."""
    fig = go.Figure()
    for k, (name, record) in enumerate(records.items()):
        xs, ys = incumbent_series(record)
        fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="lines+markers", line=dict(
            color=COLORS[k % len(COLORS)], shape="hv")))
    fig.update_layout(title="The incumbent's observed score against trainings spent",
                      xaxis=dict(title="trainings spent (retests included)"), yaxis=dict(title="observed score"),
                      width=880, height=340, margin=dict(l=60, r=20, t=50, b=50))
    return fig


def parent_config(save, record: SearchRecord | None) -> dict | None:
    """The settings of the search a branch (the record in `save`) was copied from; None for a
    search of its own, or when its parent's record is gone."""
    parent = record.parent if record is not None else None
    if not parent or save is None:
        return None
    try:
        return read_state(Path(save) / parent["save"])["config"]
    except (ConfigError, KeyError):
        return None


def curves_overlay(records: dict[str, SearchRecord]) -> go.Figure:
    """Best score and best ppl per step, and mean cost against edges left, one colour per search;
    the steps a branch copied from its parent are hollow (the legend says which were trained otherwise)."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("best score per step", "best ppl per step",
                                                        "mean flops against edges left"))
    for k, (name, record) in enumerate(records.items()):
        s, color = step_series(record), COLORS[k % len(COLORS)]
        copied = copied_steps(record)
        symbols = ["circle-open" if step in copied else "circle" for step in s["step"]]
        for col, (x, y) in enumerate(((s["step"], s["best_score"]), (s["step"], s["best_ppl"]),
                                      (s["edges_left"], s["mean_flops"])), 1):
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=_legend(name, record), legendgroup=name,
                                     showlegend=col == 1, line=dict(color=color),
                                     marker=dict(symbol=symbols, size=8)), row=1, col=col)
    fig.update_xaxes(title_text="step", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text="step", dtick=1, row=1, col=2)
    fig.update_xaxes(title_text="edges left", autorange="reversed", dtick=1, row=1, col=3)
    fig.update_layout(width=880, height=360, plot_bgcolor="white", margin=dict(l=50, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def _legend(name: str, record: SearchRecord) -> str:
    """A search's legend entry: its name, and for a branch its copied steps and how they were trained."""
    copied = copied_steps(record)
    if not copied:
        return name
    parent = parent_config(name, record)
    changed = budget_changes(parent, record.config) if parent else []
    how = f", trained with {', '.join(changed)}" if changed else ""
    return f"{name} (hollow: {len(copied)} step{'s' * (len(copied) != 1)} copied from its parent{how})"


def cell_diff_figure(records: dict[str, SearchRecord], which: str = "best") -> go.Figure:
    """The first two searches' discovered cells as one DAG: edges in both, only in the first, only in
    the second (pruned cells; the node ops are the first's, and the title says if they differ)."""
    (name_a, a), (name_b, b) = list(records.items())[:2]
    cell_a, cell_b = a.cell_of(which).prune(), b.cell_of(which).prune()
    if cell_a.nodes != cell_b.nodes:
        raise ConfigError(f"{name_a} has {cell_a.nodes} nodes and {name_b} {cell_b.nodes}: their cells cannot be "
                          f"drawn as one; compare searches of one search space")
    ea, eb = set(cell_a.edges), set(cell_b.edges)
    union = Cell.from_edges(sorted(ea | eb), cell_a.ops)
    ops = "" if cell_a.ops == cell_b.ops else f"; ops differ ({', '.join(cell_b.ops)} in {name_b})"
    more = f" (the first two of {len(records)} searches)" if len(records) > 2 else ""
    fig = dag_figure(union, title=f"{name_a}: {len(ea)} edges, {name_b}: {len(eb)} edges, {len(ea & eb)} in both"
                                  f"{ops}{more}")
    for (i, j) in union.edges:
        color, dash = DIFF["both" if (i, j) in ea & eb else "first" if (i, j) in ea else "second"]
        fig.update_traces(selector=dict(name=f"edge {i}->{j}"), line=dict(color=color, dash=dash),
                          marker=dict(color=color))
    fig.update_traces(selector=lambda t: t.legendgroup in ("live", "training", "tried", "removed", "pruned"),
                      showlegend=False)
    for key, label in (("both", "in both"), ("first", f"only in {name_a}"), ("second", f"only in {name_b}")):
        color, dash = DIFF[key]
        fig.add_trace(go.Scatter(name=label, x=[None], y=[None], mode="lines", line=dict(color=color, dash=dash)))
    return fig


def _setting(record: SearchRecord, key: str):
    """A search's setting as it ran: ops drawn from the seed (ops None) are its cell's ops."""
    if key == "strategy":
        return record.strategy if isinstance(record, StrategyRecord) else "autoshrink"
    value = record.config.get(key)
    return ",".join(record.cell["ops"]) if key == "ops" and value is None else value


def settings_rows(records: dict[str, SearchRecord]) -> list[dict]:
    """Every setting of the searches side by side; `differs` marks those not equal in all. With a
    strategy run among them, the strategy comes first (the search's is autoshrink)."""
    names = sorted({k for st in records.values() for k in st.config})
    rows = []
    if any(isinstance(st, StrategyRecord) for st in records.values()):
        names = ["strategy", *names]
    for key in names:
        values = [_setting(st, key) for st in records.values()]
        rows.append({"setting": key, **{name: v for name, v in zip(records, values)},
                     "differs": any(v != values[0] for v in values)})
    return rows


PATH_SETTINGS = ("data", "emb_path", "save", "ray_address")   # where, not what: left out of the parallel view


def _axis(label: str, values: list) -> dict:
    """One parallel-coordinates axis: numbers as they are, anything else as categories in first-seen order."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return dict(label=label, values=values)
    names = list(dict.fromkeys(str(v) for v in values))
    return dict(label=label, values=[names.index(str(v)) for v in values], tickvals=list(range(len(names))),
                ticktext=names)


def settings_parallel(records: dict[str, SearchRecord]) -> go.Figure:
    """Parallel coordinates: one line per search that has a best cell, an axis per setting that
    differs between them (the seed when none does), then the best cell's edges and proxy ppl, the
    line coloured by that ppl (lower is better)."""
    ppls = {n: st.best_ppl() for n, st in records.items()}
    scored = {n: st for n, st in records.items() if ppls[n] is not None}
    if not scored:
        raise ConfigError("none of these searches has a scored step yet; Step one of them first")
    every = settings_rows(scored)
    rows = [r for r in every if r["differs"] and r["setting"] not in PATH_SETTINGS]
    rows = rows or [r for r in every if r["setting"] == "seed"]
    ppl = [ppls[n] for n in scored]
    dims = [_axis(r["setting"], [r[n] for n in scored]) for r in rows]
    dims += [_axis("edges", [Cell.from_dict(st.best_step().cell).n_edges for st in scored.values()]),
             _axis("best ppl", ppl)]
    fig = go.Figure(go.Parcoords(dimensions=dims, line=dict(color=ppl, colorscale="Viridis_r", showscale=True,
                                                            colorbar=dict(title="best ppl"))))
    left = len(records) - len(scored)
    fig.update_layout(title=f"{len(scored)} searches: settings against the discovered cell's proxy ppl"
                            + (f" ({left} without a scored step left out)" if left else ""),
                      width=880, height=380, margin=dict(l=60, r=40, t=70, b=30))
    return fig


def settings_html(records: dict[str, SearchRecord]) -> str:
    """The settings table, the differing rows in bold on a yellow ground."""
    head = "".join(f"<th style='padding:2px 8px'>{html.escape(n)}</th>" for n in records)
    body = []
    for r in settings_rows(records):
        style = " style='font-weight:bold;background:#fff3c4'" if r["differs"] else ""
        cells = "".join(f"<td style='padding:2px 8px'>{html.escape(formats.value(r['setting'], r[n]))}</td>"
                        for n in records)
        body.append(f"<tr{style}><td style='padding:2px 8px'>{html.escape(r['setting'])}</td>{cells}</tr>")
    return (f"<table style='border-collapse:collapse'><thead><tr><th style='padding:2px 8px'>setting</th>{head}"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table>")


def write_comparison(saves, path, which: str = "best") -> Path:
    """The curves, the cell diff (the first two) and the settings of the searches in one offline HTML page."""
    records = read_searches(saves)
    figures = [curves_overlay(records), anytime_overlay(records), cell_diff_figure(records, which)]
    return write_page(path, "Searches compared", figures,
                      head=f"<h2>{' vs '.join(html.escape(s) for s in records)}</h2>",
                      tail="<h3>Settings (differences in bold)</h3>" + settings_html(records))
