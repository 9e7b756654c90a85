"""Pictures of a search and of a cell, one module per kind; everything is re-exported here, so
`from autoshrink.plot import save_curves` and `plot.dag_figure(...)` keep working.

- layout.py: where a drawing puts the inputs, the nodes, the output and each edge's arc.
- series.py: what the pictures read from the search record (per-step series, the cell and edge
  states at a step, a step's candidates ranked, the best step).
A *figure* is Plotly, a *picture* is matplotlib:
- figures.py: Plotly figures for the lab and the notebooks (the DAG, the step curves, the
  training curve, cells side by side, validation perplexity per cell).
- landscape.py, quality.py, searches.py: Plotly figures of a space table, of the quality report
  and final training, and of searches side by side.
- page.py: Plotly figures as one offline HTML page (`write_page`).
- pictures.py: matplotlib pictures written to files: the seed's PNG curves (`save_curves`) and
  the static cell diagram (`draw_cell`).
"""
from .figures import (
                      DIVERGED_COLOR,
                      EDGE_STATES,
                      EDGE_STYLE,
                      NODE_PX,
                      PX,
                      SCORE_SCALE,
                      cells_figure,
                      comparison_figure,
                      curves_figure,
                      dag_figure,
                      training_figure,
                      update_comparison,
                      update_dag,
                      update_training,
)
from .layout import INPUTS, NODE_FILL, OUTPUT, arc_extent, arc_points, bend, cell_graph, node_positions, pairs
from .page import write_page
from .pictures import curve_picture, draw_cell, save_curves
from .series import best_step, candidates_table, cell_at, edge_key, edge_states_at, step_series

__all__ = ["DIVERGED_COLOR", "EDGE_STATES", "EDGE_STYLE", "INPUTS", "NODE_FILL", "NODE_PX", "OUTPUT", "PX",
           "SCORE_SCALE", "arc_extent", "arc_points", "bend", "best_step", "candidates_table", "cell_at",
           "cell_graph", "cells_figure", "comparison_figure", "curve_picture", "curves_figure", "dag_figure",
           "draw_cell", "edge_key", "edge_states_at", "node_positions", "pairs", "save_curves", "step_series",
           "training_figure", "update_comparison", "update_dag", "update_training", "write_page"]
