"""The lab's live Plotly figure: an anywidget whose synced state is the whole figure.

    fw = FigureWidget(plot.training_figure())      # show it like any widget
    with fw.edit() as fig:                         # fig is the go.Figure; every view redraws once the block ends
        plot.update_training(fig, curve)
    fw.show(plot.curves_figure(record))             # another figure altogether

`spec` (the figure as Plotly JSON) is the widget's only state: a view opened at any time (a second
output, another browser tab on the same kernel, a reloaded page) draws it with Plotly.js as the
figure is now, and every change is one new `spec` that each view draws with `Plotly.react`. The
Plotly.js the views draw with is the one the plotly package ships (offline).

Plotly.js (almost 5 MB) is not part of the widget's state: it is sent once per page, when the first
view finds no Plotly there, as the reply to a custom message ("plotly.js?"). In the state, every
figure's model would carry it: a reloaded page with a few notebooks open then fetched and imported
tens of megabytes, and anywidget gives up on a model not ready within 2 s ("[anywidget] Failed to
initialize model", then "model not found" in its panel).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from functools import cache

import anywidget
import plotly.graph_objects as go
import traitlets
from plotly.offline import get_plotlyjs

ESM = """
const LOADING = "__autoshrinkPlotlyJs";   // one load per page, shared by the figures of every notebook

function plotly(model) {
  if (globalThis.Plotly) {
    return Promise.resolve(globalThis.Plotly);
  }
  if (!globalThis[LOADING]) {
    globalThis[LOADING] = new Promise((resolve, reject) => {
      const got = (msg, buffers) => {
        if (!msg || msg.type !== "plotly.js") {
          return;
        }
        model.off("msg:custom", got);
        try {
          (0, eval)(new TextDecoder().decode(buffers[0]));   // a classic script: it defines window.Plotly
        } catch (e) {
          reject(e);
          return;
        }
        globalThis.Plotly ? resolve(globalThis.Plotly)
                          : reject(new Error("autoshrink FigureWidget: Plotly.js did not load"));
      };
      model.on("msg:custom", got);
      model.send({ type: "plotly.js?" });
    }).catch((e) => {
      delete globalThis[LOADING];   // the next view asks again
      throw e;
    });
  }
  return globalThis[LOADING];
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


@cache
def plotly_js() -> bytes:
    """The plotly package's Plotly.js, as the bytes a view evaluates."""
    return get_plotlyjs().encode()


class FigureWidget(anywidget.AnyWidget):
    """A Plotly figure every view of which shows it as it is now (see the module docstring)."""

    _esm = ESM
    spec = traitlets.Dict().tag(sync=True)

    def __init__(self, fig=None, **kwargs):
        super().__init__(**kwargs)
        self.figure = go.Figure(fig)
        self._editing = 0
        self.on_msg(self._on_msg)
        self._sync()

    def _on_msg(self, _, content, buffers) -> None:
        """A view with no Plotly.js on its page asks for it (see the module docstring)."""
        if isinstance(content, dict) and content.get("type") == "plotly.js?":
            self.send({"type": "plotly.js"}, [plotly_js()])

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
