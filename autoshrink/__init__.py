"""AutoShrink Lab: search an efficient RNN cell by shrinking a fully connected DAG (AAAI 2020).

One folder per layer, each importing only those before it (docs/algorithm.md describes the method):
- core/: errors, events, formats, stats, disk, cell, ops, config, record, runtime, data, cell_module
  (settings and plain data);
- proxy/: model, fused, fused_cell, precision, graphs, checkpoint, train (proxy training);
- final/: config, model, run (final training);
- plot/: layout, series, files, figures;
- the engine: backend (here or Ray tasks), one_cell (one cell under the proxy), search (the shrink
  loop), export (a cell written out);
- quality/: report, plot, spread (judging a search);
- lab/: runner, worker, views, figure_widget, widgets, compare, final_lab, runs, searches, bench;
- cli (the command line).

`import autoshrink` stays light: Search (and with it torch) loads when first asked for.
"""
from .core.cell import OPS, SHRINK_RNN, Cell
from .core.config import SearchConfig
from .core.errors import ConfigError
from .core.record import load_cell

__all__ = ["Cell", "ConfigError", "OPS", "SHRINK_RNN", "Search", "SearchConfig", "load_cell"]


def __getattr__(name: str):
    if name == "Search":
        from .search import Search
        return Search
    raise AttributeError(f"module 'autoshrink' has no attribute {name!r}")
