"""Instant replay in the lab: AutoShrink run from a space table, where a Step looks its candidates up
instead of training them, so stepping is instant and moving the score's coefficients re-decides
the whole search at once, with the truth beside each decision.

    lab = ReplayLab("runs/space-tiny-s1")     # a table built by `.venv/bin/autoshrink space`
    lab                                       # the panel: coefficients, seeds, Step / Run / Reset
    lab.replay                                # the replayed search (space.replay.Replay) as shown

The table seeds a step uses: "the search's" (table seed k at step k: the decisions of the search
with the table's --seed, when the table has a seed per step), one table seed for every step, or a
random draw (by the seed rule). The landscape shows every cell of the space by its edge count and
true score, the replay's path, and where AutoShrink's and random search's picks fall over
`repeats` replays with the panel's settings.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..core.cell import Cell
from ..core.cells import key
from ..core.config import SEED_RULES, SearchConfig, help_texts
from ..core.errors import ConfigError
from ..core.record import SearchRecord
from ..plot.figures import dag_figure
from ..plot.landscape import landscape_figure
from ..plot.quality import truth_lines
from ..space.leaderboard import leaderboard
from ..space.replay import OneSeedDraw, RandomDraw, SearchDraw, TableEvaluator, replay
from ..space.shipped import open_table
from ..space.truth import cell_truth, grade_step, rank, search_truth, step_cells
from ..strategies import PUBLISHED, STRATEGIES, Space, make
from ..strategies.loop import run
from .figure_widget import FigureWidget

COEFFICIENTS = ("target_ppl", "ppl_weight", "cost_weight")
SEARCH_SEEDS, RANDOM_SEEDS = "the search's (seed k at step k)", "a random draw"


def edge_states(step: dict, before: Cell, truth: dict) -> dict:
    """The DAG's hover for one replayed step: each candidate edge as tried, with its observed score,
    whether the step removes it, and its truth (the true score of the cell it leaves, its true rank
    among the step's candidates)."""
    true = {c["edge"]: truth[c["key"]]["score"] for c in step["candidates"]}
    out = {}
    for c in step["candidates"]:
        out[c["edge"]] = {"state": "tried", "step": step["step"], "score": c["score"],
                          "chosen": c["edge"] in step["removed"], "true_score": true[c["edge"]],
                          "true_rank": rank(true[c["edge"]], true.values()), "of": len(true)}
    for e in set(before.edges) - set(out):
        out[e] = {"state": "live"}
    return out


def decision_rows(replay_, truth: dict) -> list[dict]:
    """Per replayed step: the removed edge, its observed score, its true rank among the step's
    candidates and its regret (the truly best candidate's true score minus the removed one's)."""
    rows = []
    for s in replay_.steps:
        true = {c["edge"]: truth[c["key"]]["score"] for c in s["candidates"]}
        edge = s["removed"][0]
        chosen = next(c for c in s["candidates"] if c["edge"] == edge)
        rows.append({"step": s["step"], "removed": edge, "observed": chosen["decision"], "true": true[edge],
                     "rank": rank(true[edge], true.values()), "of": len(true),
                     "regret": max(true.values()) - true[edge]})
    return rows


def graded(record: SearchRecord | None, table) -> str:
    """A search's finished steps (its typed record) graded against a space table (folder or
    SpaceTable), as Markdown; one line saying why not when the table answers for another space or
    no step has finished."""
    table = open_table(table)
    if record is None or record.best is None:
        return "No finished step to grade yet."
    try:
        return "\n".join(truth_lines(search_truth(record, table)))
    except ConfigError as e:
        return f"⚠ {e}"


def load_truth(table, record: SearchRecord | None) -> dict:
    """The truth of `table` (folder or SpaceTable) under the score of the search whose typed record
    is `record`, after checking that the table holds its space and proxy settings."""
    table = open_table(table)
    if record is None:
        raise ConfigError("no search to grade yet: start one (Step), then grade it against the table")
    cfg = SearchConfig.from_dict(record.config)
    table.check_answers(cfg, Cell.from_dict(record.initial).ops)
    return cell_truth(table, cfg)


def step_grade(record: SearchRecord, number: int | None, truth: dict) -> dict | None:
    """The grade of finished step `number` of a search (space.truth.grade_step), None when it has no such step."""
    for s, before in step_cells(record):
        if s.step == number:
            return {**grade_step(s, before, truth), "before": before}
    return None


def truth_states(states: dict, grade: dict | None) -> dict:
    """The DAG's edge states of a graded step with the truth added to each tried edge: the true
    score of the cell it leaves and its true rank among the step's candidates."""
    if not grade or grade["rank"] is None:
        return states
    true = grade["true_scores"]
    out = dict(states)
    for e, info in states.items():
        k = f"{e[0]}-{e[1]}"
        if k in true:
            out[e] = {**info, "true_score": true[k], "true_rank": rank(true[k], true.values()), "of": len(true)}
    return out


def grade_text(grade: dict | None) -> str:
    """One line: the step's removed edge, its true rank among the step's candidates and its regret."""
    if not grade or grade["rank"] is None:
        return ""
    i, j = grade["removed"]
    place = "best" if grade["rank"] == 1 else f"{_ordinal(grade['rank'])} best"
    return (f"space table: removing {i}→{j} was truly the {place} of {grade['of']} candidates "
            f"(regret {grade['regret']:.2f} score points)")


def _ordinal(n: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def rows_html(rows: list[dict], shown: int) -> str:
    head = ("<tr><th>step</th><th>removed</th><th>observed score</th><th>true score</th><th>true rank</th>"
            "<th>regret</th></tr>")
    body = "".join(
        f"<tr style='opacity:{1 if r['step'] < shown else 0.35}'><td>{r['step']}</td>"
        f"<td>{r['removed'][0]}→{r['removed'][1]}</td><td>{r['observed']:.2f}</td><td>{r['true']:.2f}</td>"
        f"<td>{r['rank']} of {r['of']}</td><td>{r['regret']:.2f}</td></tr>" for r in rows)
    return f"<table class='autoshrink-replay'>{head}{body}</table>"


class ReplayLab(W.VBox):
    """The replay panel (see the module docstring)."""

    def __init__(self, table, repeats: int = 200, **changes):
        self.table = open_table(table)
        if not self.table.complete:
            raise ConfigError(f"the table misses {len(self.table.missing())} trainings; finish it with "
                              "`.venv/bin/autoshrink space` and its settings")
        self.base = self.table.cfg.replace(**changes)
        self.repeats, self.shown = repeats, 0
        helps, style = help_texts(), {"description_width": "90px"}
        self.coeffs = {n: W.FloatText(value=getattr(self.base, n), description=n, tooltip=helps[n], style=style,
                                      layout=W.Layout(width="200px")) for n in COEFFICIENTS}
        self.rule = W.Dropdown(options=SEED_RULES, value=self.base.seed_rule, description="seed_rule",
                               tooltip=helps["seed_rule"], style=style, layout=W.Layout(width="200px"))
        seeds = [SEARCH_SEEDS] + [f"seed {k} at every step" for k in range(len(self.table.seeds))] + [RANDOM_SEEDS]
        self.seeds = W.Dropdown(options=seeds, value=self._default_seeds(), description="table seeds", style=style,
                                tooltip="which table seed each step's candidates are looked up under",
                                layout=W.Layout(width="330px"))
        self.draw = W.IntText(value=0, description="draw", style=style, layout=W.Layout(width="150px"),
                              tooltip="the random draw's seed (with table seeds: a random draw)")
        self.strategy = W.Dropdown(options=list(STRATEGIES), value=PUBLISHED, description="strategy", style=style,
                                   tooltip="the search strategy replayed (docs/strategies.md)",
                                   layout=W.Layout(width="260px"))
        self.budget = W.IntText(value=self._own_budget(), description="budget", style=style,
                                tooltip="trainings a strategy other than autoshrink may make (autoshrink spends "
                                        "its own)", layout=W.Layout(width="170px"))
        buttons = [W.Button(description=d) for d in ("Step", "Run", "Reset")]
        for b, act in zip(buttons, (self.step, self.run, self.reset)):
            b.on_click(lambda _b, act=act: act())
        self.status, self.decisions = W.HTML(), W.HTML()
        self.dag, self.land = FigureWidget(), FigureWidget()
        for w in [*self.coeffs.values(), self.rule, self.seeds, self.draw, self.strategy, self.budget]:
            w.observe(lambda _c: self.refresh(), names="value")
        super().__init__([W.HBox([self.strategy, self.budget]), W.HBox(list(self.coeffs.values())),
                          W.HBox([self.rule, self.seeds, self.draw]),
                          W.HBox(buttons), self.status, self.decisions, self.dag, self.land])
        self.refresh()

    def _default_seeds(self) -> str:
        """The search's own seeds when the table has one per step, else table seed 0 at every step."""
        try:
            replay(self.table, self.base.replace(seed_rule="step"), SearchDraw(self.base, len(self.table.seeds)))
        except ConfigError:
            return "seed 0 at every step"
        return SEARCH_SEEDS

    def _own_budget(self) -> int:
        """AutoShrink's budget on this table: the trainings of its replay with one seed at every step."""
        return replay(self.table, self.base.replace(seed_rule="step", retest=0),
                      OneSeedDraw(self.base.replace(seed_rule="step"), len(self.table.seeds), 0)).budget

    @property
    def cfg(self):
        return self.base.replace(seed_rule=self.rule.value, **{n: w.value for n, w in self.coeffs.items()})

    def _draw(self, cfg):
        n = len(self.table.seeds)
        if self.seeds.value == SEARCH_SEEDS:
            return SearchDraw(cfg.replace(seed_rule="step"), n)
        if self.seeds.value == RANDOM_SEEDS:
            return RandomDraw(np.random.default_rng(self.draw.value), range(n), cfg.seed_rule)
        return OneSeedDraw(cfg.replace(seed_rule="step"), n, int(self.seeds.value.split()[1]))

    def step(self) -> None:
        self.shown = min(self.shown + 1, self.length)
        self.redraw()

    def run(self) -> None:
        self.shown = self.length
        self.redraw()

    def reset(self) -> None:
        self.shown = 0
        self.redraw()

    def refresh(self) -> None:
        """Re-decide the whole search with the panel's settings, then redraw (the landscape too)."""
        cfg, name = self.cfg, self.strategy.value
        self.budget.disabled = name == PUBLISHED
        try:
            self.truth = cell_truth(self.table, cfg)
            self.replay = replay(self.table, cfg, self._draw(cfg)) if name == PUBLISHED else None
            self.history = None if name == PUBLISHED else self._run_strategy(cfg, name)
            self.verdict = self._verdict(cfg, name)
        except ConfigError as e:
            self.status.value = f"<span style='color:#b00'>⚠ {e}</span>"
            return
        self.shown = min(self.shown, self.length)
        self.redraw(landscape=True)

    def _run_strategy(self, cfg, name: str):
        strategy = make(name, Space(self.table.ops), self.budget.value, range(len(self.table.seeds)),
                        self.draw.value, cfg=cfg)
        return run(strategy, TableEvaluator(self.table, cfg))

    def _verdict(self, cfg, name: str) -> dict:
        """`name` against random search at its budget over `repeats` replays: held out (judged by the
        last table seed, the others deciding) when the table has two seeds or more, and in sample."""
        budget = self.replay.budget if name == PUBLISHED else self.budget.value
        judges = ([len(self.table.seeds) - 1] if len(self.table.seeds) > 1 else []) + [None]
        names = [name] + ([] if name == "random" else ["random"])
        board = leaderboard(self.table, cfg, names, [budget], self.repeats, scores={"panel": {}}, judge_seeds=judges)
        return {"budget": budget, "rows": board["rows"]}

    @property
    def length(self) -> int:
        """Steps of the replay, or trainings of another strategy's run: what Step walks through."""
        return len(self.replay.steps) if self.replay is not None else len(self.history.trainings)

    def _cells(self) -> list[dict]:
        return [{"key": k, **t} for k, t in self.truth.items()]

    def redraw(self, landscape: bool = False) -> None:
        if self.replay is None:
            return self.redraw_strategy(landscape)
        r, truth = self.replay, self.truth
        rows = decision_rows(r, truth)
        self.decisions.value = rows_html(rows, self.shown)
        cell = Cell.full(self.table.ops)
        for s in r.steps[: self.shown]:
            cell = Cell.from_dict(self.table.row(s["cell"])["cell"])
        nxt = r.steps[self.shown] if self.shown < len(r.steps) else None
        states = edge_states(nxt, cell, truth) if nxt else None
        self.dag.show(dag_figure(cell, states, title=f"after {self.shown} of {len(r.steps)} steps: {key(cell)}"))
        best = r.steps[r.best_step] if r.steps else None
        self.status.value = (
            f"{r.budget} candidates looked up. Discovered (best step {best['step'] if best else '-'}): "
            f"{r.discovered}, true rank {self._rank(r.discovered)} of {len(truth)} (truth: {self._truth_kind()}). "
            + verdict_text(self.verdict, PUBLISHED, len(self.table.seeds)))
        if landscape:
            path = [key(Cell.full(self.table.ops))] + [s["cell"] for s in r.steps]
            self.land.show(landscape_figure(self._cells(), path=path, picks=self._picks(PUBLISHED)))

    def redraw_strategy(self, landscape: bool) -> None:
        """Another strategy's run: its trainings so far, the DAG of the last one with the edges that
        move added or removed, and its verdict."""
        h, name = self.history, self.strategy.value
        self.decisions.value = trainings_html(h, self.truth, self.shown)
        if self.shown:
            now = h.trainings[self.shown - 1].ask.key
            before = h.trainings[self.shown - 2].ask.key if self.shown > 1 else None
            self.dag.show(dag_figure(Cell.from_dict(self.table.row(now)["cell"]), move_states(before, now),
                                     title=f"training {self.shown} of {len(h.trainings)}: {now}"))
        pick = h.incumbents[self.shown - 1] if self.shown else None
        self.status.value = (
            f"{name}: {len(h.trainings)} trainings looked up; its pick "
            + (f"after {self.shown}: {pick}, true rank {self._rank(pick)} of {len(self.truth)} "
               f"(truth: {self._truth_kind()}). " if pick else "appears after the first Step. ")
            + verdict_text(self.verdict, name, len(self.table.seeds)))
        if landscape:
            path = [t.ask.key for t in h.trainings]
            self.land.show(landscape_figure(self._cells(), path=path, picks=self._picks(name)))

    def _rank(self, cell_key: str) -> int:
        return rank(self.truth[cell_key]["score"], [t["score"] for t in self.truth.values()])

    def _truth_kind(self) -> str:
        n = len(self.table.seeds)
        return ("table seed 0 alone, the seed every decision reads: in sample, with no noise" if n == 1
                else f"the mean of {n} table seeds, which the decisions read too: in sample")

    def _picks(self, name: str) -> dict:
        """Where `name`'s and random search's picks fall over the held-out replays (else the in-sample)."""
        rows = [r for r in self.verdict["rows"] if r["judge"] == self.verdict["rows"][0]["judge"]]
        label = {PUBLISHED: "AutoShrink", "random": "random search"}
        return {label.get(r["strategy"], r["strategy"]): r["picks"] for r in rows}


def move_states(before: str | None, now: str) -> dict:
    """The DAG's edge states of a strategy's move from cell `before` to cell `now` (keys): the
    edges it adds and those it removes."""
    if before is None:
        return {}
    old, new = (set(_edges(k)) for k in (before, now))
    return {**{e: {"state": "added"} for e in new - old}, **{e: {"state": "removed"} for e in old - new}}


def _edges(cell_key: str) -> list[tuple[int, int]]:
    return [] if cell_key == "none" else [tuple(int(x) for x in e.split("-")) for e in cell_key.split()]


def trainings_html(history, truth: dict, shown: int) -> str:
    """A strategy's trainings as a table: cell, table seed, observed score, the cell's truth, the pick after."""
    head = ("<tr><th>#</th><th>cell</th><th>table seed</th><th>observed score</th><th>true score</th>"
            "<th>true rank</th><th>pick after</th></tr>")
    scores = [t["score"] for t in truth.values()]
    body = "".join(
        f"<tr style='opacity:{1 if n < shown else 0.35}'><td>{n + 1}</td><td>{t.ask.key}</td><td>{t.ask.seed}</td>"
        f"<td>{t.score:.2f}</td><td>{truth[t.ask.key]['score']:.2f}</td>"
        f"<td>{rank(truth[t.ask.key]['score'], scores)} of {len(scores)}</td><td>{pick}</td></tr>"
        for n, (t, pick) in enumerate(zip(history.trainings, history.incumbents)))
    return f"<table class='autoshrink-replay'>{head}{body}</table>"


def verdict_text(verdict: dict, name: str, seeds: int) -> str:
    """The verdict of `name` against random search at its budget, held out first (one-line each)."""
    parts = [f"{_judged(r, seeds)}: its pick is at least as good as random search's at {verdict['budget']} "
             f"trainings in {100 * r['p_at_least_as_good']:.1f}% of {r['repeats']} replays (95% CI "
             f"{100 * r['ci95'][0]:.1f} to {100 * r['ci95'][1]:.1f}; mean true rank {r['rank']['mean']:.1f})"
             for r in verdict["rows"] if r["strategy"] == name]
    return "; ".join(parts) + "."


def _judged(row: dict, seeds: int) -> str:
    if row["held_out"]:
        return f"Held out (judged by table seed {row['judge']}, decided by the other {seeds - 1})"
    if seeds == 1:
        return "In sample (one table seed decides and judges: no noise, so this says little)"
    return f"In sample (all {seeds} table seeds decide and judge)"
