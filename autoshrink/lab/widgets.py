"""The lab's panel: `SearchLab` drives a search from JupyterLab (`CellsLab`, re-exported here, is in cells.py).

    lab = SearchLab(nodes=4, epochs=2, data="../data/penn_proxy")   # a panel; nothing is read or trained yet
    lab                            # show it: settings, buttons, live DAG, curves, training curve, table
    lab.step()                     # one shrink step from a notebook cell (the Step button does it in a thread)
    lab.run()                      # to the end, the final cell included
    lab.export()                   # the best cell (or lab.export("final"), lab.export("step:2"))
    lab = SearchLab.open("search-run")                # an earlier search, finished or interrupted
    lab = SearchLab.open("search-run", follow=True)   # a search the command line is writing, read-only

This file holds only the ipywidgets: the settings bound to SearchConfig, the buttons and their
wiring. The search's lifecycle and threads are in runner.py; what each view shows is computed
in views.py and plot/.
"""
from __future__ import annotations

import html
import os
import re
import threading
import time
from pathlib import Path

import ipywidgets as W
import torch

from .. import plot
from ..core import formats
from ..core.config import BACKENDS, FUSES, GRAPHS, PRECISIONS, PRESETS, SEED_RULES, SearchConfig, help_texts, settings
from ..core.errors import ConfigError
from ..core.events import CandidateDone, CandidateEpoch, CandidateStarted, SearchFinished, StepDone
from ..core.record import SearchRecord, Step
from ..core.rules import initial_cell
from ..core.runtime import resolve_device
from ..plot.figures import budget_changes
from ..plot.searches import parent_config
from ..proxy.precision import proxy_precision
from ..search_folder import SAFE_ON_RESUME
from ..strategies import PUBLISHED, STRATEGIES
from . import views
from .cells import CellsLab  # noqa: F401  (re-exported: notebooks import it from here)
from .figure_widget import FigureWidget
from .replay import grade_text, load_truth, step_grade, truth_states
from .runner import BusyChanged, LabError, PhaseChanged, Refreshed, Runner, SaveChanged, fresh_folder, read_search
from .strategy_lab import StrategyLab

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
    ("ops", "node ops", W.Text),
    ("target_ppl", "target ppl", W.FloatText),
    ("ppl_weight", "ppl weight", W.FloatText),
    ("cost_weight", "cost weight", W.FloatText),
    ("seed", "seed", W.IntText),
    ("seed_rule", "seed rule", W.Dropdown),
    ("retest", "retest seeds", W.IntText),
    ("retest_margin", "retest margin", W.FloatText),
    ("halving", "halving rung", W.IntText),
    ("parallel", "parallel", W.IntText),
    ("device", "device", W.Dropdown),
    ("precision", "precision", W.Dropdown),
    ("fuse", "fuse", W.Dropdown),
    ("graphs", "CUDA graphs", W.Dropdown),
    ("data", "data folder", W.Text),
    ("emb_path", "word vectors", W.Text),
    ("save", "save folder", W.Text),
    ("backend", "backend", W.Dropdown),
    ("ray_address", "Ray address", W.Text),
    ("gpus_per_task", "GPUs per task", W.FloatText),
)
PANEL_GROUPS = (  # the panel's headed groups of SETTINGS (config.GROUPS), then ADVANCED in a fold, closed at first
    ("the search", settings("space", "search")),
    ("training", settings("training")),
    ("files", settings("files")),
)
ADVANCED = settings("machine", "backend")
BUTTONS = ("Step", "Run", "Pause", "Stop", "Reset", "Export")
STYLE = {"description_width": "110px"}   # every labelled input's label width
TIPS = {
    "Step": "one shrink step (or the final training once the cell is small enough)",
    "Run": "all remaining steps, then the final cell",
    "Pause": "stop after the candidate in training",
    "Stop": "stop now, at the end of the current epoch",
    "Reset": "a new search from these settings (in a fresh save folder)",
    "Export": "write the chosen cell into <save>/export/",
    "which": "the cell Export writes: best (the step whose chosen candidate scored highest), "
             "final (the cell the search ends with), or the cell after step N",
    "preset": "fill the panel with a preset: tiny for a quick demo on a laptop, or the published search "
              "(node ops are then drawn from the seed)",
    "Branch": "a new search from the cell the history slider shows, with the panel's settings (in a new folder; "
              "this search is left as it is)",
}


