"""The lab's live Plotly figure: an anywidget whose synced state is the whole figure.

    fw = FigureWidget(plot.training_figure())      # show it like any widget
    with fw.edit() as fig:                         # fig is the go.Figure; every view redraws once the block ends
        plot.update_training(fig, curve)
    fw.show(plot.curves_figure(record))             # another figure altogether

`spec` (the figure as Plotly JSON) is the widget's only state: a view opened at any time (a second
output, another browser tab on the same kernel, a reloaded page) draws it with Plotly.js as the
figure is now, and every change is one new `spec` that each view draws with `Plotly.react`. The
Plotly.js the views draw with is the one the plotly package ships (offline).

Plotly.js (almost 5 MB) is not part of a figure's state: one PlotlyLibrary widget per kernel holds
it (as bytes), every figure names that widget, and the first view on a page evaluates its source.
In each figure's state it made a reloaded page with a few notebooks open fetch and import tens of
megabytes, and anywidget gives up on a model not ready within 2 s ("[anywidget] Failed to
initialize model", then "model not found" in its panel). The library comes with the kernel's
widget state, like the figures: a view draws while the kernel is busy (a Step training in a cell).
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import anywidget
import ipywidgets as W
import plotly.graph_objects as go
import traitlets
from plotly.offline import get_plotlyjs

ESM = """
async function plotly(model) {
  if (!globalThis.Plotly) {
    const ref = model.get("library") || "";
    const library = await model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, ""));
    if (!globalThis.Plotly) {   // another view may have loaded it meanwhile
      const source = library.get("source");
      (0, eval)(new TextDecoder().decode(source));   // a classic script: it defines window.Plotly
    }
  }
  if (!globalThis.Plotly) {
    throw new Error("autoshrink FigureWidget: Plotly.js did not load");
  }
  return globalThis.Plotly;
}

async function render({ model, el }) {
  const graph = document.createElement("div");
  el.appendChild(graph);
  const Plotly = await plotly(model);
  const draw = () => {
    const spec = structuredClone(model.get("spec") || {});
    Plotly.react(graph, spec.data || [], spec.layout || {}, { displaylogo: false });
  };
  draw();
  model.on("change:spec", draw);
  return () => {
    model.off("change:spec", draw);
    Plotly.purge(graph);
  };
}

export default { render };
"""


class PlotlyLibrary(W.Widget):
    """The plotly package's Plotly.js, once per kernel, for every FigureWidget's views (no view)."""
    source = traitlets.Bytes().tag(sync=True)


_library: PlotlyLibrary | None = None


def plotly_library() -> PlotlyLibrary:
    """This kernel's PlotlyLibrary (made again if it was closed)."""
    global _library
    if _library is None or getattr(_library, "comm", None) is None:
        _library = PlotlyLibrary(source=get_plotlyjs().encode())
    return _library


class FigureWidget(anywidget.AnyWidget):
    """A Plotly figure every view of which shows it as it is now (see the module docstring)."""

    _esm = ESM
    spec = traitlets.Dict().tag(sync=True)
    library = traitlets.Instance(PlotlyLibrary).tag(sync=True, **W.widget_serialization)

    def __init__(self, fig=None, **kwargs):
        super().__init__(library=plotly_library(), **kwargs)
        self.figure = go.Figure(fig)
        self._editing = 0
        self._sync()

    @contextmanager
    def edit(self):
        """Change `self.figure` in the block (nested blocks allowed); the views redraw when the
        outermost block ends."""
        self._editing += 1
        try:
            yield self.figure
        finally:
            self._editing -= 1
            if not self._editing:
                self._sync()

    def show(self, fig) -> None:
        """Show another figure in place of this one."""
        self.figure = go.Figure(fig)
        self._sync()

    def _sync(self) -> None:
        self.spec = json.loads(self.figure.to_json())
