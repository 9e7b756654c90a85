"""The lab's Plotly FigureWidget, whose picture survives a new view of it.

plotly's FigureWidget sends every change to the views open now as a message (restyle, relayout,
update, ...) but keeps the state that a new view is built from (`_widget_data`, `_widget_layout`)
as it was when the figure was made or last displayed on its own. A lab shown again (a new browser
tab on the same kernel, a reloaded page, the notebook reopened) then drew its figures as they
were at the start. This FigureWidget brings that state up to date after every change it sends.
"""
from __future__ import annotations

from copy import deepcopy

import plotly.graph_objects as go

SENDS = ("_send_relayout_msg", "_send_restyle_msg", "_send_addTraces_msg", "_send_moveTraces_msg",
         "_send_update_msg", "_send_animate_msg", "_send_deleteTraces_msg")


class FigureWidget(go.FigureWidget):
    def keep_view_state(self) -> None:
        """Make the state a new view starts from the figure as it is now."""
        self._widget_layout = deepcopy(self._layout_obj._props)
        self._widget_data = deepcopy(self._data)

    @property
    def view_state_current(self) -> bool:
        """Whether a view opened now would show the figure as it is."""
        return self._widget_data == self._data and self._widget_layout == self._layout_obj._props


def _then_keep(name: str):
    send = getattr(go.FigureWidget, name)

    def sending(self, *args, **kwargs):
        send(self, *args, **kwargs)
        self.keep_view_state()
    sending.__name__ = name
    return sending


for _name in SENDS:
    setattr(FigureWidget, _name, _then_keep(_name))
