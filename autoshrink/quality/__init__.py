"""Judging a search: the quality report and its figures.

report (the discovered cell against random cells, random search at the same budget and the
published baselines), page (its figures, from plot/quality.py, in one file), spread (the same search under other seeds).
Sits above the search and the trainers it runs.
"""
