"""The core layer: settings and plain data that every other layer reads; it imports nothing above it.

errors (ConfigError), events (what every training loop reports), formats (one format per
quantity), stats (the divergence rule, mean ± sd, Kendall's tau, p-values), disk (atomic writes,
JSON, one writer per folder), cell (the search space: a cell is a mask and ops), ops (the node ops
in torch), config (SearchConfig), record (search.json: read, write, query), runtime (seeds,
device), data (PTB and its proxy), cell_module (the standalone cell module that export copies).
"""
