"""The lab's widgets: `SearchLab` drives a search from JupyterLab, `CompareLab` trains cells side by side.

    lab = SearchLab(nodes=4, epochs=2, data="../data/penn_proxy")   # a panel; nothing is read or trained yet
    lab                            # show it: settings, buttons, live DAG, curves, training curve, table
    lab.step()                     # one shrink step from a notebook cell (the Step button does it in a thread)
    lab.run()                      # to the end, the final cell included
    lab = SearchLab.open("search-run")   # an earlier search, finished or interrupted

The search reports through `on_event(kind, **info)` and knows nothing of widgets; the lab only
listens and redraws. Figures come from plot.py; this file holds the panel, the buttons and threads.
"""
from __future__ import annotations

import html
import math
import re
import threading
import traceback
from pathlib import Path

import ipywidgets as W
import plotly.graph_objects as go
import torch

from . import plot
from .cell import Cell
from .config import ConfigError, SearchConfig
from .data import load_corpus
from .search import SALT_FINAL, Search, initial_cell, read_state, start_embedding
from .train import derive_seed, resolve_device, train_cells

SETTINGS = (  # SearchConfig field, label, widget class
    ("nodes", "nodes", W.IntText),
    ("emsize", "emsize = nhid", W.IntText),
    ("epochs", "epochs", W.IntText),
    ("lr", "lr", W.FloatText),
    ("clip", "clip", W.FloatText),
    ("batch_size", "batch size", W.IntText),
    ("eval_batch_size", "eval batch", W.IntText),
    ("bptt", "bptt", W.IntText),
    ("keep_fraction", "keep fraction", W.FloatText),
    ("max_steps_to_action", "candidates/step", W.IntText),
    ("drop_k", "drop k", W.IntText),
    ("seed", "seed", W.IntText),
    ("parallel", "parallel", W.IntText),
    ("device", "device", W.Dropdown),
    ("precision", "precision", W.Text),
    ("fuse", "fuse", W.Text),
    ("data", "data folder", W.Text),
    ("emb_path", "word vectors", W.Text),
    ("save", "save folder", W.Text),
)
RUNTIME = ("save", "device", "data", "parallel")   # settings a search may change when it resumes
BUTTONS = ("Step", "Run", "Pause", "Stop", "Reset", "Export")
TIPS = {
    "Step": "one shrink step (or the final training once the cell is small enough)",
    "Run": "all remaining steps, then the final cell",
    "Pause": "stop after the candidate in training",
    "Stop": "stop now, at the end of the current epoch",
    "Reset": "a new search from these settings (in a fresh save folder)",
    "Export": "write the current cell into <save>/export/",
}


def default_config(device: str = "auto", **changes) -> SearchConfig:
    """Settings that suit the machine: the published ones on a GPU, a small search on a CPU
    (candidates one at a time, so the lab shows each finishing)."""
    if resolve_device(device).type == "cuda":
        cfg = SearchConfig(nodes=6, emsize=100, epochs=10, batch_size=128, parallel=0, device=device)
    else:
        cfg = SearchConfig(nodes=4, emsize=32, epochs=2, batch_size=64, max_steps_to_action=6, parallel=1,
                           device=device)
    return changed(cfg, **changes)


def changed(cfg: SearchConfig, **changes) -> SearchConfig:
    """`cfg` with `changes`; a new emsize carries nhid and nhidlast along unless they are given too."""
    if "emsize" in changes:
        changes = {"nhid": None, "nhidlast": None, **changes}
    return SearchConfig(**{**cfg.to_dict(), **changes})


def fresh_folder(save) -> str:
    """`save` if it holds no search yet, else the first of save-2, save-3, ... that holds none."""
    k, name = 1, str(save)
    while (Path(name) / "search.json").exists():
        k += 1
        name = f"{save}-{k}"
    return name


def device_names() -> list[str]:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["auto", "cpu"] + (["cuda"] if n else []) + [f"cuda:{i}" for i in range(n) if n > 1]


