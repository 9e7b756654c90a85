"""The lab's views: a search record (and the runner's progress) turned into what the panel shows,
as plain values, HTML strings and Plotly figures. No widgets and no threads, so each is a pure
function that a test can call with a hand-made record.

Positions are those of the history slider: 0 is the start, k is "after step k-1", and the last
one is the step in progress (or the final cell once the search has finished).
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from ..core import formats
from ..core.cell import Cell
from ..core.config import SearchConfig
from ..core.record import SearchRecord, Step
from ..core.rules import candidate_seed
from ..plot import best_step, candidates_table, cell_at, edge_states_at

COLUMNS = [("rank", "#"), ("edge", "edge removed"), ("ppl", "ppl"), ("flops", "flops"), ("score", "score"),
           ("seconds", "seconds"), ("note", "")]
UNKNOWN_TIME = "estimate: unknown until the first candidate"


@dataclass
class View:
    """What the DAG, its title and the candidates table show at one slider position."""
    cell: Cell | None
    states: dict          # edge -> its state record (see plot.edge_states_at)
    step: Step | None     # the step whose candidates the table lists
    title: str
    best: bool = False    # this position shows the best cell


def n_edges(n) -> str:
    return f"{n} edge{'s' * (n != 1)}"


def cell_text(key: str, v) -> str:
    """A table cell: the quantity `key` names in its one format (formats.py), anything else as text."""
    return html.escape(formats.value(key, v))


def edge_text(e) -> str:
    return f"{e[0]}→{e[1]}"


def set_options(widget, options, value) -> None:
    """Give a Dropdown or SelectMultiple new options and its value in one message to the page: set
    apart, the page would get options fewer than its selected index and fail ("Cannot set properties
    of undefined (setting 'selected')")."""
    with widget.hold_sync():
        widget.options = options
        widget.value = value


def file_size(nbytes: int) -> str:
    """A file's size as a list shows it: "412 bytes", "3.4 kB", "120 kB", "2.1 MB"."""
    if nbytes < 1024:
        return f"{nbytes} byte{'s' * (nbytes != 1)}"
    kb = nbytes / 1024
    if kb < 10:
        return f"{kb:.1f} kB"
    return f"{kb:.0f} kB" if kb < 1024 else f"{kb / 1024:.1f} MB"


def error_line(e) -> str:
    """A panel's one-line error: the message in red behind a warning sign."""
    return f"<span style='color:#c00'>⚠ {html.escape(str(e))}</span>"


def html_table(rows: list[dict], columns: list[tuple[str, str]], empty: str = "nothing yet") -> str:
    """An HTML table of `rows` (dicts) with `columns` (key, header); each quantity in its format (formats.py)."""
    if not rows:
        return f"<i style='color:#777'>{html.escape(empty)}</i>"
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{html.escape(h)}</th>" for _, h in columns)
    body = []
    for r in rows:
        cells = "".join(f"<td style='padding:2px 8px;text-align:{'left' if isinstance(r.get(k), str) else 'right'}'>"
                        f"{cell_text(k, r.get(k))}</td>" for k, _ in columns)
        body.append(f"<tr style='{r.get('_style', '')}'>{cells}</tr>")
    return (f"<table style='border-collapse:collapse;font-size:12px'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def history_length(record: SearchRecord | None) -> int:
    return len(record.done_steps()) if record else 0


def best_position(record: SearchRecord | None) -> int | None:
    """The slider position of the best cell (after the best step), None while there is none."""
    k = best_step(record)
    return None if k is None else k + 1


def best_mark(record: SearchRecord) -> str:
    return f"★ best (score {formats.score(record.best.score)})"


def view_at(record: SearchRecord | None, position: int, training=(), preview: Cell | None = None) -> View:
    """The view at a slider position; `training` edges show as in training in the step in
    progress; with no search yet, `preview` (the cell a search would start from) is shown."""
    if record is None:
        where = f"{n_edges(preview.n_edges)}, fully connected" if preview else "— edges"
        return View(preview, {}, None, f"start: {where}")
    steps, n_done = record.steps, history_length(record)
    if position >= n_done and record.pending:
        where, index = f"step {len(steps) - 1} in progress", -1
    elif position == 0:
        where, index = "start", None
    else:
        where, index = f"after step {position - 1}", position - 1
    cell, states = cell_at(record, index), edge_states_at(record, index)
    if index == -1:
        for e in training:
            states[e] = {**states.get(e, {}), "state": "training", "step": len(steps) - 1}
    if position >= n_done and record.final is not None:
        where = f"final cell (ppl {formats.ppl(record.final.ppl)})"
        states = {e: s for e, s in states.items() if s["state"] != "tried"}  # what is left is the cell
    best = index is not None and index >= 0 and position == best_position(record)
    if best:
        where += " " + best_mark(record)
    step = steps[index] if index is not None else None
    return View(cell, states, step, f"{where}: {n_edges(cell.n_edges)}", best)


def slider_note(record: SearchRecord | None, position: int, title: str) -> str:
    """The text beside the history slider: what it shows, and where the best cell is."""
    text = html.escape(title)
    best = best_position(record)
    if best is not None and best != position:
        text += f" <span style='color:#b35900'>· ★ best cell: after step {best - 1}</span>"
    return text


def candidates_html(step: Step | None, training=()) -> str:
    """The candidates of one step, best first, then those still waiting (or in training)."""
    if step is None:
        return html_table([], [], "no step yet")
    removed = {tuple(e) for e in step.removed or []}
    rows = []
    for rank, r in enumerate(candidates_table(step), 1):
        note = "removed" if r["edge"] in removed else ("diverged" if r["diverged"] else "")
        if r["halved"]:
            note = f"stopped at epoch {r['epochs']} (halving)"
        if r["seeds"] > 1:
            spread = f"{r['seeds']} seeds: {formats.score(r['mean_score'])} ± {formats.score(r['sd_score'])}"
            note = f"{note}, {spread}" if note else spread
        rows.append({**r, "rank": rank, "edge": edge_text(r["edge"]), "note": note,
                     "_style": "font-weight:bold" if note == "removed" else ""})
    tried = {tuple(c.edge) for c in step.candidates}
    for e in map(tuple, step.order):
        if e not in tried:
            rows.append({"edge": edge_text(e), "note": "training" if e in training else "waiting",
                         "_style": "color:#999"})
    return html_table(rows, COLUMNS)


def status_html(phase: str, record: SearchRecord | None, cfg: SearchConfig | None, save_dir=None) -> str:
    """The status line: phase · steps · edges left · target · save folder."""
    if record is None:
        edges = cfg.full_edges if cfg else "—"
        target = cfg.threshold if cfg else "—"
    else:
        edges = Cell.from_dict(record.cell).n_edges
        target = SearchConfig.from_dict(record.config).threshold
    where = f" · save: {html.escape(str(save_dir))}" if record is not None and save_dir is not None else ""
    return (f"<b>{html.escape(phase)}</b> · "
            f"<span class='autoshrink-steps'>steps: {history_length(record)}</span> · "
            f"<span class='autoshrink-edges'>edges left: {edges}</span> · "
            f"target: {target} edges{where}")


def training_title(step, edge, done: bool = False) -> str:
    if edge is None:
        return "the final cell, trained" if done else "training the final cell"
    return f"{'trained' if done else 'training'}: step {step}, without edge {edge_text(edge)}"


def training_view(record: SearchRecord | None, progress) -> tuple[str, list]:
    """The training figure's title and curve: the candidate the runner shows while it trains
    (`progress`, a runner.Progress), else the last training the record holds: the final cell's
    once the search has finished, else the last candidate trained."""
    shown = progress.shown
    if shown is not None and progress.curves.get(shown):
        step = record.steps[-1].step if record and record.steps else 0
        return training_title(step, None if shown == "final" else shown), progress.curves[shown]
    if record is None:
        return "training", []
    if record.final:
        return training_title(None, None, done=True), record.final.curve or []
    for step in reversed(record.steps):
        if step.candidates:
            last = step.candidates[-1]
            return training_title(step.step, tuple(last.edge), done=True), last.curve or []
    return "training", []


def candidate_choices(step: Step | None) -> list[tuple[str, object]]:
    """The inspect menu of a step: "—" (value "": none) and each trained candidate's edge, best first."""
    rows = candidates_table(step) if step else []
    return [("—", "")] + [(edge_text(r["edge"]), r["edge"]) for r in rows]


def candidate_view(record: SearchRecord, step: Step, edge) -> tuple[str, list]:
    """The training figure's title and curve for one trained candidate of any step: its curve, the
    cell it left (edges) and its weight seed(s), as the search's seed rule gives them."""
    c = next(c for c in step.candidates if tuple(c.edge) == tuple(edge))
    seeds = [candidate_seed(SearchConfig.from_dict(record.config), step.step, edge)]
    seeds += [r.seed for r in (step.retests.runs if step.retests else []) if tuple(r.edge) == tuple(edge)]
    title = (f"step {step.step}, without edge {edge_text(edge)}<br><sup>{c.edges_left} edges left, "
             f"ppl {formats.ppl(c.ppl)}, seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}</sup>")
    return title, c.curve or []


def candidates_header(record: SearchRecord | None, cfg: SearchConfig | None) -> str:
    """The heading of the candidates table, with the training behind its numbers."""
    cfg = record.config if record is not None else cfg
    where = f" ({html.escape(formats.recipe(cfg))})" if cfg is not None else ""
    return f"<b>candidates of this step</b>, best first{where}"


def bars_text(done: int, count: int, epoch: int, epochs: int) -> str:
    return f"candidate {done} of {count} done · epoch {epoch} of {epochs}"


def export_choices(record: SearchRecord | None) -> list[str]:
    """What the export control offers: best, final once the search has one, then each finished step."""
    final = ["final"] if record and record.final else []
    return ["best", *final] + [f"step:{k}" for k in range(history_length(record))]


def estimate(record: SearchRecord | None, cfg: SearchConfig) -> tuple[float, float, int, float] | None:
    """(seconds for the next Step, seconds to the end, candidates measured, mean seconds of one),
    from the candidates measured so far; None before the first one. Each step to come tries
    min(candidates per step, edges left) candidates and removes drop_k edges; the final cell
    costs one candidate more."""
    seconds = [c.seconds for s in (record.steps if record else []) for c in s.candidates if c.seconds is not None]
    if not seconds:
        return None
    each, n = sum(seconds) / len(seconds), len(seconds)
    if record.final is not None:
        return 0.0, 0.0, n, each
    edges = Cell.from_dict(record.cell).n_edges
    if edges <= cfg.threshold or edges == 0:
        return each, each, n, each
    pending = record.pending
    first = len(pending.order) - len(pending.candidates) if pending else min(cfg.max_steps_to_action, edges)
    total, left = first, edges - cfg.drop_k
    while left > cfg.threshold and left > 0:
        total += min(cfg.max_steps_to_action, left)
        left -= cfg.drop_k
    return first * each, (total + 1) * each, n, each


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_text(record: SearchRecord | None, cfg: SearchConfig | None) -> str:
    """E.g. "estimate: next Step about 2 min, to the end about 25 min (7 candidates measured, 20 s each)"."""
    if record is not None and record.final is not None:
        return "estimate: nothing left to run"
    cfg = SearchConfig.from_dict(record.config) if record is not None else cfg
    found = estimate(record, cfg) if cfg is not None else None
    if found is None:
        return UNKNOWN_TIME
    step, end, n, each = found
    return (f"estimate: next Step about {duration(step)}, to the end about {duration(end)} "
            f"({n} candidate{'s' * (n != 1)} measured, {duration(each)} each)")
