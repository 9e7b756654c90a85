"""The experiment bench: every run under a folder as one list, and searches compared side by side,
as ipywidgets (the lists and figures themselves come from runs.py and searches.py).

    bench = RunsLab("runs")                      # the list: pick searches, then Open, Resume, Branch or Compare
    bench                                        # show it
    bench.open("runs/search")                    # its SearchLab below the list (followed while another process runs it)
    bench.resume("runs/search")                  # opened and Run pressed: it continues in the background
    bench.branch("runs/search", 2, epochs=4)     # a branch after step 2 with other settings, driven below
    bench.compare(["runs/a", "runs/b"])          # curves, cell diff, settings and their parallel view
    bench.annotate("runs/search", "baseline")    # a tag or annotation (the note column); bench.delete(save) deletes
    SearchComparison(["runs/a", "runs/b"])       # the comparison alone, with a Save page button
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as W
from IPython.display import display

from ..core.errors import ConfigError
from ..plot.searches import (
    anytime_overlay,
    cell_diff_figure,
    curves_overlay,
    read_searches,
    settings_html,
    settings_parallel,
    write_comparison,
)
from ..runs import COLUMNS, delete_run, list_runs, row_cells, write_note
from . import views
from .runner import LabError
from .widgets import SearchLab

TIPS = {
    "Refresh": "read the folder again",
    "Open": "show the chosen search's lab below (followed, read-only, while another process writes it)",
    "Resume": "open the chosen search and press its Run: it continues where it stopped",
    "Branch": "open the chosen search at the step beside: change its settings, then press Branch from here",
    "Compare": "the chosen searches side by side: curves, discovered cells, settings",
    "Save page": "write this comparison as one offline HTML page",
    "Delete": "delete the chosen search's folder and all in it (press twice; a lab of this bench lets go of it "
              "first; refused while it runs or another process has it open)",
    "Save note": "write the note beside the chosen search (a tag or annotation: the list's note column)",
}
SORTS = {"folder": lambda r: r["folder"], "best ppl": lambda r: (r["best_ppl"] is None, r["best_ppl"] or 0.0),
         "time used": lambda r: -r["seconds"], "status": lambda r: r["status"]}


def shown_rows(rows: list[dict], text: str = "", sort: str = "folder") -> list[dict]:
    """The rows whose folder, status, settings or note contain `text` (any case), ordered by `sort` (SORTS)."""
    text = text.strip().lower()
    keep = [r for r in rows if text in " ".join(row_cells(r)).lower()]
    return sorted(keep, key=SORTS[sort])


def budget_note(rows: list[dict], sort: str) -> str:
    """A warning when the list is ranked by best ppl across runs trained for different epochs."""
    epochs = sorted({r["settings"].get("epochs") for r in rows if r["best_ppl"] is not None} - {None})
    if sort != "best ppl" or len(epochs) < 2:
        return ""
    return (f"⚠ best ppl ranks runs trained for different epochs ({', '.join(map(str, epochs))}) together: "
            f"more epochs give a lower ppl; filter by e.g. \"epochs {epochs[-1]}\" to compare like with like")


def runs_html(rows: list[dict], note: str = "") -> str:
    """The runs as an HTML table, one row each (`note` a line above it)."""
    cell = lambda text, tag="td": f"<{tag} style='padding:2px 8px;text-align:left'>{html.escape(text)}</{tag}>"
    head = "".join(cell(c, "th") for c in COLUMNS)
    body = "".join(f"<tr>{''.join(cell(t) for t in row_cells(r))}</tr>" for r in rows)
    above = f"<div class='autoshrink-runs-note-line' style='color:#a60'>{html.escape(note)}</div>" if note else ""
    return (f"{above}<table class='autoshrink-runs-table' style='border-collapse:collapse'><thead><tr>{head}</tr>"
            f"</thead><tbody>{body or '<tr><td>no runs here yet</td></tr>'}</tbody></table>")


def _figure(fig) -> W.Output:
    """A figure that is drawn once (no live updates): shown through plotly's own renderer."""
    out = W.Output()
    with out:
        display(fig)
    return out


