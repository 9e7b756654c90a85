"""Searches side by side: the settings diff, the cell diff and the overlaid curves, from hand-made
records whose differences are known."""
import copy

import pytest

import records
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import write_state
from autoshrink.plot.searches import (
    DIFF,
    cell_diff_figure,
    curves_overlay,
    read_searches,
    settings_rows,
    write_comparison,
)


@pytest.fixture
def two(tmp_path, tiny_data):
    a = records.best_first(tiny_data, tmp_path / "a")
    b = copy.deepcopy(a)
    b["steps"][0]["cell"] = records.FULL4.remove((0, 3))[0].to_dict()     # best cell: all but 0->3
    b["config"] = {**b["config"], "epochs": 3}
    write_state(tmp_path / "a", a)
    write_state(tmp_path / "b", b)
    return [str(tmp_path / "a"), str(tmp_path / "b")]


def test_settings_rows_mark_what_differs(two):
    rows = {r["setting"]: r for r in settings_rows(read_searches(two))}
    assert rows["epochs"]["differs"] and rows["epochs"][two[0]] == 1 and rows["epochs"][two[1]] == 3
    assert not rows["lr"]["differs"] and not rows["nodes"]["differs"]


def test_cell_diff_colours_each_edge_by_where_it_is(two):
    fig = cell_diff_figure(read_searches(two))
    colour = {t.name: t.line.color for t in fig.data if t.name.startswith("edge ") and t.visible}
    # a: all but 1->2; b: all but 0->3
    assert colour["edge 0->3"] == DIFF["first"][0] and colour["edge 1->2"] == DIFF["second"][0]
    assert {colour[f"edge {e}"] for e in ("0->1", "0->2", "1->3", "2->3")} == {DIFF["both"][0]}
    assert "5 edges" in fig.layout.title.text and "4 in both" in fig.layout.title.text


def test_curves_and_the_page(two, tmp_path):
    fig = curves_overlay(read_searches(two))
    assert {t.name for t in fig.data} == set(two) and len(fig.data) == 6
    page = write_comparison(two, tmp_path / "c.html").read_text()
    assert "Settings (differences in bold)" in page and "font-weight:bold" in page
    with pytest.raises(ConfigError, match="two or more"):
        read_searches(two[:1])


@pytest.fixture
def branch(two, tmp_path):
    """A branch of a (1 epoch) after step 0, with 3 epochs: step 0 copied, step 1 its own."""
    state = copy.deepcopy(read_searches(two)[two[0]].to_dict())
    state["steps"][0]["from_parent"] = True
    state["parent"] = {"save": "../a", "step": 0}
    state["config"] = {**state["config"], "epochs": 3}
    write_state(tmp_path / "a-from0", state)
    return str(tmp_path / "a-from0")


def test_a_branch_marks_the_steps_it_copied_and_how_they_were_trained(two, branch):
    from autoshrink.plot import curves_figure
    from autoshrink.plot.searches import parent_config
    states = read_searches([two[0], branch])
    assert parent_config(branch, states[branch])["epochs"] == 1 and parent_config(two[0], states[two[0]]) is None
    overlay = curves_overlay(states)
    mine = [t for t in overlay.data if t.legendgroup == branch]
    assert all(list(t.marker.symbol) == ["circle-open", "circle"] for t in mine)
    assert mine[0].name == f"{branch} (hollow: 1 step copied from its parent, trained with epochs 1)"
    assert [t.name for t in overlay.data if t.legendgroup == two[0]][0] == two[0]
    fig = curves_figure(states[branch], parent_config(branch, states[branch]))
    assert list(fig.data[0].marker.symbol) == ["circle-open", "circle"]
    assert "step 0 copied from the parent, trained with epochs 1: their scores do not compare" in fig.layout.title.text
    assert "sup" not in curves_figure(states[two[0]]).layout.title.text


def test_compare_ticks_whole_steps_and_says_the_cell_diff_covers_two(two, branch):
    states = read_searches([*two, branch])
    assert curves_overlay(states).layout.xaxis.dtick == 1
    assert cell_diff_figure(states).layout.title.text.endswith("(the first two of 3 searches)")
    assert "searches)" not in cell_diff_figure(read_searches(two)).layout.title.text


def test_a_branch_caption_names_the_steps_its_best_is_picked_among(two, branch, tmp_path):
    """Issue 32 item 10: the caption said "★ best is picked across both" where a branch that changed
    a score-moving setting picks among its own steps (record.best_step, docs/guide/lab.md)."""
    from autoshrink.plot import curves_figure
    from autoshrink.plot.searches import parent_config
    state = read_searches([two[0], branch])[branch].to_dict()
    state["parent"]["trained_with"] = {"epochs": 1}              # as Search.branch records it
    write_state(tmp_path / "b-from0", state)
    record = read_searches([two[0], str(tmp_path / "b-from0")])[str(tmp_path / "b-from0")]
    assert [s.step for s in record.comparable_steps()] == [1]
    title = curves_figure(record, parent_config(str(tmp_path / "b-from0"), record)).layout.title.text
    assert "across both" not in title and "★ best is picked among this branch's own steps" in title


def test_a_strategy_run_compares_beside_a_search(two, tmp_path):
    from autoshrink.core.disk import write_json_atomic
    from autoshrink.core.record import STRATEGY_FORMAT
    from autoshrink.plot.searches import incumbent_series
    search = read_searches(two)[two[0]]
    pick = records.FULL4.remove((0, 3))[0]                    # all but 0->3
    run = {"format": STRATEGY_FORMAT, "config": search.config, "strategy": "local", "budget": 3, "seeds": 2,
           "ops": list(pick.ops), "incumbents": ["x", "y", "y"], "pick": "y", "pick_cell": pick.to_dict(),
           "finished": True, "trainings": [{"key": "x", "seed": 0, "score": -14.0, "ppl": 300.0},
                                           {"key": "y", "seed": 1, "score": -11.0, "ppl": 280.0},
                                           {"key": "y", "seed": 0, "score": -13.0, "ppl": 290.0}]}
    local = str(tmp_path / "local")
    write_json_atomic(tmp_path / "local" / "strategy.json", run)
    runs = read_searches([two[0], local])
    # the search: step 0 trained 3 candidates (best -10), step 1 two more (-12: the best stays -10)
    assert incumbent_series(runs[two[0]]) == ([3, 5], [-10.0, -10.0])
    # the strategy: x alone (-14), then y (-11), then y's mean over -11 and -13
    assert incumbent_series(runs[local]) == ([1, 2, 3], [-14.0, -11.0, -12.0]) and runs[local].best_ppl() == 285.0
    rows = {r["setting"]: r for r in settings_rows(runs)}
    assert (rows["strategy"][two[0]], rows["strategy"][local], rows["strategy"]["differs"]) == ("autoshrink", "local",
                                                                                                True)
    assert "4 in both" in cell_diff_figure(runs).layout.title.text      # all but 1->2 against all but 0->3
    page = write_comparison([two[0], local], tmp_path / "c.html").read_text()
    assert "The incumbent's observed score against trainings spent" in page