def html_table(rows: list[dict], columns: list[tuple[str, str]], empty: str = "nothing yet") -> str:
    """An HTML table of `rows` (dicts) with `columns` (key, header); floats shown to 4 digits."""
    if not rows:
        return f"<i style='color:#777'>{html.escape(empty)}</i>"
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{html.escape(h)}</th>" for _, h in columns)
    body = []
    for r in rows:
        style = r.get("_style", "")
        cells = "".join(f"<td style='padding:2px 8px;text-align:{'left' if isinstance(r.get(k), str) else 'right'}'>"
                        f"{_cell_text(r.get(k))}</td>" for k, _ in columns)
        body.append(f"<tr style='{style}'>{cells}</tr>")
    return (f"<table style='border-collapse:collapse;font-size:12px'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _n_edges(n: int) -> str:
    return f"{n} edge{'s' * (n != 1)}"


def _cell_text(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.4g}"
    if isinstance(v, int) and abs(v) >= 10000:
        return f"{v:,}"
    return html.escape(str(v))


def _edge_text(e) -> str:
    return f"{e[0]}→{e[1]}"


def _replace_figure(fw: go.FigureWidget, fig: go.Figure) -> None:
    """Make a FigureWidget show `fig`: traces updated in place when they match, else replaced."""
    if [t.name for t in fw.data] == [t.name for t in fig.data]:
        with fw.batch_update():
            for old, new in zip(fw.data, fig.data):
                old.update({k: v for k, v in new.to_plotly_json().items() if k != "type"})
            fw.layout = fig.layout
        return
    fw.data = []
    fw.add_traces(list(fig.data))
    fw.layout = fig.layout


class SearchLab:
    """A search you watch and drive: settings panel, buttons, live figures, a history slider."""

    def __init__(self, cfg: SearchConfig | None = None, on_event=None, **settings):
        cfg = changed(cfg or default_config(settings.get("device", "auto")), **settings)
        self.search: Search | None = None   # made at the first Step/Run, so creating a lab reads nothing
        self.on_event = on_event            # also told every search event (after the lab has redrawn)
        self.error: BaseException | None = None
        self._opened: tuple[Path, dict] | None = None   # (folder, state) of an opened search not yet resumed
        self._working = False               # a Step/Run (button or call) is under way
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._stop = self._pause = self._fresh = False
        self._training: list = []           # edges whose candidates train now
        self._curves: dict = {}             # edge (or "final") -> epochs so far
        self._shown = None                  # the edge whose curve the training figure shows
        self._phase = "ready"               # the first words of the status line
        self._build(cfg)
        self._on_setting()

    # --- widgets
    def _build(self, cfg: SearchConfig) -> None:
        values = cfg.to_dict()
        style, self.inputs = {"description_width": "110px"}, {}
        for name, label, kind in SETTINGS:
            v = values[name]
            if kind is W.Dropdown:
                opts = device_names() + ([v] if v not in device_names() else [])
                w = kind(options=opts, value=v, description=label, style=style)
            else:
                w = kind(value="" if v is None else v, description=label, style=style)
            w.layout.width = "250px"
            w.observe(self._on_setting, names="value")
            self.inputs[name] = w
        self.panel = W.GridBox(list(self.inputs.values()),
                               layout=W.Layout(grid_template_columns="repeat(auto-fill, 255px)"))
        self.message = W.HTML()
        self.message.add_class("autoshrink-message")
        self.buttons = {}
        for name in BUTTONS:
            b = W.Button(description=name, tooltip=TIPS[name], layout=W.Layout(width="90px"))
            b.add_class(f"autoshrink-{name.lower()}")
            b.on_click(getattr(self, f"_on_{name.lower()}"))
            self.buttons[name] = b
        self.buttons["Step"].button_style = "primary"
        self.status = W.HTML()
        self.status.add_class("autoshrink-status")
        self.errors = W.HTML()
        self.errors.add_class("autoshrink-error")
        self.bar_candidates = W.IntProgress(min=0, max=1, description="candidates", style=style)
        self.bar_epochs = W.IntProgress(min=0, max=1, description="epochs", style=style)
        self.bar_text = W.HTML()
        self.slider = W.IntSlider(min=0, max=0, value=0, description="after step", continuous_update=False,
                                  style=style, disabled=True)
        self.slider.add_class("autoshrink-history")
        self.slider.observe(lambda change: self._draw_view(), names="value")
        self.slider_text = W.HTML()
        self.dag = go.FigureWidget(plot.dag_figure(initial_cell(cfg)))
        self._dag_nodes = cfg.nodes
        self.dag.add_class("autoshrink-dag")
        self.curves = go.FigureWidget(plot.curves_figure(None))
        self.curves.add_class("autoshrink-curves")
        self.training = go.FigureWidget(plot.training_figure())
        self.training.update_layout(width=480)
        self.training.add_class("autoshrink-training")
        self.table = W.HTML()
        self.table.add_class("autoshrink-table")
        self.exported = W.HTML()
        self.exported.add_class("autoshrink-exported")
        self.widget = W.VBox([
            W.HTML("<b>AutoShrink Lab</b>: shrink a fully connected cell one edge at a time"),
            self.panel, self.message, W.HBox(list(self.buttons.values())), self.status, self.errors,
            W.HBox([self.bar_candidates, self.bar_epochs, self.bar_text]),
            W.HBox([self.slider, self.slider_text]), self.dag,
            W.HBox([self.training, W.VBox([W.HTML("<b>candidates of this step</b>, best first"), self.table])]),
            self.curves, self.exported,
        ])
        self.widget.add_class("autoshrink-lab")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # --- settings
    def config(self) -> SearchConfig:
        """A SearchConfig from the panel; raises ConfigError (one line) for an unusable value."""
        v = {name: w.value for name, w in self.inputs.items()}
        v["emb_path"] = v["emb_path"].strip() or None
        for name in ("data", "save"):
            v[name] = v[name].strip()
            if not v[name]:
                raise ConfigError(f"the {name} folder is empty; give a folder name")
        cfg = SearchConfig(**v).check()
        resolve_device(cfg.device)
        return cfg

    def set(self, **settings) -> None:
        """Change panel settings from code, e.g. lab.set(nodes=5, epochs=3)."""
        unknown = sorted(set(settings) - set(self.inputs))
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; the panel has {sorted(self.inputs)}")
        for name, v in settings.items():
            self.inputs[name].value = "" if v is None else v

    def _on_setting(self, change=None) -> None:
        try:
            cfg = self.config()
        except ConfigError as e:
            self.message.value = f"<span style='color:#c00'>⚠ {html.escape(str(e))}</span>"
            self._buttons()
            return
        self.message.value = self._settings_note(cfg)
        self._buttons()
        if self.state is None:
            self._draw_view()

    def _settings_note(self, cfg: SearchConfig) -> str:
        """A note when the panel no longer matches the search it drives (runtime settings aside)."""
        if self.search is None:
            return ""
        ours, panel = self.search.cfg.to_dict(), cfg.to_dict()
        if all(ours[k] == panel[k] for k in ours if k not in RUNTIME):
            return ""
        return "<span style='color:#777'>settings changed: press Reset to start a new search with them</span>"

    def _panel_config(self) -> SearchConfig | None:
        """The panel's settings, or None while one of them is unusable."""
        try:
            return self.config()
        except ConfigError:
            return None

    def _valid(self) -> bool:
        return self._panel_config() is not None

    # --- what is shown
    @property
    def state(self) -> dict | None:
        """The search record on show (None before the first step of a new search)."""
        if self.search is not None:
            return self.search.state
        return self._opened[1] if self._opened else None

    @property
    def summary(self) -> str:
        """The status line as plain text, e.g. "step 0 done · steps: 1 · edges left: 5 · target: 2 edges"."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    @property
    def busy(self) -> bool:
        return self._working

    def _buttons(self) -> None:
        busy, state = self.busy, self.state
        done = state is not None and state.get("final") is not None
        ok = self._valid()
        b = self.buttons
        b["Step"].disabled = b["Run"].disabled = busy or not ok or done
        b["Pause"].disabled = b["Stop"].disabled = not busy
        b["Reset"].disabled = busy or not ok
        b["Export"].disabled = busy or state is None
        self.slider.disabled = state is None or not self._history()

    def _history(self) -> list[dict]:
        return [s for s in (self.state or {}).get("steps", []) if s.get("done")]

    def _view(self):
        """(cell, edge states, step record, title) for the slider's position; the last position is live."""
        state, k = self.state, self.slider.value
        if state is None:
            cfg = self._panel_config()
            cell = initial_cell(cfg) if cfg else None
            return cell, {}, None, f"start: {_n_edges(cell.n_edges) if cell else '— edges'}, fully connected"
        steps, n_done = state["steps"], len(self._history())
        if k >= n_done and steps and not steps[-1]["done"]:
            where, index = f"step {len(steps) - 1} in progress", -1
        elif k == 0:
            where, index = "start", None
        else:
            where, index = f"after step {k - 1}", k - 1
        cell, states = plot.cell_at(state, index), plot.edge_states_at(state, index)
        if index == -1:
            for e in self._training:
                states[e] = {**states.get(e, {}), "state": "training", "step": len(steps) - 1}
        if k >= n_done and state.get("final") is not None:
            where = f"final cell (ppl {_cell_text(state['final']['ppl'])})"
            states = {e: s for e, s in states.items() if s["state"] != "tried"}  # what is left is the cell
        return cell, states, (steps[index] if index is not None else None), f"{where}: {_n_edges(cell.n_edges)}"

    def _draw_view(self) -> None:
        with self._lock:
            cell, states, step, title = self._view()
            if cell is None:
                return
            if self._dag_nodes != cell.nodes:
                _replace_figure(self.dag, plot.dag_figure(cell, states, title=title))
                self._dag_nodes = cell.nodes
            else:
                plot.update_dag(self.dag, cell, states)
                self.dag.layout.title.text = title
            self.slider_text.value = html.escape(title)
            self.table.value = self._table_html(step)
            self._draw_status()

    def _table_html(self, step: dict | None) -> str:
        if step is None:
            return html_table([], [], "no step yet")
        removed = {tuple(e) for e in step.get("removed") or []}
        rows = []
        for rank, r in enumerate(plot.candidates_table(step), 1):
            note = "removed" if r["edge"] in removed else ("diverged" if r["diverged"] else "")
            rows.append({**r, "rank": rank, "edge": _edge_text(r["edge"]), "note": note,
                         "_style": "font-weight:bold" if note == "removed" else ""})
        tried = {tuple(c["edge"]) for c in step["candidates"]}
        for e in map(tuple, step["order"]):
            if e not in tried:
                rows.append({"edge": _edge_text(e), "note": "training" if e in self._training else "waiting",
                             "_style": "color:#999"})
        cols = [("rank", "#"), ("edge", "edge removed"), ("ppl", "ppl"), ("flops", "flops"), ("score", "score"),
                ("seconds", "seconds"), ("note", "")]
        return html_table(rows, cols)

    def _draw_status(self, phase: str | None = None) -> None:
        if phase is not None:
            self._phase = phase
        state = self.state
        if state is None:
            cfg = self._panel_config()
            edges = cfg.full_edges if cfg else "—"
            target = cfg.threshold if cfg else "—"
        else:
            edges = Cell.from_dict(state["cell"]).n_edges
            target = SearchConfig.from_dict(state["config"]).threshold
        where = f" · save: {html.escape(str(self._save_dir()))}" if state is not None else ""
        self.status.value = (f"<b>{html.escape(self._phase)}</b> · "
                             f"<span class='autoshrink-steps'>steps: {len(self._history())}</span> · "
                             f"<span class='autoshrink-edges'>edges left: {edges}</span> · "
                             f"target: {target} edges{where}")

    def _draw_curves(self) -> None:
        with self._lock:
            _replace_figure(self.curves, plot.curves_figure(self.state))

    def _draw_all(self, follow: bool = True) -> None:
        """Redraw everything; with `follow` the history slider moves to the latest step."""
        with self._lock:
            n = len(self._history())
            self.slider.max = n
            if follow:
                self.slider.value = n
            self._draw_view()
            self._draw_curves()
            self._buttons()

    def _save_dir(self) -> Path | None:
        if self.search is not None:
            return self.search.save_dir
        return self._opened[0] if self._opened else None

    # --- events from the search (in whichever thread runs it)
    def _on_event(self, kind: str, **info) -> None:
        with self._lock:
            getattr(self, f"_ev_{kind}")(**info)
        if self.on_event is not None:
            self.on_event(kind, **info)

    def _ev_candidate_start(self, step, edge, index, count) -> None:
        self._fresh = True
        key = tuple(edge) if edge is not None else "final"
        if edge is not None:
            self._training.append(key)
        self._curves[key] = []
        if self._shown not in self._training:
            self._shown = key
            plot.update_training(self.training, [], title=self._training_title(step, edge))
        pending = self.search.pending
        self.bar_candidates.max = count
        self.bar_candidates.value = len(pending["candidates"]) if pending else 0
        self.bar_epochs.max, self.bar_epochs.value = self.search.cfg.epochs, 0
        if edge is None:
            self._draw_status("training the final cell")
        elif len(self._training) == 1:
            self._draw_status(f"step {step}: training candidate {index + 1} of {count} (edge {_edge_text(edge)})")
        else:
            self._draw_status(f"step {step}: training {len(self._training)} candidates together")
        self._bars_text()
        if edge is not None and self.slider.value == self.slider.max:
            self._draw_view()

    def _training_title(self, step, edge) -> str:
        return "training the final cell" if edge is None else f"training: step {step}, without edge {_edge_text(edge)}"

    def _ev_epoch(self, step, edge, epoch, epochs, train_loss, val_loss) -> None:
        self._fresh = False
        key = tuple(edge) if edge is not None else "final"
        self._curves.setdefault(key, []).append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        if key == self._shown:
            plot.update_training(self.training, self._curves[key])
            self.bar_epochs.max, self.bar_epochs.value = epochs, epoch + 1
            self._bars_text()

    def _ev_candidate_done(self, step, edge, index, count, record) -> None:
        key = tuple(edge)
        if key in self._training:
            self._training.remove(key)
        self.bar_candidates.max, self.bar_candidates.value = count, index + 1
        self._bars_text()
        if self.slider.value == self.slider.max:
            self._draw_view()

    def _ev_step_done(self, step, record) -> None:
        self._training, self._curves = [], {}
        self.exported.value = ""
        self._draw_status(f"step {step} done: removed {', '.join(map(_edge_text, record['removed']))}")
        self._draw_all(follow=self.slider.value == self.slider.max)

    def _ev_finished(self, record) -> None:
        self.bar_epochs.value = self.bar_epochs.max
        self.bar_candidates.value = self.bar_candidates.max
        self._bars_text()
        self.exported.value = ""
        self._draw_status(f"finished: final cell ppl {_cell_text(record['ppl'])}, "
                          f"{Cell.from_dict(record['cell']).n_edges} edges")
        self._draw_all()

    def _bars_text(self) -> None:
        self.bar_text.value = (f"candidate {self.bar_candidates.value} of {self.bar_candidates.max} done · "
                               f"epoch {self.bar_epochs.value} of {self.bar_epochs.max}")

    # --- running
    def _should_stop(self) -> bool:
        return self._stop or (self._pause and self._fresh)

    def _ensure_search(self) -> Search:
        if self.search is not None:
            return self.search
        cfg = self.config()
        if self._opened is not None:
            runtime = {k: getattr(cfg, k) for k in RUNTIME if k != "save"}
            self.search = Search.resume(self._opened[0], on_event=self._on_event, **runtime)
        else:
            save = fresh_folder(cfg.save)
            if save != cfg.save:
                self.inputs["save"].value = save
            self.search = Search(cfg.replace(save=save), on_event=self._on_event)
        self._opened = None
        return self.search

    def _one_step(self, search: Search) -> dict | None:
        if search.finished:
            return None
        if search.shrinking_done:
            return search.finish(self._should_stop)
        return search.step(self._should_stop)

    def _to_end(self, search: Search) -> dict | None:
        return search.run(self._should_stop)

    def _work(self, job, raise_errors: bool) -> dict | None:
        """Run job(search) with the panel busy; report how it ended in the status line."""
        self._working = True
        self.error, self.errors.value = None, ""
        try:
            search = self._ensure_search()
            self._draw_status("starting")
            out = job(search)
            if search.finished:
                self._draw_status(f"finished: final cell ppl {_cell_text(search.state['final']['ppl'])}")
            elif out is None and (self._stop or self._pause):
                self._draw_status(("stopped" if self._stop else "paused") + ": Step or Run continues the search")
            return out
        except BaseException as e:
            self.error = e
            if isinstance(e, KeyboardInterrupt):
                self._draw_status("interrupted: Step or Run continues the search")
                raise
            self._draw_status(f"error: {type(e).__name__}: {e}")
            self.errors.value = (f"<pre style='color:#c00;white-space:pre-wrap;font-size:11px'>"
                                 f"{html.escape(traceback.format_exc())}</pre>")
            if raise_errors:
                raise
            return None
        finally:
            self._training = []
            self._draw_view()
            self._working = False
            self._buttons()

    def _sync(self, job) -> dict | None:
        if self.busy:
            raise RuntimeError("the lab is busy (Step/Run pressed); press Stop or call lab.wait() first")
        self._stop = self._pause = False
        self._buttons_busy()
        return self._work(job, raise_errors=True)

    def _background(self, job) -> None:
        if self.busy:
            return
        self._stop = self._pause = False
        self._working = True
        self._thread = threading.Thread(target=self._work, args=(job, False), daemon=True)
        self._buttons_busy()
        self._thread.start()

    def _buttons_busy(self) -> None:
        b = self.buttons
        for name in ("Step", "Run", "Reset", "Export"):
            b[name].disabled = True
        b["Pause"].disabled = b["Stop"].disabled = False

    def step(self) -> dict | None:
        """One shrink step (the final training once shrinking is done), in this thread; returns its
        record (the final record after the final training), None if finished or stopped."""
        return self._sync(self._one_step)

    def run(self) -> dict | None:
        """All remaining steps and the final cell, in this thread; returns the final record."""
        return self._sync(self._to_end)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background Step/Run to end."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def export(self) -> dict[str, Path]:
        """Write the final cell (or the current one) into <save>/export/; returns name -> path."""
        from .export import export_cell
        state = self.state
        if state is None:
            raise ConfigError("nothing to export yet: take a step first")
        cell = Cell.from_dict((state.get("final") or state)["cell"])
        files = export_cell(cell, self._save_dir() / "export", config=state["config"])
        items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in files.values())
        self.exported.value = f"<b>exported</b> ({cell.n_edges} edges):<ul>{items}</ul>"
        return files

    # --- buttons
    def _on_step(self, button=None) -> None:
        self._background(self._one_step)

    def _on_run(self, button=None) -> None:
        self._background(self._to_end)

    def _on_pause(self, button=None) -> None:
        self._pause = True
        self.buttons["Pause"].disabled = True
        self._draw_status("pausing after the candidate in training")

    def _on_stop(self, button=None) -> None:
        self._stop = True
        self.buttons["Pause"].disabled = self.buttons["Stop"].disabled = True
        self._draw_status("stopping at the end of this epoch")

    def _on_reset(self, button=None) -> None:
        if self.busy:
            return
        self.search, self._opened = None, None
        self._training, self._curves, self._shown = [], {}, None
        self.inputs["save"].value = fresh_folder(self.inputs["save"].value.strip())
        plot.update_training(self.training, [], title="training")
        self.bar_candidates.value = self.bar_epochs.value = 0
        self.exported.value = self.errors.value = ""
        self._draw_status("new search: Step or Run starts it")
        self._on_setting()
        self._draw_all()

    def _on_export(self, button=None) -> None:
        try:
            self.export()
        except Exception as e:
            self.error = e
            self._draw_status(f"export failed: {type(e).__name__}: {e}")

    # --- reopening
    @classmethod
    def open(cls, save, on_event=None, **overrides) -> "SearchLab":
        """The lab of the search saved in `save`; `overrides` (e.g. device, data) replace saved
        settings. Step and Run continue it when unfinished."""
        state = read_state(save)
        cfg = SearchConfig.from_dict({**state["config"], "save": str(save), **overrides})
        lab = cls(cfg, on_event=on_event)
        lab._opened = (Path(save), state)
        try:
            lab._ensure_search()
            lab._draw_status("opened" + (": finished" if lab.search.finished else ": Step or Run continues it"))
        except ConfigError as e:
            lab._draw_status(f"opened read-only ({e}); fix the setting, then Step or Run continues it")
        lab._draw_all()
        return lab


