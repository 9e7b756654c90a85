"""The lab: what the notebooks show and drive; nothing below imports it.

runner (a search's lifecycle in the lab), worker (one job at a time: thread, pause, stop), views
(tables and figures of a record), figure_widget, widgets (the search panel: SearchLab), compare
(the compare panel), final_lab (final training in a panel), runs (every run in a folder),
searches (searches side by side), bench (runs and comparisons as a panel).
"""