def default_config(device: str = "auto", **changes) -> SearchConfig:
    """Settings that suit the machine: the published preset on a GPU, the tiny one on a CPU (where
    --parallel 0 trains the candidates two at a time, the faster way on two cores)."""
    try:
        cuda = resolve_device(device).type == "cuda"
    except ConfigError as e:
        raise LabError(str(e)) from None
    machine = PRESETS["published"] if cuda else PRESETS["tiny"]
    return SearchConfig(device=device).replace(**{**machine, **changes})


def device_names() -> list[str]:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["auto", "cpu"] + (["cuda"] if n else []) + [f"cuda:{i}" for i in range(n) if n > 1]


CHOICES = {"device": device_names, "backend": lambda: BACKENDS, "precision": lambda: PRECISIONS, "fuse": lambda: FUSES,
           "graphs": lambda: GRAPHS, "seed_rule": lambda: SEED_RULES}   # a Dropdown setting's options
_DEFAULTS = SearchConfig().to_dict()


def _file_item(path) -> str:
    """One written file as a list item: a link JupyterLab opens (relative to the notebook; `make lab`
    roots the server at the clone, so runs/ is inside it), and its size."""
    path = Path(path)
    href = html.escape(os.path.relpath(path) if path.is_absolute() else path.as_posix(), quote=True)
    size = views.file_size(path.stat().st_size if path.is_file() else 0)
    size += ", plotly.js inside: opens offline" if path.suffix == ".html" else ""
    return f"<li><a href='{href}' target='_blank'><code>{html.escape(str(path))}</code></a> ({size})</li>"


def _formula_html(cfg: SearchConfig | None) -> str:
    """The score the table ranks by, with the panel's (or the search's) coefficients."""
    if cfg is None:
        return ""
    return (f"<span style='color:#555;font-size:12px'>score = ({cfg.target_ppl:g} − ppl) × {cfg.ppl_weight:g} − "
            f"{cfg.cost_weight:g} × (log10 flops − 6); higher is better</span>")


def _clock(seconds: float) -> str:
    """45 s, 1 min 05 s."""
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _dag_title(v) -> str:
    """The DAG's title: what the history slider shows (views.view_at), and whether a branch copied that step."""
    return v.title + (" (copied from the parent)" if v.step is not None and v.step.from_parent else "")


def _step_notes(step: Step | None, record: SearchRecord | None, parent: dict | None) -> str:
    """Notes over a step's candidates: a step a branch copied from its parent (how it was trained),
    a decision closer than the retest margin (seed noise may have made it)."""
    notes = [_copied_note(step, record, parent), _close_note(step, record)]
    return "<br>".join(f"<span style='color:#a05a00'>{html.escape(n)}</span>" for n in notes if n)


def _copied_note(step: Step | None, record: SearchRecord | None, parent: dict | None) -> str:
    if step is None or not step.from_parent:
        return ""
    changed = budget_changes(parent, record.config) if parent else []
    how = (f"trained with {', '.join(changed)}, so its scores do not compare with this branch's own steps"
           if changed else "trained alike" if parent else "its parent's settings are unknown")
    return f"step {step.step} was copied from the parent search ({how})"


def _close_note(step: Step | None, record: SearchRecord | None) -> str:
    rows = [r for r in plot.candidates_table(step) if r["score"] is not None and not r["halved"]]
    if len(rows) < 2 or any(r["seeds"] > 1 for r in rows):
        return ""
    margin, noise = rows[0]["score"] - rows[1]["score"], record.config["retest_margin"]
    if margin >= noise:
        return ""
    return (f"⚠ decided by {formats.score(margin)} score points, within the retest margin ({noise:g}): seed noise "
            f"may have decided it; 'retest seeds' (--retest) reruns close leaders on more seeds")


