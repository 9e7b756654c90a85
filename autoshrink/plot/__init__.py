"""Pictures of a search and of a cell, one module per kind; everything is re-exported here, so
`from autoshrink.plot import save_curves` and `plot.dag_figure(...)` keep working.

- layout.py: where a drawing puts the inputs, the nodes, the output and each edge's arc.
- series.py: what the pictures read from the search record (per-step series, the cell and edge
  states at a step, a step's candidates ranked, the best step).
- files.py: pictures written to files: the seed's PNG curves (`save_curves`), the static cell
  diagram (`draw_cell`), Plotly figures as one offline HTML page (`write_page`).
- figures.py: Plotly figures for the lab and the notebooks (the DAG, the step curves, the
  training curve, cells side by side, validation perplexity per cell).
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
from .files import curve_figure, draw_cell, save_curves, write_page
from .layout import INPUTS, NODE_FILL, OUTPUT, arc_extent, arc_points, bend, cell_graph, node_positions, pairs
from .series import best_step, candidates_table, cell_at, edge_key, edge_states_at, step_series

__all__ = ["DIVERGED_COLOR", "EDGE_STATES", "EDGE_STYLE", "INPUTS", "NODE_FILL", "NODE_PX", "OUTPUT", "PX",
           "SCORE_SCALE", "arc_extent", "arc_points", "bend", "best_step", "candidates_table", "cell_at",
           "cell_graph", "cells_figure", "comparison_figure", "curve_figure", "curves_figure", "dag_figure",
           "draw_cell", "edge_key", "edge_states_at", "node_positions", "pairs", "save_curves", "step_series",
           "training_figure", "update_comparison", "update_dag", "update_training", "write_page"]
