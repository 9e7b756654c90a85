"""A search strategy other than AutoShrink, trained for real in a panel (what notebook 01's search
panel shows when its strategy menu names another strategy: StrategyLab.beside): a strategy menu,
its budget, Start / Stop, and as it trains the cell it just trained (the edges its move added and
removed), every training's score with the pick's, and the trainings as a table.

    lab = StrategyLab(SearchConfig.preset("tiny", save="runs/local"), strategy="local", budget=20)
    lab                    # the panel
    lab.run()              # or train here until the budget is spent (Start does it in the background)
    StrategyLab.open("runs/local")      # a run saved before: shown, and Start continues it

The run is strategy_run.StrategyRun (strategy.json, resumable, one writer). Its training thread
only publishes: each StrategyTold event carries a copy of the record, and the panel draws from
that copy alone, never from the live record.
"""
from __future__ import annotations

import ipywidgets as W

from ..core.config import SearchConfig
from ..core.events import StrategyTold
from ..plot.figures import dag_figure
from ..plot.strategies import trainings_figure
from ..strategies import PUBLISHED, STRATEGIES
from ..strategy_run import StrategyRun, holds_run
from .figure_widget import FigureWidget
from .replay import move_states
from .worker import Worker

CHOICES = [n for n in STRATEGIES if n != PUBLISHED]


def trainings_rows_html(record: dict) -> str:
    head = "<tr><th>#</th><th>cell</th><th>table seed</th><th>perplexity</th><th>score</th><th>pick after</th></tr>"
    picks = record.get("incumbents") or []
    body = "".join(
        f"<tr><td>{n + 1}</td><td>{t['key']}</td><td>{t['seed']}</td>"
        f"<td>{'diverged' if t['ppl'] is None else format(t['ppl'], '.2f')}</td>"
        f"<td>{'-' if t['score'] is None else format(t['score'], '.2f')}</td>"
        f"<td>{picks[n] if n < len(picks) else ''}</td></tr>" for n, t in enumerate(record["trainings"]))
    return f"<table class='autoshrink-trainings'>{head}{body}</table>"


class StrategyLab:
    """The panel (see the module docstring)."""

    def __init__(self, cfg: SearchConfig, strategy: str = "local", budget: int = 20, seeds: int = 4):
        self.cfg, self.run_ = cfg, None
        self.worker = Worker("the strategy is training; press Stop or call wait() first", on_end=self._ended)
        style = {"description_width": "70px"}
        self.strategy = W.Dropdown(options=CHOICES, value=strategy, description="strategy", style=style,
                                   tooltip="; ".join(f"{n}: {STRATEGIES[n].about}" for n in CHOICES))
        self.budget = W.IntText(value=budget, description="budget", style=style, layout=W.Layout(width="170px"),
                                tooltip="trainings the strategy may make, re-trainings included")
        self.seeds = W.IntText(value=seeds, description="seeds", style=style, layout=W.Layout(width="150px"),
                               tooltip="table seeds its trainings draw weights from (as a space table's)")
        self.start_button, self.stop_button = W.Button(description="Start"), W.Button(description="Stop")
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.status, self.table = W.HTML(), W.HTML()
        self.dag, self.curve = FigureWidget(), FigureWidget()
        self.box = W.VBox([W.HBox([self.strategy, self.budget, self.seeds, self.start_button, self.stop_button]),
                           self.status, W.HBox([self.dag, self.curve]), self.table])
        self.box.add_class("autoshrink-strategy-panel")
        self._say(f"Start trains {strategy}'s cells into {cfg.save} (strategy.json), one training at a time.")

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    @classmethod
    def open(cls, save, **overrides) -> "StrategyLab":
        """The run saved in `save`: drawn as recorded; Start continues it."""
        lab = cls.__new__(cls)
        run = StrategyRun.resume(save, on_event=None)
        r = run.record
        cls.__init__(lab, run.cfg.replace(**overrides), r["strategy"], r["budget"], r["seeds"])
        run.on_event, lab.run_ = lab._on_event, run
        lab.draw(r)
        return lab

    @classmethod
    def beside(cls, cfg: SearchConfig, strategy: str, budget: int = 20) -> "StrategyLab":
        """`strategy` with a search panel's settings `cfg`, as that panel shows it when its strategy
        menu names it: its run goes to <save>-<strategy> (one saved there reopens) and it has no
        menu of its own."""
        folder = f"{cfg.save}-{strategy}"
        lab = cls.open(folder) if holds_run(folder) else cls(cfg.replace(save=folder), strategy, budget)
        lab.strategy.layout.display = "none"
        return lab

    def _ensure_run(self) -> StrategyRun:
        if self.run_ is None:
            self.run_ = StrategyRun(self.cfg, self.strategy.value, self.budget.value, self.seeds.value,
                                    on_event=self._on_event)
            for w in (self.strategy, self.budget, self.seeds):
                w.disabled = True
        return self.run_

    def _job(self) -> dict:
        run = self._ensure_run()
        return run.run(should_stop=lambda: self.worker.stopping)

    def start(self) -> bool:
        """Train in the background (continuing a stopped run); False while it trains already."""
        self.stop_button.disabled, self.start_button.disabled = False, True
        return self.worker.start(self._job)

    def run(self) -> dict:
        """Train here until the budget is spent (or Stop); returns the record."""
        return self.worker.run(self._job)

    def stop(self) -> None:
        self.worker.stop()

    def wait(self, timeout: float | None = None) -> None:
        self.worker.wait(timeout)

    def close(self) -> None:
        if self.run_ is not None:
            self.run_.close()

    def _ended(self) -> None:
        r = self.run_.record if self.run_ else None
        self.start_button.disabled = bool(r and r["finished"])
        self.stop_button.disabled = True
        if r is not None:
            done = "finished" if r["finished"] else "stopped: Start continues it"
            self._say(f"{len(r['trainings'])} of {r['budget']} trainings, {done}; the pick is {r['pick']}.")

    def _on_event(self, event) -> None:
        if isinstance(event, StrategyTold):
            self.draw(event.record)

    def draw(self, record: dict) -> None:
        """Everything from one copy of the record: the last cell trained, the curve, the table."""
        trainings = record["trainings"]
        if trainings:
            now = trainings[-1]["key"]
            before = trainings[-2]["key"] if len(trainings) > 1 else None
            self.dag.show(dag_figure(self.run_.space.cell(now), move_states(before, now),
                                     title=f"training {len(trainings)}: {now} (green: added, grey: removed)"))
        self.curve.show(trainings_figure(record))
        self.table.value = trainings_rows_html(record)
        picks = record.get("incumbents") or []
        self._say(f"{len(trainings)} of {record['budget']} trainings; the pick so far: "
                  f"{picks[-1] if picks else '-'}.")

    def _say(self, text: str) -> None:
        self.status.value = text
