"""AutoShrink Lab: search an efficient RNN cell by shrinking a fully connected DAG (AAAI 2020).

One file per stage (docs/algorithm.md describes the method):
- settings and plain data: errors (ConfigError), config (SearchConfig, presets), cell (the search
  space), ops (the node ops in torch), disk (atomic writes, JSON, one writer per folder), record
  (search.json: read, write, query; load_cell), runtime (seeds, device), stats (the divergence
  rule, mean ± sd, Kendall's tau, permutation p-value), formats (one format per quantity), data
  (PTB and its proxy);
- proxy training: model (K cells in one batched model), fused and fused_cell (fast kernels),
  precision, graphs (the training step, eager or as a CUDA graph), checkpoint (the training in
  flight), train (train_cells), proxy (one cell), backend (here or Ray tasks), events (what every
  training loop reports: typed records);
- the search: search (the shrink loop), spread (the same search under other seeds);
- final training and judging: final_config, final_model, final (the published recipe), quality (the report),
  quality_plot (its figures);
- faces: plot (a package: layout, series, files, figures), runner (the lab's lifecycle), worker
  (one job at a time: thread, pause, stop), views, figure_widget, widgets (the search panel),
  compare (the compare panel), final_lab, runs and searches (every run; searches side by side),
  bench (both as a panel), export and cell_module (the standalone module it writes), cli.

`import autoshrink` stays light: Search (and with it torch) loads when first asked for.
"""
from .cell import OPS, SHRINK_RNN, Cell
from .config import SearchConfig
from .errors import ConfigError
from .record import load_cell

__all__ = ["Cell", "ConfigError", "OPS", "SHRINK_RNN", "Search", "SearchConfig", "load_cell"]


def __getattr__(name: str):
    if name == "Search":
        from .search import Search
        return Search
    raise AttributeError(f"module 'autoshrink' has no attribute {name!r}")
