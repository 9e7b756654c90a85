"""matplotlib pictures written to files (in plot/, a "picture" is matplotlib, a "figure" Plotly):
the seed's curves of a search (`save_curves`, the PNG files the search writes after every step) and
the static diagram of a cell (`draw_cell`, used by export). matplotlib is used through Figure +
FigureCanvasAgg only (no pyplot), so it works headless and in threads.
"""
from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import EngFormatter, MaxNLocator

from ..core.cell import OPS, Cell
from ..core.record import SearchRecord
from .layout import INPUTS, NODE_FILL, OUTPUT, arc_extent, cell_graph
from .series import step_series

_CURVES = (  # file, series, title, y label
    ("best_perf_log.png", "best_score", "Best score per shrink step", "best score"),
    ("mean_score_log.png", "mean_score", "Mean score per shrink step", "mean score"),
    ("mean_ppl_log.png", "mean_ppl", "Mean perplexity per shrink step", "mean perplexity"),
    ("best_ppl_log.png", "best_ppl", "Best (lowest) perplexity per shrink step", "best perplexity"),
    ("mean_cost_log.png", "mean_flops", "Mean cost per shrink step", "mean flops (edges x nhid²)"),
)


def _subtitle(record: SearchRecord | None) -> str:
    cfg = record.config if record is not None else {}
    bits = [f"{k} {cfg[k]}" for k in ("seed", "nodes", "nhid", "epochs") if k in cfg]
    return ", ".join(bits)


