"""Figures of the search-quality report and of the final training (Plotly).

- `quality_figure(report)`: test perplexity of the discovered cell, the random controls (same ops,
  random ops), the random search's pick, ShrinkRNN, DARTS and the LSTM: every run as a point over a
  box per group, the discovered cell's mean as a line, its rank and p-value in the title.
- `tau_figure(tau)`: proxy test perplexity against final-training test perplexity of each cell,
  with Kendall's tau (quality.report.proxy_final_tau).
- `pareto_figure(record)`: perplexity against flops of every candidate a search tried (its typed record),
  coloured by step, with the Pareto front (no other candidate both cheaper and better).
- `final_figure()` / `update_final(fig, history)`: train and valid perplexity per epoch of a final
  training, the ASGD phase shaded.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from ..core import formats
from ..core.cell import Cell
from ..core.formats import recipe
from ..core.record import SearchRecord
from ..core.stats import perplexity
from .figures import cells_figure

COLORS = {"discovered": "#d62728", "same ops": "#bcbd22", "random": "#7f7f7f", formats.SIZE_MATCHED: "#8c564b",
          "ShrinkRNN": "#1f77b4", "DARTS": "#2ca02c", "LSTM": "#9467bd"}


def _pm(entry: dict, key: str) -> str:
    """An entry's mean ± sd of `key` ("test" or "valid"); one finished run has no spread to show."""
    mean, done = entry[key], entry["runs"] - entry["failed"]
    if mean is None:
        return formats.MISSING
    return f"{formats.ppl(mean)} ± {formats.ppl(entry[key + '_sd'])}" if done > 1 else f"{formats.ppl(mean)} (one run)"


def quality_title(report: dict) -> str:
    summary = report["summary"]
    d, j = summary.get("entries", {}).get("discovered"), summary.get("discovered", {})
    if not d or d["test"] is None:
        return f"Test perplexity (lower is better; {recipe(report['config'])})"
    text = (f"discovered cell: test {_pm(d, 'test')} over {d['runs'] - d['failed']} "
            f"seed{'s' * (d['runs'] - d['failed'] != 1)}")
    if j.get("of", 1) > 1:
        text += (f"; rank {j['rank']} of {j['of']} among random cells, p = {formats.pvalue(j['p_value'])} "
                 f"(the least {j['of'] - 1} cells allow: {formats.pvalue(j.get('p_min'))})")
    return text + f"<br><sup>{recipe(report['config'])}, {report['trainings']} trainings per cell</sup>"


def quality_figure(report: dict) -> go.Figure:
    """Every run's test perplexity by group (points over boxes); failed runs are counted in the labels."""
    fig = go.Figure()
    groups = report["summary"]["groups"]
    for g in groups:
        runs = [r for r in report["records"] if r["group"] == g]
        done = [r for r in runs if r.get("test_ppl") is not None]
        if not runs:
            continue
        cells = len({r["name"] for r in runs})
        label = f"{g} ({cells} cells)" if cells > 1 else g
        label += f", {groups[g]['failed']} failed" if groups[g]["failed"] else ""
        fig.add_trace(go.Box(
            name=label, y=[r["test_ppl"] for r in done], boxpoints="all", jitter=0.4, pointpos=0,
            marker=dict(color=COLORS[g], size=8, opacity=0.8), line=dict(color=COLORS[g]),
            text=[f"{r.get('cell_name', r['name'])}, seed {r['seed']}, valid {formats.ppl(r['ppl'])}" for r in done],
            hovertemplate="%{text}<br>test ppl %{y:.2f}<extra></extra>"))
    mine = report["summary"].get("entries", {}).get("discovered", {}).get("test")
    if mine is not None:
        fig.add_hline(y=mine, line=dict(color=COLORS["discovered"], dash="dash", width=1),
                      annotation_text=f"discovered<br>mean {mine:.2f}", annotation_position="right")
    fig.update_layout(title=dict(text=quality_title(report), x=0.02, font=dict(size=14)),
                      yaxis_title=f"proxy perplexity (test; {recipe(report['config'])})", showlegend=False,
                      width=820, height=480, plot_bgcolor="white", margin=dict(l=60, r=110, t=80, b=40))
    fig.update_xaxes(range=[-0.8, len(fig.data) - 0.2])   # the first and last boxes clear of the axes
    fig.update_yaxes(gridcolor="#e5e5e5")
    return fig


