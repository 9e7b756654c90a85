"""The quality report's page: its figures (plot/quality.py) in one offline HTML file."""
from __future__ import annotations

from pathlib import Path

from ..core.record import SearchRecord
from ..plot.page import write_page
from ..plot.quality import pareto_figure, quality_figure, tau_figure
from .report import proxy_final_tau


def write_figures(report: dict, state: dict, path, final: dict | None = None) -> Path:
    """The report's figures in one offline HTML page."""
    figs = [quality_figure(report), pareto_figure(SearchRecord.from_dict(state))]
    if final:
        figs.append(tau_figure(proxy_final_tau(report, final)))
    return write_page(path, "Search quality", figs)