def _tagged(widget, name: str):
    """`widget` with the CSS class autoshrink-`name` (how tests and the docs' screenshots find it)."""
    widget.add_class(f"autoshrink-{name}")
    return widget


def _setting_widget(name: str, label: str, kind, value, tip: str):
    if kind is W.Dropdown:
        opts = list(CHOICES[name]()) if name in CHOICES else []
        w = kind(options=opts + ([value] if value not in opts else []), value=value, description=label, style=STYLE)
    else:
        w = kind(value="" if value is None else value, description=label, style=STYLE)
    w.tooltip = tip
    w.layout.width = "250px"
    return w


class SearchLab:
    """A search you watch and drive: settings panel, buttons, live figures, a history slider."""

    def __init__(self, cfg: SearchConfig | None = None, on_event=None, **settings):
        cfg = (cfg or default_config(settings.get("device", "auto"))).replace(**settings)
        self.runner = Runner(self.config, on_change=self._on_change, on_event=on_event)
        self._shown = None                  # the edge whose curve the training figure shows
        self._epoch_since = None            # when the shown candidate's epoch in training began (monotonic)
        self._shown_step = None
        self._parent = None                 # a branch's parent's settings (searches.parent_config)
        self.truth = None                   # a space table's truth, once grade_with(table) is called
        self.on_branch = []                 # called with a new branch's folder (05's list shows it at once)
        self._build(cfg)
        self._on_setting()

    # --- widgets
    def _build(self, cfg: SearchConfig) -> None:
        self._build_settings(cfg)
        self._build_controls(cfg)
        self._build_history()
        self._build_views(cfg)
        self._top = [W.HTML("<b>AutoShrink Lab</b>: shrink a fully connected cell one edge at a time"),
                     self.panel, self.message]
        self._shrink_views = [
            W.HBox([*self.buttons.values(), self.which]), self.status, self.estimate,
            self.errors, W.HBox([self.bar_candidates, self.bar_epochs, self.bar_text]),
            W.HBox([self.slider, self.branch_button, self.slider_text]), self.dag,
            W.HBox([self.training, W.VBox([self.table_head, self.formula, self.step_note, self.inspect, self.table])]),
            self.curves, self.exported,
        ]
        self.widget = _tagged(W.VBox([*self._top, *self._shrink_views]), "lab")

    def _build_settings(self, cfg: SearchConfig) -> None:
        """The settings panel: one input per SETTINGS row, the preset and strategy menus, the fold."""
        values, helps = cfg.to_dict(), help_texts()
        self.inputs = {}
        for name, label, kind in SETTINGS:
            tip = f"{helps.get(name, label)} (--{name})"
            self.inputs[name] = w = _setting_widget(name, label, kind, values[name], tip)
            w.observe(self._on_setting, names="value")
        self.preset = _tagged(W.Dropdown(options=["choose…", *PRESETS], value="choose…", description="preset",
                                         tooltip=TIPS["preset"], style=STYLE, layout=W.Layout(width="250px")),
                              "preset")
        self.preset.observe(self._on_preset, names="value")
        self.strategy = _tagged(W.Dropdown(options=list(STRATEGIES), value=PUBLISHED, description="strategy",
                                           tooltip="; ".join(f"{n}: {c.about}" for n, c in STRATEGIES.items()),
                                           style=STYLE, layout=W.Layout(width="250px")), "strategy")
        self.strategy.observe(lambda change: self.use_strategy(change.new), names="value")
        self._others = {}        # strategy -> its panel, kept while it trains or holds a run
        grid = lambda names: W.GridBox([self.inputs[n] for n in names],
                                       layout=W.Layout(grid_template_columns="repeat(auto-fill, 255px)"))
        self.advanced = _tagged(W.Accordion(children=[grid(ADVANCED)], selected_index=None,
                                            titles=("running (advanced): device, precision, kernels, backend",)),
                                "advanced")
        self.panel = W.VBox([W.HBox([self.preset, self.strategy]), *[W.VBox([W.HTML(f"<b>{title}</b>"), grid(names)])
                                                                     for title, names in PANEL_GROUPS], self.advanced])
        self.message = _tagged(W.HTML(), "message")

    def _build_controls(self, cfg: SearchConfig) -> None:
        """The buttons, the export choice, the status lines and the progress bars."""
        self.buttons = {}
        for name in BUTTONS:
            b = _tagged(W.Button(description=name, tooltip=TIPS[name], layout=W.Layout(width="90px")), name.lower())
            b.on_click(getattr(self, f"_on_{name.lower()}"))
            self.buttons[name] = b
        self.buttons["Step"].button_style = "primary"
        self.which = _tagged(W.Dropdown(options=views.export_choices(None), value="best", tooltip=TIPS["which"],
                                        layout=W.Layout(width="110px")), "which")
        self.status = _tagged(W.HTML(views.status_html("ready", None, cfg)), "status")   # never empty
        self.estimate = _tagged(W.HTML(), "estimate")
        self.errors = _tagged(W.HTML(), "error")
        self.bar_candidates = W.IntProgress(min=0, max=1, description="candidates", style=STYLE)
        self.bar_epochs = W.IntProgress(min=0, max=1, description="epochs", style=STYLE)
        self.bar_text = W.HTML()

    def _build_history(self) -> None:
        """The history slider, the note that says where it stands, and Branch from here."""
        self.slider = _tagged(W.IntSlider(min=0, max=0, value=0, description="history", continuous_update=False,
                                          readout=False, style=STYLE, disabled=True), "history")
        self.slider.observe(lambda change: (self._draw_view(), self._buttons()), names="value")
        self.slider_text = _tagged(W.HTML(), "history-note")
        self.branch_button = _tagged(W.Button(description="Branch from here", tooltip=TIPS["Branch"],
                                              layout=W.Layout(width="140px"), disabled=True), "branch")
        self.branch_button.on_click(self._on_branch)

    def _build_views(self, cfg: SearchConfig) -> None:
        """The figures (DAG, curves, training) and the candidates' table beside them."""
        self.dag = _tagged(FigureWidget(plot.dag_figure(initial_cell(cfg))), "dag")
        self._dag_nodes = cfg.nodes
        self.curves = _tagged(FigureWidget(plot.curves_figure(None)), "curves")
        self.training = _tagged(FigureWidget(plot.training_figure().update_layout(width=480)), "training")
        self.table = _tagged(W.HTML(), "table")
        self.table_head = W.HTML(views.candidates_header(None, cfg))
        self.formula = _tagged(W.HTML(_formula_html(cfg)), "formula")
        self.step_note = _tagged(W.HTML(), "step-note")
        self.inspect = _tagged(W.Dropdown(options=views.candidate_choices(None), value="", description="inspect",
                                          tooltip="show a trained candidate's curve, cell and seed in the training "
                                                  "figure", style=STYLE, layout=W.Layout(width="220px")), "inspect")
        self.inspect.observe(lambda change: self._draw_inspected(), names="value")
        self.exported = _tagged(W.HTML(), "exported")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # --- settings
    def config(self) -> SearchConfig:
        """A SearchConfig from the panel; raises ConfigError (one line) for an unusable value."""
        v = {name: w.value for name, w in self.inputs.items()}
        for name, w in self.inputs.items():
            if isinstance(w, W.Text):   # an empty text is None where None is the default
                v[name] = v[name].strip() or (None if _DEFAULTS[name] is None else "")
        for name in ("data", "save"):
            if not v[name]:
                raise LabError(f"the {name} folder is empty; give a folder name")
        try:
            cfg = SearchConfig(**v).check()
            resolve_device(cfg.device)
        except ConfigError as e:
            raise LabError(str(e)) from None
        return cfg

    def set(self, **settings) -> None:
        """Change panel settings from code, e.g. lab.set(nodes=5, epochs=3)."""
        unknown = sorted(set(settings) - set(self.inputs))
        if unknown:
            raise LabError(f"unknown setting(s) {unknown}; the panel has {sorted(self.inputs)}")
        for name, v in settings.items():
            self.inputs[name].value = "" if v is None else v

    def _on_preset(self, change=None) -> None:
        """Fill the panel with the preset; its node ops are drawn from the seed (a branch's are reset)."""
        if self.preset.value in PRESETS:
            self.set(**{"ops": None, **PRESETS[self.preset.value]})

    def _on_setting(self, change=None) -> None:
        try:
            cfg = self.config()
            self.message.value = self._settings_note(cfg)
        except ConfigError as e:
            cfg, self.message.value = None, views.error_line(e)
        self._buttons()
        if self.state is None:
            self._draw_view()
        if cfg is not None and self.other is not None and self.other.run_ is None:   # not started: new settings
            self.use_strategy(self.strategy.value)

    def use_strategy(self, name: str) -> None:
        """Show the published search's views (AutoShrink) or, for another strategy, its panel
        (lab/strategy_lab.py) training with this panel's settings into <save>-<name>; a run saved
        there reopens, and Start continues it. The search goes on in the background meanwhile."""
        if self.strategy.value != name:
            self.strategy.value = name           # the menu's observer comes back here
            return
        if name == PUBLISHED:
            self.widget.children = [*self._top, *self._shrink_views]
            return
        lab = self._others.get(name)
        if lab is None or lab.run_ is None:          # not started yet: made with the panel's settings now
            try:
                lab = self._others[name] = StrategyLab.beside(self.config(), name)
            except ConfigError as e:
                self.message.value = views.error_line(f"{name} not shown: {e}")
                self.strategy.value = PUBLISHED
                return
        self.widget.children = [*self._top, lab.box]

    @property
    def other(self):
        """The panel of the strategy the menu names (None while it names AutoShrink)."""
        return None if self.strategy.value == PUBLISHED else self._others.get(self.strategy.value)

    def _settings_note(self, cfg: SearchConfig) -> str:
        """A note when the panel no longer matches the search it drives (runtime settings aside)."""
        if self.search is None:
            return ""
        ours, panel = self.search.cfg.to_dict(), cfg.to_dict()
        device = getattr(self.search, "device", None)
        if panel["precision"] == "auto" and device is not None:     # what "auto" resolved to for this search
            panel["precision"] = proxy_precision("auto", device, cfg.nhid)
        changed = [f"{k} {panel[k]} (this search: {ours[k]})" for k in ours if k not in SAFE_ON_RESUME
                   and ours[k] != panel[k]]
        if not changed:
            return ""
        return (f"<span style='color:#777'>settings changed: {html.escape(', '.join(changed))}. Step and Run go on "
                "with this search's own settings; Branch from here uses the panel's, or press Reset to start a new "
                "search with them</span>")

    def _panel_config(self) -> SearchConfig | None:
        """The panel's settings, or None while one of them is unusable."""
        try:
            return self.config()
        except ConfigError:
            return None

    # --- what is shown
    @property
    def search(self):
        return self.runner.search

    @property
    def state(self) -> dict | None:
        """The search record on show, in its plain layout (None before the first step of a new search)."""
        return self.runner.state

    @property
    def record(self) -> SearchRecord | None:
        """The search record on show, typed (None before the first step of a new search)."""
        return self.runner.record

    @property
    def error(self) -> BaseException | None:
        return self.runner.error

    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def following(self) -> bool:
        return self.runner.following

    @property
    def summary(self) -> str:
        """The status line as plain text, e.g. "step 0 done · steps: 1 · edges left: 5 · target: 2 edges"."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    def _buttons(self) -> None:
        r, state = self.runner, self.state
        busy, frozen, ok = r.busy, r.following, self._panel_config() is not None
        b = self.buttons
        b["Step"].disabled = b["Run"].disabled = busy or frozen or not ok or r.finished
        b["Step"].button_style = "" if b["Step"].disabled else "primary"
        b["Pause"].disabled = not busy or r.pausing or r.stopping
        b["Stop"].disabled = not busy or r.stopping
        b["Reset"].disabled = busy or frozen or not ok
        b["Export"].disabled = self.which.disabled = busy or frozen or state is None
        self.slider.disabled = state is None or not r.history
        self.branch_button.disabled = busy or not ok or self.slider.value == 0 or not r.history

    def grade_with(self, table) -> bool:
        """Grade this search's finished steps against a space table (its folder, or a SpaceTable):
        the step the slider shows gets its grade under the slider, its tried edges their truth in
        the DAG's hover. When the table cannot grade it (no search yet, another space or other proxy
        settings, e.g. a branch that changed --epochs) the panel says why in one line: False."""
        try:
            self.truth = load_truth(table, self.record)
        except ConfigError as e:
            self.truth = None
            self.message.value = views.error_line(f"not graded: {e}")
            return False
        self._draw_view()
        return True

    def _draw_view(self) -> None:
        with self.runner.lock:
            preview = None
            record = self.runner.record
            if record is None:
                cfg = self._panel_config()
                preview = initial_cell(cfg) if cfg else None
            v = views.view_at(record, self.slider.value, self.runner.progress.training, preview)
            if v.cell is None:
                return
            done = v.step.step if v.step is not None and v.step.done else None
            grade = step_grade(record, done, self.truth) if self.truth and record else None
            states = truth_states(v.states, grade)
            if self._dag_nodes != v.cell.nodes:
                self.dag.show(plot.dag_figure(v.cell, states, title=_dag_title(v)))
                self._dag_nodes = v.cell.nodes
            else:
                with self.dag.edit() as fig:
                    plot.update_dag(fig, v.cell, states)
                    fig.layout.title.text = _dag_title(v)
            self.slider_text.value = (views.slider_note(record, self.slider.value, _dag_title(v))
                                      + (f"<br>{html.escape(grade_text(grade))}" if grade else ""))
            self.table.value = views.candidates_html(v.step, self.runner.progress.training)
            self.step_note.value = _step_notes(v.step, record, self._parent)
            self._shown_step = v.step
            choices = views.candidate_choices(v.step)
            if list(self.inspect.options) != choices:
                views.set_options(self.inspect, choices, "")          # a new step: nothing inspected
            self._draw_status()

    def _draw_inspected(self) -> None:
        """The candidate chosen in the inspect menu, in the training figure (else what training shows)."""
        edge, step = self.inspect.value, self._shown_step
        if not edge or step is None:
            self._draw_training()
            return
        title, curve = views.candidate_view(self.runner.record, step, edge)
        self._show_training(curve, title=title)

    def _draw_status(self) -> None:
        record = self.runner.record
        cfg = self._panel_config() if record is None else None
        self.status.value = views.status_html(self.runner.progress.phase, record, cfg, self.runner.save_dir)
        self.estimate.value = f"<span style='color:#555'>{html.escape(views.estimate_text(record, cfg))}</span>"

    def _draw_bars(self) -> None:
        p = self.runner.progress
        self.bar_candidates.max, self.bar_candidates.value = max(p.count, 1), p.done
        self.bar_epochs.max, self.bar_epochs.value = max(p.epochs, 1), p.epoch
        since = self._epoch_since
        spent = "" if since is None else f" · {_clock(time.monotonic() - since)} into this epoch"
        self.bar_text.value = views.bars_text(p.done, p.count, p.epoch, p.epochs) + spent

    def _tick_while_busy(self) -> None:
        """Redraw the bars every second while the runner trains (an epoch tells nothing until it ends)."""
        while self.runner.busy:
            time.sleep(1.0)
            with self.runner.lock:       # one drawer at a time: the runner's drawing thread holds it too
                self._draw_bars()

    def _draw_all(self, to: str | None = "latest") -> None:
        """Redraw everything; the history slider moves `to` the "latest" step, the "best" one
        (when there is one), or stays (None)."""
        with self.runner.lock:
            n, record = len(self.runner.history), self.runner.record
            self._parent = parent_config(self.runner.save_dir, record)
            self.slider.max = n
            best = views.best_position(record)
            if to == "best" and best is not None:
                self.slider.value = best
            elif to is not None:
                self.slider.value = n
            choices = views.export_choices(record)
            if list(self.which.options) != choices:
                views.set_options(self.which, choices, self.which.value if self.which.value in choices else "best")
            self._draw_view()
            self.curves.show(plot.curves_figure(record, self._parent))
            self._draw_training()
            cfg = self._panel_config() if record is None else SearchConfig.from_dict(record.config)
            self.table_head.value = views.candidates_header(record, self._panel_config())
            self.formula.value = _formula_html(cfg)
            self._buttons()

    def _show_training(self, curve, title=None) -> None:
        with self.training.edit() as fig:
            plot.update_training(fig, curve, title=title)

    def _training_title(self, step: int) -> str:
        """The shown candidate, and the others training alongside it (their curves are not drawn)."""
        p = self.runner.progress
        title = views.training_title(step, None if p.shown == "final" else p.shown)
        others = [views.edge_text(e) for e in p.training if tuple(e) != p.shown]
        if not others:
            return title
        more = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        return f"{title}<br><sup>also training now, not drawn: without {more}</sup>"

    def _draw_training(self) -> None:
        """The training figure from the runner's progress, else from the record (views.training_view)."""
        title, curve = views.training_view(self.runner.record, self.runner.progress)
        self._show_training(curve, title=title)

    # --- what the runner tells (in whichever thread runs the search)
    def _on_change(self, change) -> None:
        {PhaseChanged: self._ch_phase, BusyChanged: self._ch_busy, SaveChanged: self._ch_save,
         Refreshed: self._ch_refresh, CandidateStarted: self._ch_candidate_start, CandidateEpoch: self._ch_epoch,
         CandidateDone: self._ch_candidate_done, StepDone: self._ch_step_done,
         SearchFinished: self._ch_finished}[type(change)](change)

    def _ch_phase(self, _: PhaseChanged) -> None:
        self._draw_status()
        self._buttons()

    def _ch_save(self, change: SaveChanged) -> None:
        self.inputs["save"].value = change.save

    def _ch_busy(self, _: BusyChanged) -> None:
        r = self.runner
        if r.busy:
            self.errors.value = ""
            threading.Thread(target=self._tick_while_busy, daemon=True).start()
        else:
            self._epoch_since = None
            self._draw_bars()
            self.errors.value = (f"<pre style='color:#c00;white-space:pre-wrap;font-size:11px'>"
                                 f"{html.escape(r.trace)}</pre>") if r.trace else ""
            self._draw_view()
        self._buttons()

    def _ch_refresh(self, _: Refreshed) -> None:
        self._draw_all(to="latest" if self.slider.value == self.slider.max else None)

    def _ch_candidate_start(self, e: CandidateStarted) -> None:
        p = self.runner.progress
        self._epoch_since = time.monotonic()
        if p.shown != self._shown:
            self._shown = p.shown
            self._show_training([], title=self._training_title(e.step))
        elif e.edge is not None:
            self._show_training(p.curves.get(p.shown, []), title=self._training_title(e.step))
        self._draw_bars()
        self._draw_status()
        if e.edge is not None and self.slider.value == self.slider.max:
            self._draw_view()

    def _ch_epoch(self, e: CandidateEpoch) -> None:
        p = self.runner.progress
        key = tuple(e.edge) if e.edge is not None else "final"
        if key == p.shown:
            self._epoch_since = time.monotonic()
            self._show_training(p.curves[key])
            self._draw_bars()

    def _ch_candidate_done(self, _: CandidateDone) -> None:
        self._draw_bars()
        if self.slider.value == self.slider.max:
            self._draw_view()
        else:
            self._draw_status()

    def _ch_step_done(self, _: StepDone) -> None:
        self.exported.value = ""
        self._draw_all(to="latest" if self.slider.value == self.slider.max else None)

    def _ch_finished(self, _: SearchFinished) -> None:
        self._draw_bars()
        self.exported.value = ""
        self._draw_all(to="best")

    # --- running
    def step(self) -> dict | None:
        """One shrink step (the final training once shrinking is done), in this thread; returns its
        record (the final record after the final training), None if finished or stopped."""
        return self.runner.step()

    def run(self) -> dict | None:
        """All remaining steps and the final cell, in this thread; returns the final record."""
        return self.runner.run()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background Step/Run to end."""
        self.runner.wait(timeout)

    def update(self) -> bool:
        """Reread a followed search now if search.json changed (the lab also does it every second)."""
        return self.runner.update()

    def close(self) -> None:
        """Stop following, and let go of the search (it stays on show, read-only): another process,
        or 05's Delete, may then take it; Step or Run here takes it up again. Refused while busy."""
        self.runner.let_go()
        self._buttons()

    def export(self, which: str | None = None) -> dict:
        """Write a cell into <save>/export/ as <name>.svg, .png, .json, ...: `which` is "best" (the
        default of the export menu), "final" or "step N". Returns kind -> path."""
        files, cell, name = self.runner.export(which or self.which.value)
        items = "".join(_file_item(p) for p in files.values())
        self.exported.value = (f"<b>exported</b> the {html.escape(name.removeprefix('cell-'))} cell "
                               f"({views.n_edges(cell.n_edges)}), click a file to open it:<ul>{items}</ul>")
        return files

    # --- buttons
    def _on_step(self, button=None) -> None:
        self.runner.start_step()
        self._buttons()

    def start(self) -> None:
        """Run to the end in the background, as the Run button does (Pause and Stop stay live)."""
        self.runner.start_run()
        self._buttons()

    def _on_run(self, button=None) -> None:
        self.start()

    def _on_pause(self, button=None) -> None:
        self.runner.pause()

    def _on_stop(self, button=None) -> None:
        self.runner.stop()

    def _on_reset(self, button=None) -> None:
        if self.busy:
            return
        self.runner.reset()
        self._shown = None
        self.inputs["save"].value = fresh_folder(self.inputs["save"].value.strip())
        self._draw_bars()
        self.exported.value = self.errors.value = ""
        self._on_setting()
        self._draw_all()

    def branch(self, at_step: int | None = None) -> str:
        """Branch a new search from the cell after step `at_step` (default: the step the history
        slider shows) with the panel's settings; the lab then drives the branch. Returns its folder."""
        at = self.slider.value - 1 if at_step is None else at_step
        save = self.runner.branch(at)
        cfg = self.search.cfg               # the parent's ops (drawn or given) and its resolved precision
        self.set(save=str(save), ops=cfg.ops, precision=cfg.precision)
        self._draw_all(to="latest")
        for tell in self.on_branch:
            tell(str(save))
        return str(save)

    def _on_branch(self, button=None) -> None:
        try:
            self.branch()
        except (ConfigError, LabError) as e:
            self.runner.error = e
            self.runner.set_phase(f"branch failed: {e}")

    def _on_export(self, button=None) -> None:
        try:
            self.export()
        except Exception as e:
            self.runner.error = e
            self.runner.set_phase(f"export failed: {e}" if isinstance(e, ConfigError)
                                  else f"export failed: {type(e).__name__}: {e}")

    # --- reopening
    @classmethod
    def open(cls, save, on_event=None, follow: bool = False, interval: float = 1.0, **overrides) -> "SearchLab":
        """The lab of the search saved in `save`; `overrides` (e.g. device, data) replace saved
        settings. Step and Run continue it when unfinished. With `follow`, the lab only watches:
        it rereads search.json whenever it changes (checked every `interval` seconds), e.g. while
        the command line runs the search, and its buttons that would write are off."""
        state = read_search(save)
        cfg = SearchConfig.from_dict({**state["config"], "save": str(save), **overrides})
        lab = cls(cfg, on_event=on_event)
        if follow:
            lab.runner.follow(save, interval)
        else:
            lab.runner.open(save)
        lab._draw_all(to="best" if lab.runner.finished else "latest")
        return lab
