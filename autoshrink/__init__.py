"""AutoShrink Lab: search an efficient RNN cell by shrinking a fully connected DAG (AAAI 2020).

One folder per layer, each importing only those before it: docs/architecture.md holds the module
map, docs/algorithm.md describes the method.

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