def tau_figure(tau: dict) -> go.Figure:
    """Each cell's proxy test perplexity against its final training's, with Kendall's tau in the title."""
    fig = go.Figure(go.Scatter(
        x=tau["proxy"], y=tau["final"], mode="markers+text", text=tau["names"], textposition="top center",
        marker=dict(size=10, color=[COLORS.get(n if n in COLORS else n.rsplit(" ", 1)[0], "#7f7f7f")
                                    for n in tau["names"]]),
        hovertemplate="%{text}<br>proxy %{x:.2f}<br>final %{y:.2f}<extra></extra>"))
    t = formats.MISSING if tau["tau"] is None else f"{tau['tau']:.2f}"
    fig.update_layout(title=dict(text=f"Does the proxy rank cells as the final training does? Kendall's tau {t} "
                                      f"({len(tau['names'])} cells)", x=0.02, font=dict(size=14)),
                      xaxis_title="proxy perplexity (test, mean over seeds)",
                      yaxis_title="final training perplexity (test)",
                      width=820, height=460, plot_bgcolor="white", margin=dict(l=60, r=20, t=60, b=50))
    fig.update_xaxes(gridcolor="#e5e5e5")
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


def search_points(record: SearchRecord) -> list[dict]:
    """Every candidate the search trained (not diverged): step, edge removed, flops, ppl; and the final cell."""
    pts = [{"step": s.step, "edge": c.edge, "flops": c.flops, "ppl": c.ppl}
           for s in record.steps for c in s.candidates if c.ppl is not None]
    if record.final is not None and record.final.ppl is not None:
        pts.append({"step": "final", "edge": None, "flops": record.final.flops, "ppl": record.final.ppl})
    return pts


def discovered_point(record: SearchRecord) -> dict | None:
    """The discovered cell's point: the best step's chosen candidate (its removed edge), None before one."""
    best = record.best
    step = record.step_record(best.step) if best else None
    chosen = [c for c in (step.candidates if step else []) if c.edge in (step.removed or [])]
    return {"step": best.step, "flops": chosen[0].flops, "ppl": chosen[0].ppl} if chosen else None