class CompareLab:
    """Cells trained one after another under one proxy setting, with a live validation-ppl plot
    and a summary table. Each cell is its own batch (K = 1), so cells of any size compare."""

    def __init__(self, cells: dict[str, Cell], cfg: SearchConfig, on_event=None):
        self.cells, self.cfg, self.on_event = dict(cells), cfg.check(), on_event
        self.results: dict = {}
        self._curves = {name: [] for name in self.cells}
        self.figure = go.FigureWidget(plot.comparison_figure(list(self.cells)))
        self.figure.add_class("autoshrink-compare")
        self.bar = W.IntProgress(min=0, max=len(self.cells) * cfg.epochs, description="epochs")
        self.status = W.HTML("ready: call run()")
        self.status.add_class("autoshrink-status")
        self.table = W.HTML(html_table([], [], "no cell trained yet"))
        self.table.add_class("autoshrink-table")
        self.widget = W.VBox([W.HBox([self.bar, self.status]), self.figure, self.table])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def run(self, should_stop=None) -> dict:
        """Train every cell not trained yet; returns name -> train.Result."""
        cfg = self.cfg
        device = resolve_device(cfg.device)
        corpus = load_corpus(cfg.data)
        embedding = start_embedding(cfg, corpus.words)
        for name, cell in self.cells.items():
            if name in self.results:
                continue
            self.status.value = f"training <b>{html.escape(name)}</b> ({cell.n_edges} edges) on {device}"

            def relay(kind, index, name=name, **info):
                if kind == "epoch":
                    self._curves[name].append(info)
                    plot.update_comparison(self.figure, name, self._curves[name])
                    self.bar.value += 1
                if self.on_event is not None:
                    self.on_event(kind, name=name, **info)

            [r] = train_cells([cell], [derive_seed(cfg.seed, SALT_FINAL)], corpus, embedding, cfg, device,
                              on_event=relay, should_stop=should_stop)
            if r is None:
                self.status.value = f"stopped during {html.escape(name)}"
                return self.results
            self.results[name] = r
            self.table.value = html_table(self.rows(), self.COLUMNS)
        self.bar.value = self.bar.max
        self.status.value = "done"
        return self.results

    def summary(self):
        """The summary table, for a notebook cell to show."""
        from IPython.display import HTML
        return HTML(html_table(self.rows(), self.COLUMNS, "no cell trained yet"))

    COLUMNS = [("name", "cell"), ("nodes", "nodes"), ("edges", "edges"), ("ppl", "val ppl"), ("flops", "flops"),
               ("params", "params"), ("seconds", "seconds"), ("epochs", "epochs"), ("ended", "ended")]

    def rows(self) -> list[dict]:
        """One summary row per trained cell: name, nodes, edges, ppl, flops, params, seconds, epochs, ended."""
        out = []
        for name, r in self.results.items():
            cell = self.cells[name].prune()
            out.append(dict(name=name, nodes=cell.nodes, edges=cell.n_edges, ppl=r.ppl, flops=r.flops,
                            params=r.params, seconds=r.seconds, epochs=r.epochs, ended=r.ended))
        return out
