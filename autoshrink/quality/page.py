"""The quality report's page: its figures (plot/quality.py) in one offline HTML file, and the
judged run's own figure."""
from __future__ import annotations

from pathlib import Path

from ..core.record import SearchRecord
from ..plot.page import write_page
from ..plot.quality import pareto_figure, quality_figure, tau_figure
from ..plot.strategies import trainings_figure
from .report import JudgedRun, proxy_final_tau


def run_figure(save):
    """The judged run's own figure: a search's candidates and their Pareto front, or another
    strategy's trainings and its incumbent."""
    judged = JudgedRun(Path(save))
    return pareto_figure(SearchRecord.from_dict(judged.state)) if judged.state else trainings_figure(judged.strategy)


def write_figures(report: dict, save, path, final: dict | None = None) -> Path:
    """The report's figures in one offline HTML page (`save`: the judged run's folder)."""
    figs = [quality_figure(report), run_figure(save)]
    if final:
        figs.append(tau_figure(proxy_final_tau(report, final)))
    return write_page(path, "Search quality", figs)
