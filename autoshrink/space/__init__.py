"""Ground truth for the search space (docs/ground-truth.md): every cell of a small space trained
under the proxy with several seeds (a space table), the truth a search is graded against, and
searches replayed from the table with no training.

- cells.py: the distinct cells (after pruning) of a space with fixed ops, and their keys;
- table.py: the table's record (space.json) and its resumable, single-writer builder;
- truth.py: true values, ranks and percentiles of cells, a search's steps graded;
- replay.py: AutoShrink and random search replayed from a table, as distributions.
"""
