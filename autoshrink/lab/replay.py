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
from ..core.config import SEED_RULES, SearchConfig, help_texts
from ..core.errors import ConfigError
from ..plot.figures import dag_figure
from ..plot.landscape import landscape_figure
from ..plot.quality import truth_lines
from ..space.cells import key
from ..space.replay import OneSeedDraw, RandomDraw, SearchDraw, distributions, replay
from ..space.shipped import open_table
from ..space.truth import cell_truth, grade_step, rank, search_truth, step_cells
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


def graded(state: dict, table) -> str:
    """A search's finished steps graded against a space table (folder or SpaceTable), as Markdown;
    one line saying why not when the table answers for another space or no step has finished."""
    table = open_table(table)
    if not state.get("best"):
        return "No finished step to grade yet."
    try:
        return "\n".join(truth_lines(search_truth(state, table)))
    except ConfigError as e:
        return f"⚠ {e}"


def load_truth(table, state: dict | None) -> dict:
    """The truth of `table` (folder or SpaceTable) under the score of the search whose record is
    `state`, after checking that the table holds its space and proxy settings."""
    table = open_table(table)
    if state is None:
        raise ConfigError("no search to grade yet: start one (Step), then grade it against the table")
    cfg = SearchConfig.from_dict(state["config"])
    table.check_answers(cfg, Cell.from_dict(state["initial"]).ops)
    return cell_truth(table, cfg)


def step_grade(state: dict, number: int | None, truth: dict) -> dict | None:
    """The grade of finished step `number` of a search (space.truth.grade_step), None when it has no such step."""
    for s, before in step_cells(state):
        if s["step"] == number:
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
        buttons = [W.Button(description=d) for d in ("Step", "Run", "Reset")]
        for b, act in zip(buttons, (self.step, self.run, self.reset)):
            b.on_click(lambda _b, act=act: act())
        self.status, self.decisions = W.HTML(), W.HTML()
        self.dag, self.land = FigureWidget(), FigureWidget()
        for w in [*self.coeffs.values(), self.rule, self.seeds, self.draw]:
            w.observe(lambda _c: self.refresh(), names="value")
        super().__init__([W.HBox(list(self.coeffs.values())), W.HBox([self.rule, self.seeds, self.draw]),
                          W.HBox(buttons), self.status, self.decisions, self.dag, self.land])
        self.refresh()

    def _default_seeds(self) -> str:
        """The search's own seeds when the table has one per step, else table seed 0 at every step."""
        try:
            replay(self.table, self.base.replace(seed_rule="step"), SearchDraw(self.base, len(self.table.seeds)))
        except ConfigError:
            return "seed 0 at every step"
        return SEARCH_SEEDS

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
        self.shown = min(self.shown + 1, len(self.replay.steps))
        self.redraw()

    def run(self) -> None:
        self.shown = len(self.replay.steps)
        self.redraw()

    def reset(self) -> None:
        self.shown = 0
        self.redraw()

    def refresh(self) -> None:
        """Re-decide the whole search with the panel's settings, then redraw (the landscape too)."""
        cfg = self.cfg
        try:
            self.truth = cell_truth(self.table, cfg)
            self.replay = replay(self.table, cfg, self._draw(cfg))
            self.spread = distributions(self.table, cfg, repeats=self.repeats)
        except ConfigError as e:
            self.status.value = f"<span style='color:#b00'>⚠ {e}</span>"
            return
        self.shown = min(self.shown, len(self.replay.steps))
        self.redraw(landscape=True)

    def _cells(self) -> list[dict]:
        return [{"key": k, **t} for k, t in self.truth.items()]

    def redraw(self, landscape: bool = False) -> None:
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
        d = self.spread
        self.status.value = (
            f"{len(truth)} cells x {len(self.table.seeds)} table seeds; {r.budget} candidates looked up. "
            f"Discovered (best step {best['step'] if best else '-'}): {r.discovered}, true rank "
            f"{rank(truth[r.discovered]['score'], [t['score'] for t in truth.values()])} of {len(truth)}. "
            f"Over {d['repeats']} random replays: AutoShrink's pick is at least as good as random search's at its "
            f"budget in {100 * d['p_at_least_as_good']:.1f}% (95% CI {100 * d['ci95'][0]:.1f} to "
            f"{100 * d['ci95'][1]:.1f}).")
        if landscape:
            path = [key(Cell.full(self.table.ops))] + [s["cell"] for s in r.steps]
            self.land.show(landscape_figure(self._cells(), path=path, picks=d["picks"]))