def pareto_figure(record: SearchRecord) -> go.Figure:
    """Perplexity against flops of every candidate the search (its typed record) tried, the Pareto
    front and the discovered cell."""
    pts = search_points(record)
    tried = [p for p in pts if p["step"] != "final"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="candidates", mode="markers", x=[p["flops"] for p in tried], y=[p["ppl"] for p in tried],
        text=[f"step {p['step']}, removing {p['edge'][0]}->{p['edge'][1]}" for p in tried],
        hovertemplate="%{text}<br>flops %{x:,}<br>ppl %{y:.1f}<extra></extra>",
        marker=dict(size=9, color=[p["step"] for p in tried], colorscale="Viridis", opacity=0.8,
                    colorbar=dict(title=dict(text="step"), thickness=12, tick0=0,
                                  dtick=max(1, math.ceil(len(record.steps) / 10))))))
    front = pareto_front([(p["flops"], p["ppl"]) for p in pts])
    fig.add_trace(go.Scatter(name="Pareto front", mode="lines+markers", x=[f for f, _ in front],
                             y=[p for _, p in front], line=dict(color="#d62728", shape="hv", width=2),
                             marker=dict(size=5, color="#d62728")))
    best = discovered_point(record)
    if best:
        fig.add_trace(go.Scatter(name=f"discovered cell (after step {best['step']})", mode="markers",
                                 x=[best["flops"]], y=[best["ppl"]],
                                 marker=dict(symbol="star", size=16, color="#ff7f0e",
                                             line=dict(color="black", width=1))))
    fig.update_layout(title=dict(text=f"Every candidate of the search ({len(tried)}): perplexity against flops",
                                 x=0.02, font=dict(size=14)),
                      xaxis_title="flops (live edges x nhid²)",
                      yaxis_title=f"proxy perplexity (valid; {recipe(record.config)})",
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
    train = [perplexity(r["train_loss"]) for r in history]
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


def _better(improvement) -> str:
    if improvement is None:
        return formats.MISSING
    return f"{abs(100 * improvement):.1f}% {'lower' if improvement >= 0 else 'higher'} test perplexity"


def summary_markdown(report: dict) -> str:
    """The report as a Markdown table (one row per group) and the verdict's lines, with its training recipe."""
    s, cfg = report["summary"], report["config"]
    lines = [f"Training recipe: {recipe(cfg)}, {report['trainings']} trainings per cell; ranks and the p-value on "
             "test.", "",
             "| entry | cells | runs (failed) | test ppl, mean ± sd | valid ppl, mean ± sd |",
             "| --- | --- | --- | --- | --- |"]
    for g in s["groups"]:
        e = s["groups"][g]
        if e["runs"]:
            cells = len({n for n, x in s["entries"].items() if x["group"] == g})
            lines.append(f"| {g} | {cells} | {e['runs']} ({e['failed']}) | {_pm(e, 'test')} | "
                         f"{_pm(e, 'valid')} |")
    d = s.get("discovered")
    if d:
        lines += ["", f"- rank {d['rank']} of {d['of']} among random cells on test "
                      f"(validation: rank {d['rank_valid']}); "
                      f"rank {d['rank_same_ops']} of {d['of_same_ops']} among cells with its ops and random edges",
                  f"- against the random cells' mean {formats.ppl(d['random_mean'])}: {_better(d['improvement'])} "
                  f"(one-sided permutation p over cells = {formats.pvalue(d['p_value'])}; with {d['of'] - 1} "
                  f"random cells no p can go below {formats.pvalue(d.get('p_min'))})"]
        if "random_search" in d:
            lines.append(f"- {formats.SIZE_MATCHED} {_budget_words(report)}, best by validation: "
                         f"{report['winner']}): test {formats.ppl(d['random_search'])}; the discovered cell "
                         f"{'beats' if d['beats_random_search'] else 'does not beat'} it")
        lines[1:1] = ["", verdict_line(report)]
    return "\n".join(lines + truth_lines(report.get("truth")))


def _budget_words(report: dict) -> str:
    """Random search's budget, saying whether it is the search's or was set by hand (open parenthesis)."""
    if report.get("budget_given"):
        return (f"with a budget set by hand ({report['budget']} cells; the search trained "
                f"{report.get('search_budget', formats.MISSING)}")
    return f"at the search's budget ({report['budget']} cells"


def verdict_line(report: dict) -> str:
    """The report's verdict in one line: the rank among random cells, against random search, and
    the true rank in a space table when one was given."""
    d = report["summary"]["discovered"]
    parts = [f"rank {d['rank']} of {d['of']} among random cells of its size on test "
             f"(p = {formats.pvalue(d['p_value'])})"]
    if "random_search" in d:
        budget = "a budget set by hand" if report.get("budget_given") else "the search's budget"
        parts.append(f"{'beats' if d['beats_random_search'] else 'does not beat'} {formats.SIZE_MATCHED} at {budget} "
                     f"({report['budget']} cells)")
    truth = report.get("truth")
    if truth:
        a = truth["discovered"]["all"]
        parts.append(f"true rank {a['rank_score']} of {a['of']} by score in the space table "
                     f"({truth['seeds']} seed(s))")
    return "**Verdict**: the discovered cell " + "; ".join(parts) + "."


def truth_lines(truth: dict | None) -> list[str]:
    """The truth a space table gives a report (space.truth.search_truth) as Markdown lines."""
    if not truth:
        return []
    d, a, same = truth["discovered"], truth["discovered"]["all"], truth["discovered"]["same_edges"]
    lines = ["", f"Ground truth from a space table ({truth['cells']} cells x {truth['seeds']} seeds, means over the "
                 f"seeds{'' if truth['complete'] else '; the table is not complete'}):",
             f"- the discovered cell ({d['edges']} edges): rank {a['rank_score']} of {a['of']} by true score "
             f"(beats {a['percentile_score']:.0f}% of the others), rank {a['rank_test']} of {a['of']} by test ppl "
             f"({formats.ppl(d['test_ppl'])}); among the {same['of']} cells of its size: rank {same['rank_score']} by "
             f"score, {same['rank_test']} by test ppl"]
    for g in truth["steps"]:
        if g["rank"] is not None:
            lines.append(f"- step {g['step']}: removed {g['removed'][0]}→{g['removed'][1]}, true rank {g['rank']} of "
                         f"{g['of']} candidates, regret {formats.score(g['regret'])} score points")
    return lines


def spread_figure(spread: dict, cols: int = 3):
    """The discovered cells of the same search under several run seeds, side by side, with their
    edge overlap in the title."""
    cells = {f"seed {seed}": Cell.from_dict(r["cell"]) for seed, r in spread["runs"].items()}
    fig = cells_figure(cells, cols=cols)
    sd = "" if spread["overlap_sd"] is None else f" ± {spread['overlap_sd']:.2f}"
    overlap = formats.MISSING if spread["overlap"] is None else f"{spread['overlap']:.2f}{sd}"
    fig.update_layout(title=dict(text=f"The same search under {len(cells)} run seeds: "
                                      f"edge overlap (Jaccard) {overlap}, "
                                      f"{len(spread['common'])} edges in every cell", x=0.02, font=dict(size=14)),
                      margin=dict(l=10, r=10, t=70, b=10))
    return fig