def _button(name: str, on_click, width: str = "100px") -> W.Button:
    b = W.Button(description=name, tooltip=TIPS[name], layout=W.Layout(width=width))
    b.add_class(f"autoshrink-runs-{name.lower().replace(' ', '-')}")     # not the lab's classes: a lab shows below
    b.on_click(on_click)
    return b


class SearchComparison:
    """Two or more searches side by side: their curves overlaid, the first two's discovered cells as
    one DAG diff, every setting with the differences marked, and settings against best ppl."""

    def __init__(self, saves, page: str | None = None):
        self.saves = [str(s) for s in saves]
        self.states = read_searches(self.saves)
        self.page = W.Text(value=page or str(Path(self.saves[0]).parent / "compare.html"), description="page",
                           layout=W.Layout(width="420px"))
        self.saved = W.HTML()
        self.saved.add_class("autoshrink-compare-saved")
        parts = [W.HTML(f"<b>{' vs '.join(html.escape(s) for s in self.states)}</b>"),
                 W.HBox([self.page, _button("Save page", self._on_save)]), self.saved,
                 _figure(curves_overlay(self.states)), _figure(anytime_overlay(self.states))]
        parts += self._cells()
        parts.append(W.HTML("<b>settings</b> (differences in bold)<br>" + settings_html(self.states)))
        self.widget = W.VBox(parts)
        self.widget.add_class("autoshrink-comparison")

    def _cells(self) -> list:
        """The cell diff and the parallel view, or a line saying why one can't be drawn."""
        out = []
        for figure in (cell_diff_figure, settings_parallel):
            try:
                out.append(_figure(figure(self.states)))
            except ConfigError as e:
                out.append(W.HTML(f"<span style='color:#777'>{html.escape(str(e))}</span>"))
        return out

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def save(self, path: str | None = None) -> Path:
        """The comparison as one offline HTML page (default: the page field's path)."""
        written = write_comparison(self.saves, path or self.page.value.strip())
        self.saved.value = f"saved {html.escape(str(written))}"
        return written

    def _on_save(self, button=None) -> None:
        try:
            self.save()
        except (ConfigError, OSError) as e:
            self.saved.value = views.error_line(e)


