"""The cells panel: `CellsLab` trains cells one after another under one proxy setting and
shows validation perplexity per epoch, one line per cell, and a summary table.

    cmp = CellsLab({"ShrinkRNN": SHRINK_RNN, "mine": saved_cell("search-run")}, cfg)
    cmp            # show it
    cmp.run()      # train them; cmp.summary() is the table

`on_event(name, event)` is told each cell's training events (events.EpochDone, TrainingDone).
"""
from __future__ import annotations

import html

import ipywidgets as W

from .. import plot
from ..core import formats
from ..core.cell import Cell
from ..core.config import SearchConfig
from ..core.events import EpochDone
from . import views
from .figure_widget import FigureWidget
from .runner import train_each


class CellsLab:
    """Cells trained one after another under one proxy setting, with a live validation-ppl plot
    and a summary table. Each cell is its own batch (K = 1), so cells of any size compare."""

    def __init__(self, cells: dict[str, Cell], cfg: SearchConfig, on_event=None):
        self.cells, self.cfg, self.on_event = dict(cells), cfg.check(), on_event
        self.results: dict = {}
        self._curves = {name: [] for name in self.cells}
        self.figure = FigureWidget(plot.comparison_figure(list(self.cells), formats.recipe(cfg)))
        self.figure.add_class("autoshrink-compare")
        self.bar = W.IntProgress(min=0, max=len(self.cells) * cfg.epochs, description="epochs")
        self.status = W.HTML("ready: call run()")
        self.status.add_class("autoshrink-status")
        self.table = W.HTML(views.html_table([], [], "no cell trained yet"))
        self.table.add_class("autoshrink-table")
        self.heading = W.HTML(self.caption())
        self.widget = W.VBox([W.HBox([self.bar, self.status]), self.figure, self.heading, self.table])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def run(self, should_stop=None) -> dict:
        """Train every cell not trained yet; returns name -> train.Result."""
        current = []

        def start(name, cell, device):
            if self.results:
                self.table.value = views.html_table(self.rows(), self.COLUMNS)
            current[:] = [name]
            self.status.value = f"training <b>{html.escape(name)}</b> ({cell.n_edges} edges) on {device}"

        def relay(name, event):
            if isinstance(event, EpochDone):
                self._curves[name].append({"epoch": event.epoch, "epochs": event.epochs,
                                           "train_loss": event.train_loss, "val_loss": event.val_loss})
                with self.figure.edit() as fig:
                    plot.update_comparison(fig, name, self._curves[name])
                self.bar.value += 1
            if self.on_event is not None:
                self.on_event(name, event)

        done = train_each(self.cells, self.cfg, self.results, on_start=start, on_event=relay, should_stop=should_stop)
        self.table.value = views.html_table(self.rows(), self.COLUMNS)
        if not done:
            self.status.value = f"stopped during {html.escape(current[0])}"
            return self.results
        self.bar.value = self.bar.max
        self.status.value = "done"
        return self.results

    def caption(self) -> str:
        return f"<b>validation perplexity after training</b> ({html.escape(formats.recipe(self.cfg))})"

    def summary(self):
        """The summary table with its training budget, for a notebook cell to show."""
        from IPython.display import HTML
        return HTML(self.caption() + views.html_table(self.rows(), self.COLUMNS, "no cell trained yet"))

    COLUMNS = [("name", "cell"), ("nodes", "nodes"), ("edges", "edges"), ("ppl", "val ppl"), ("flops", "flops"),
               ("params", "params"), ("seconds", "seconds"), ("epochs", "epochs"), ("ended", "ended")]

    def rows(self) -> list[dict]:
        """One summary row per trained cell, in the cells' order (Ray tasks end in any order): name,
        nodes, edges, ppl, flops, params, seconds, epochs, ended."""
        out = []
        for name, r in ((n, self.results[n]) for n in self.cells if n in self.results):
            cell = self.cells[name].prune()
            out.append(dict(name=name, nodes=cell.nodes, edges=cell.n_edges, ppl=r.ppl, flops=r.flops,
                            params=r.params, seconds=r.seconds, epochs=r.epochs, ended=r.ended))
        return out
