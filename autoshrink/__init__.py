"""AutoShrink Lab: search an efficient RNN cell by shrinking a fully connected DAG (AAAI 2020).

Stages, one file each: config (settings), cell (the search space), data (PTB), model (the batched
RNN), train (proxy training), search (the shrink loop), plot (a package: layout, series, files,
figures), the lab (runner: the search's lifecycle and threads; views: what the panel shows;
widgets: the panel; compare: the compare panel), export, cli.
"""
from .cell import OPS, SHRINK_RNN, Cell, load_cell
from .config import ConfigError, SearchConfig
from .search import Search

__all__ = ["Cell", "ConfigError", "OPS", "SHRINK_RNN", "Search", "SearchConfig", "load_cell"]
