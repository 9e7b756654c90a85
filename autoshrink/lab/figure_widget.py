"""The lab's live Plotly figure: an anywidget whose synced state is the whole figure.

    fw = FigureWidget(plot.training_figure())      # show it like any widget
    with fw.edit() as fig:                         # fig is the go.Figure; every view redraws once the block ends
        plot.update_training(fig, curve)
    fw.show(plot.curves_figure(record))             # another figure altogether

`spec` (the figure as Plotly JSON) is the widget's only state: a view opened at any time (a second
output, another browser tab on the same kernel, a reloaded page) draws it with Plotly.js as the
figure is now, and every change is one new `spec` that each view draws with `Plotly.react`. The
Plotly.js the views draw with is the one the plotly package ships (offline).
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import anywidget
import plotly.graph_objects as go
import traitlets
from plotly.offline import get_plotlyjs

ESM = """
const PLOTLY_JS = %s;

function plotly() {
  if (!globalThis.Plotly) {
    (0, eval)(PLOTLY_JS);   // a classic script in the page's global scope: it defines window.Plotly
  }
  if (!globalThis.Plotly) {
    throw new Error("autoshrink FigureWidget: Plotly.js did not load");
  }
  return globalThis.Plotly;
}

function render({ model, el }) {
  const Plotly = plotly();
  const graph = document.createElement("div");
  el.appendChild(graph);
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


class FigureWidget(anywidget.AnyWidget):
    """A Plotly figure every view of which shows it as it is now (see the module docstring)."""

    _esm = ESM % json.dumps(get_plotlyjs(), ensure_ascii=False)
    spec = traitlets.Dict().tag(sync=True)

    def __init__(self, fig=None, **kwargs):
        super().__init__(**kwargs)
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