def curve_picture(record: SearchRecord | None, key: str, title: str, ylabel: str) -> Figure:
    """One matplotlib curve of the search record against edges left (fewer edges to the right)."""
    s = step_series(record)
    fig = Figure(figsize=(6.4, 4.2), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    sub = _subtitle(record)
    ax.set_title(title + (f"\n{sub}" if sub else ""), fontsize=11)
    ax.set_xlabel("edges left  (the search proceeds to the right)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    x, y = s["edges_left"], s[key]
    finite = [(a, b) for a, b in zip(x, y) if not (math.isnan(a) or math.isnan(b))]
    if not x:
        ax.text(0.5, 0.5, "no finished shrink steps yet", transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    ax.plot(x, y, "o-", color="#3b6ea8", lw=1.8, ms=5)
    ax.set_xlim(max(x) + 0.5, min(x) - 0.5)
    if len(x) <= 20:
        ax.set_xticks(sorted(set(int(v) for v in x)))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if key == "mean_flops":
        ax.yaxis.set_major_formatter(EngFormatter())
    for k, xv in enumerate(a for a, b in zip(x, y) if math.isnan(b)):
        ax.axvline(xv, color="#d62728", ls=":", lw=1.2, label="no value: every candidate diverged" if k == 0 else None)
    if not finite:
        ax.set_yticks([])
    elif key == "best_score":
        bx, by = max(finite, key=lambda p: p[1])
        ax.plot([bx], [by], marker="*", ms=16, color="#ff7f0e", zorder=3, ls="none",
                label=f"best: {by:.2f} at {int(bx)} edges")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=9)
    return fig


def save_curves(record: SearchRecord | None, folder) -> dict[str, Path]:
    """Write best_perf_log.png, mean_score_log.png, mean_ppl_log.png, best_ppl_log.png and
    mean_cost_log.png into `folder`; with no finished step each says so. Returns name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, key, title, ylabel in _CURVES:
        fig = curve_picture(record, key, title, ylabel)
        fig.savefig(folder / name)
        out[name] = folder / name
    return out


def _box(ax, xy, text, fill, edge="#333333", alpha=1.0, dashed=False, width=0.76, height=0.32, size=10.5):
    x, y = xy
    box = FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0,rounding_size=0.08",
                         fc=fill, ec=edge, lw=1.3, ls="--" if dashed else "-", alpha=alpha, zorder=3)
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=4, alpha=max(alpha, 0.5))
    return box


def _arrow(ax, p0, p2, rad, box0, box2, color, ls="-", lw=1.4):
    ax.annotate("", xy=p2, xytext=p0, zorder=2,
                arrowprops=dict(arrowstyle="-|>", connectionstyle=f"arc3,rad={rad}", patchA=box0, patchB=box2,
                                shrinkA=1, shrinkB=1, color=color, lw=lw, ls=ls, mutation_scale=14))


def draw_cell(cell: Cell, ax=None, title=None) -> Figure:
    """A static diagram of the cell: labelled nodes coloured by op, arrows, inputs and output."""
    g = cell_graph(cell)
    n = cell.nodes
    low, high = arc_extent([round(g.nodes[v]["pos"][0] - g.nodes[u]["pos"][0]) for u, v in g.edges])
    low, high = min(low, -0.5), max(high, 0.5)
    if ax is None:
        width, height = n + 2.2, high - low + 1.0 + (0.3 if title is None else 0.55)
        fig = Figure(figsize=(1.25 * width, 1.25 * height), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0, 0, 1, 1])
    fig = ax.figure
    ax.set_xlim(-0.6, n + 1.6)
    ax.set_ylim(low - 0.7, high + (0.3 if title is None else 0.55))
    ax.set_aspect("equal")
    ax.axis("off")
    tex = {INPUTS[0]: "$x_t$", INPUTS[1]: "$h_{t-1}$", OUTPUT: "$h_t$"}
    boxes = {}
    for v, d in g.nodes(data=True):
        if d["kind"] != "node":
            boxes[v] = _box(ax, d["pos"], tex[v], NODE_FILL["io"], width=0.62, size=13)
        else:
            boxes[v] = _box(ax, d["pos"], d["label"], NODE_FILL[d["op"]], alpha=1.0 if d["reachable"] else 0.4,
                            dashed=not d["reachable"])
    for u, v, d in g.edges(data=True):
        dead = d["kind"] == "dead"
        _arrow(ax, g.nodes[u]["pos"], g.nodes[v]["pos"], d["rad"], boxes[u], boxes[v],
               color="#aaaaaa" if dead else "#333333", ls=":" if dead else "-")
    used = sorted({cell.ops[i] for i in range(1, n)}, key=OPS.index)
    handles = [Patch(fc=NODE_FILL["init"], ec="#333333", label="init state (node 0)")]
    handles += [Patch(fc=NODE_FILL[o], ec="#333333", label=o) for o in used]
    if cell.dead_edges():
        handles.append(Line2D([], [], color="#aaaaaa", ls=":", label="dead edge"))
    ax.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=10,
              bbox_to_anchor=(0.5, 0.0), handlelength=1.4, columnspacing=1.2)
    if title is not None:
        ax.set_title(title, fontsize=12, y=0.97)
    return fig


def anytime_picture(anytime: list[dict], cells: int, repeats: int, path, title: str) -> Path:
    """The anytime curves of a leaderboard (space.leaderboard's "anytime" entries) as one PNG, a
    panel per score: per strategy, the incumbent's true rank after each training, the median over
    replays averaged over the judge seeds, with the quartiles (so averaged) as a band."""
    scores = list(dict.fromkeys(c["score"] for c in anytime if c.get("median")))
    fig = Figure(figsize=(6.4 * len(scores), 4.4), dpi=110, layout="constrained")
    for k, score in enumerate(scores):
        ax = fig.add_subplot(1, len(scores), k + 1)
        for name in dict.fromkeys(c["strategy"] for c in anytime):
            mine = [c for c in anytime if c["strategy"] == name and c["score"] == score and c.get("median")]
            if not mine:
                continue
            x = mine[0]["trainings"]
            avg = {q: [sum(c[q][i] for c in mine) / len(mine) for i in range(len(x))] for q in ("q25", "median", "q75")}
            line, = ax.plot(x, avg["median"], label=name, lw=1.8)
            ax.fill_between(x, avg["q25"], avg["q75"], color=line.get_color(), alpha=0.12, lw=0)
        ax.invert_yaxis()
        ax.set(xlabel="trainings spent", ylabel=f"true rank of the incumbent (of {cells}; 1 best)",
               title=f"{score} score")
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: median (band: quartiles) over {repeats} replays, averaged over the held-out judges")
    FigureCanvasAgg(fig).print_png(str(path))
    return Path(path)