class RunsLab:
    """Every search, quality report and final training under `folder`, and what to do with searches:
    open (or follow) one, resume it, branch it at a step, compare several. What is opened shows below."""

    def __init__(self, folder="runs", **overrides):
        self.overrides = overrides            # settings every opened search takes instead of its own (device, data)
        self.lab = self.comparison = None     # what is shown below the list
        self.labs: dict[str, SearchLab] = {}  # folder -> the lab driving it here (reopened as it was)
        self.rows: list[dict] = []
        self.folder = W.Text(value=str(folder), description="runs folder", layout=W.Layout(width="360px"))
        self.table = W.HTML()
        self.table.add_class("autoshrink-runs")
        self.chosen = W.SelectMultiple(options=[], description="searches", rows=6, layout=W.Layout(width="640px"))
        self.chosen.add_class("autoshrink-runs-chosen")
        self.at_step = W.IntText(value=0, description="at step", layout=W.Layout(width="160px"),
                                 tooltip="the step whose cell Branch starts from (counted from 0)")
        self.at_step.add_class("autoshrink-runs-at-step")
        self.message = W.HTML()
        self.message.add_class("autoshrink-runs-message")
        self.filter = W.Text(description="filter", placeholder="part of a folder, status, setting or note",
                             continuous_update=False, layout=W.Layout(width="360px"))
        self.sort = W.Dropdown(options=list(SORTS), value="folder", description="sort by",
                               layout=W.Layout(width="220px"))
        for w in (self.filter, self.sort):
            w.observe(lambda change: self._act(self.refresh), names="value")
        self.note = W.Text(description="note", placeholder="a tag or annotation for the chosen search",
                           layout=W.Layout(width="420px"))
        self.note.add_class("autoshrink-runs-note")
        self._armed = None                    # the folder a first press of Delete chose
        self.parallel = W.VBox()
        self.below = W.Output()
        buttons = [_button(n, getattr(self, f"_on_{n.lower()}"))
                   for n in ("Open", "Resume", "Branch", "Compare", "Delete")]
        self.widget = W.VBox([
            W.HTML("<b>AutoShrink Lab: runs</b>"), W.HBox([self.folder, _button("Refresh", self._on_refresh)]),
            W.HBox([self.filter, self.sort]), self.table, self.chosen, W.HBox([*buttons, self.at_step]),
            W.HBox([self.note, _button("Save note", self._on_save_note)]), self.message, self.parallel, self.below])
        self.widget.add_class("autoshrink-runs-lab")
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def refresh(self) -> list[dict]:
        """Read the folder again: the table, the searches to choose from and the parallel view."""
        try:
            self.rows = list_runs(self.folder.value.strip())
        except ConfigError as e:
            self.rows, self.message.value = [], views.error_line(e)
        shown = shown_rows(self.rows, self.filter.value, self.sort.value)
        self.table.value = runs_html(shown, budget_note(shown, self.sort.value))
        searches = [r for r in shown if r["kind"] == "search" and r["status"] != "unreadable"]
        options = [(f"{r['folder']} · {r['status']} · {r['steps']} steps", r["folder"]) for r in searches]
        kept = tuple(v for v in self.chosen.value if v in {f for _, f in options})     # what is still listed
        views.set_options(self.chosen, options, kept)
        self.parallel.children = self._parallel([r["folder"] for r in searches])
        return self.rows

    def _parallel(self, saves: list[str]) -> tuple:
        if len(saves) < 2:
            return ()
        try:
            return (_figure(settings_parallel(read_searches(saves))),)
        except ConfigError:
            return ()

    def _elsewhere(self, save: str) -> bool:
        """Whether another process holds the search in `save` open (running it, or a lab that has it)."""
        row = next((r for r in self.rows if r["kind"] == "search" and r["folder"] == str(save)), {})
        return row.get("owner") not in (None, os.getpid())

    def _show(self, widget) -> None:
        """Show `widget` below the list (left as it is when it is on show already)."""
        if widget is self.lab or widget is self.comparison:
            return
        self.below.clear_output()
        with self.below:
            display(widget)

    def open(self, save) -> SearchLab:
        """The search in `save` in a lab below the list: followed read-only while another process
        writes it, else driven here (the lab opened for it before, when there is one)."""
        save = str(save)
        if self.lab is not None and self.lab.following:
            self.lab.close()
        follow = self._elsewhere(save)
        lab = None if follow else self._opened(save)
        if lab is None:
            lab = SearchLab.open(save, follow=follow, **self.overrides)
            lab.on_branch.append(lambda branch, lab=lab: self._branched(lab, branch))
            if not follow:
                self.labs[save] = lab
        self._show(lab)
        self.lab, self.comparison = lab, None
        self.message.value = f"opened {html.escape(save)}" + (" (following it)" if follow else "")
        return lab

    def _opened(self, save: str) -> SearchLab | None:
        """The lab this bench opened for `save`, while it still drives that folder (a branch moves it on)."""
        lab = self.labs.get(save)
        if lab is None or Path(lab.runner.save_dir or "").resolve() == Path(save).resolve():
            return lab
        del self.labs[save]
        return None

    def resume(self, save) -> SearchLab:
        """Open the search in `save` and run it to its end in the background (the Run button)."""
        if self._elsewhere(save):
            raise LabError(f"{save} is open in another process; Open follows it, or close it there to resume it here")
        lab = self.open(save)
        if lab.busy:
            self.message.value = f"{html.escape(str(save))} is already running here"
            return lab
        if lab.runner.finished:
            self.message.value = f"{html.escape(str(save))} is finished: nothing to resume"
            return lab
        lab.start()
        self.message.value = f"resumed {html.escape(str(save))}"
        return lab

    def branch(self, save, at_step: int, **changes) -> SearchLab:
        """A branch of the search in `save` after step `at_step`, with `changes` to its settings,
        driven by the lab below (press Step or Run there)."""
        lab = self.open(save)
        lab.set(**changes)
        lab.branch(at_step)                   # _branched lists it
        self.message.value = (f"branched {html.escape(str(save))} after step {at_step} into "
                              f"{html.escape(lab.runner.save_dir.as_posix())}")
        return lab

    def _branched(self, lab: SearchLab, branch: str) -> None:
        """A lab opened here branched (its button or branch()): it drives the branch, now in the list."""
        for folder in [f for f, known in self.labs.items() if known is lab]:
            del self.labs[folder]
        self.labs[str(branch)] = lab
        self._act(self.refresh)

    def compare(self, saves) -> SearchComparison:
        """The searches in `saves` side by side below the list."""
        comparison = SearchComparison(saves, page=str(Path(self.folder.value.strip()) / "compare.html"))
        if self.lab is not None and self.lab.following:
            self.lab.close()
        self._show(comparison)
        self.lab, self.comparison = None, comparison
        self.message.value = f"comparing {len(comparison.saves)} searches"
        return comparison

    def delete(self, save) -> None:
        """Delete the search in `save`, its folder and all in it (runs.delete_run says when it may not)."""
        lab = self._opened(str(save))
        if lab is not None:                   # this bench's own lab holds it: let go of it first (refused while busy)
            lab.close()
            self.refresh()
        delete_run(save, self.rows)
        self.labs.pop(str(save), None)
        if self.lab is lab and lab is not None:
            self.below.clear_output()
            self.lab = None
        self.refresh()
        self.message.value = f"deleted {html.escape(str(save))}"

    def annotate(self, save, text: str) -> None:
        """Tag or annotate the search in `save` (the list's note column; an empty text removes it)."""
        write_note(save, text)
        self.refresh()
        self.message.value = f"noted {html.escape(str(save))}"

    def close(self) -> None:
        """Stop following what is followed; searches opened here stay open (a running one runs on)."""
        if self.lab is not None and self.lab.following:
            self.lab.close()

    # --- buttons
    def _one(self) -> str:
        if len(self.chosen.value) != 1:
            raise LabError(f"choose one search in the list ({len(self.chosen.value)} chosen)")
        return self.chosen.value[0]

    def _act(self, action) -> None:
        try:
            action()
        except (ConfigError, LabError) as e:
            self.message.value = views.error_line(e)

    def _on_refresh(self, button=None) -> None:
        self._act(self.refresh)

    def _on_open(self, button=None) -> None:
        self._act(lambda: self.open(self._one()))

    def _on_resume(self, button=None) -> None:
        self._act(lambda: self.resume(self._one()))

    def _on_branch(self, button=None) -> None:
        self._act(self._branch_here)

    def _branch_here(self) -> None:
        lab = self.open(self._one())
        steps = lab.slider.max
        if not 0 <= self.at_step.value < steps:
            raise LabError(f"at step {self.at_step.value}: this search has finished steps 0 to {steps - 1}")
        lab.slider.value = self.at_step.value + 1
        self.message.value = (f"{html.escape(self._one())} at step {self.at_step.value}: change its settings below, "
                              "then press Branch from here")

    def _on_delete(self, button=None) -> None:
        self._act(self._delete_chosen)

    def _delete_chosen(self) -> None:
        save = self._one()
        if self._armed != save:
            self._armed = save
            self.message.value = f"press Delete again to delete {html.escape(save)} and everything in it"
            return
        self._armed = None
        self.delete(save)

    def _on_save_note(self, button=None) -> None:
        self._act(lambda: self.annotate(self._one(), self.note.value))

    def _on_compare(self, button=None) -> None:
        self._act(lambda: self.compare(list(self.chosen.value)))
