"""The replay lab and the landscape figure on the hand-made table (tests/space_tables.py), whose
decisions are worked out by hand there and in test_space."""
import json
import math

import pytest

from autoshrink.core.cell import Cell
from autoshrink.core.config import SearchConfig
from autoshrink.core.record import typed
from autoshrink.lab.replay import ReplayLab, decision_rows, edge_states, graded
from autoshrink.plot.landscape import landscape_figure
from autoshrink.space.truth import cell_truth
from space_tables import hand_score, hand_search, hand_table


def one_seed_table():
    """The hand-made table cut to its first table seed."""
    table = hand_table()
    table.seeds = table.seeds[:1]
    for row in table.cells:
        row["runs"] = row["runs"][:1]
    return table


@pytest.fixture
def lab():
    return ReplayLab(hand_table(), repeats=50, keep_fraction=0.34)


def test_the_search_seeds_replay_and_the_decisions_carry_their_truth(lab):
    assert lab.seeds.value == "the search's (seed k at step k)"      # the table has a seed per step
    assert [s["removed"] for s in lab.replay.steps] == [[(1, 2)], [(0, 1)]]
    assert lab.replay.discovered == "0-1 0-2" and "true rank 1 of 6" in lab.status.value
    [first, second] = decision_rows(lab.replay, lab.truth)
    assert (first["rank"], first["of"], first["regret"]) == (1, 3, 0.0)
    assert first["true"] == pytest.approx(hand_score(380, 2))


def test_stepping_is_a_lookup_and_the_dag_shows_the_next_decision(lab):
    assert lab.shown == 0
    states = edge_states(lab.replay.steps[0], Cell.full(("tanh",) * 3), lab.truth)
    assert states[(1, 2)]["chosen"] and states[(1, 2)]["true_rank"] == 1
    assert states[(0, 2)]["true_rank"] == 3            # it would leave 0-1 1-2, the worst of the three
    lab.step()
    assert lab.shown == 1 and "after 1 of 2 steps: 0-1 0-2" in lab.dag.spec["layout"]["title"]["text"]
    lab.run()
    assert lab.shown == 2
    lab.reset()
    assert lab.shown == 0


def test_moving_a_coefficient_re_decides_the_whole_search(lab):
    lab.run()
    lab.coeffs["cost_weight"].value = 200.0            # a decade of flops now costs 200 points
    assert lab.replay.discovered == "0-2" and [s["removed"] for s in lab.replay.steps] == [[(0, 1)]]
    assert lab.shown == 1                              # the search is one step long now
    lab.coeffs["target_ppl"].value = 900.0              # shifts every score alike: no decision moves
    assert lab.replay.discovered == "0-2"


def test_a_table_short_of_seeds_starts_on_seed_0_and_says_in_one_line_why():
    lab = ReplayLab(one_seed_table(), repeats=20, keep_fraction=0.34)
    assert lab.seeds.value == "seed 0 at every step"
    lab.seeds.value = "the search's (seed k at step k)"
    assert "⚠" in lab.status.value and "--seeds 2" in lab.status.value
    lab.rule.value = "candidate"
    lab.seeds.value = "a random draw"
    assert "⚠" not in lab.status.value and lab.replay.budget == 5


def test_landscape_draws_every_cell_the_path_and_the_picks():
    table = hand_table()
    truth = cell_truth(table, table.cfg)
    cells = [{"key": k, **t} for k, t in truth.items()]
    fig = landscape_figure(cells, path=["0-1 0-2 1-2", "0-1 0-2", "0-2"], picks={"random search": {"0-1 0-2": 3,
                                                                                                   "0-2": 1}})
    dots, path, picks = fig.data
    assert len(dots.x) == 6 and sorted(dots.y) == sorted(t["score"] for t in truth.values())
    sd = dict(zip(dots.hovertext, dots.error_y.array))
    assert [v for h, v in sd.items() if h.startswith("<b>0-1 0-2 1-2<")] == [pytest.approx(5 / math.sqrt(2))]
    assert list(path.y) == [truth[k]["score"] for k in ("0-1 0-2 1-2", "0-1 0-2", "0-2")]
    assert [round(x) for x in path.x] == [3, 2, 1]
    assert picks.marker.size[0] > picks.marker.size[1]          # picked 3 times against once


def test_a_search_is_graded_in_markdown_or_told_why_not():
    table = hand_table()
    state = hand_search((1, 2), table)
    text = graded(typed(state), table)
    assert "rank 1 of 6 by true score" in text and "- step 0: removed 1→2, true rank 1 of 3 candidates" in text
    assert graded(typed({**state, "best": None}), table) == "No finished step to grade yet."
    other = {**state, "config": {**table.config, "epochs": 3}}
    assert graded(typed(other), table).startswith("⚠ the table was trained with --epochs 10")


def test_a_lab_step_gets_its_grade_and_the_dag_its_truth():
    from autoshrink.lab.replay import grade_text, step_grade, truth_states
    table = hand_table()
    state = hand_search((0, 2), table)
    grade = step_grade(typed(state), 0, cell_truth(table, table.cfg))
    assert grade_text(grade) == ("space table: removing 0→2 was truly the 3rd best of 3 candidates "
                                 "(regret 32.50 score points)")
    states = truth_states({(0, 2): {"state": "removed"}, (1, 2): {"state": "tried"}}, grade)
    assert states[(1, 2)]["true_rank"] == 1 and states[(0, 2)]["true_rank"] == 3 and states[(0, 2)]["of"] == 3
    assert step_grade(typed(state), 1, {}) is None and step_grade(typed(state), None, {}) is None
    assert grade_text(None) == ""


@pytest.mark.slow
def test_the_lab_panel_grades_its_step_against_a_table(tiny_data, tmp_path):
    from autoshrink.space.table import build_table
    from records import make_lab
    lab = make_lab(tiny_data, tmp_path)
    assert not lab.grade_with(hand_table()) and "no search to grade yet" in lab.message.value
    lab.step()
    cfg = lab.config()
    table = build_table(cfg.replace(save=str(tmp_path / "t")), tmp_path / "t", seeds=1)
    assert not lab.grade_with(hand_table()) and "ops" in lab.message.value   # another space: one line
    assert lab.grade_with(table)
    lab.slider.value = 1                             # after step 0
    assert "space table: removing" in lab.slider_text.value
    assert "(space table)" in json.dumps(lab.dag.spec["data"])      # the tried edges' hover


def test_the_strategy_menu_steps_any_strategy_with_the_truth_beside_each_training(lab):
    lab.strategy.value = "local"
    lab.budget.value = 4
    assert lab.replay is None and len(lab.history.trainings) == 4 and not lab.budget.disabled
    lab.step()
    lab.step()
    first, second = (t.ask.key for t in lab.history.trainings[:2])
    assert lab.dag.spec["layout"]["title"]["text"] == f"training 2 of 4: {second}"
    assert f"<td>{first}</td>" in lab.decisions.value and "pick after" in lab.decisions.value
    assert "Held out (judged by table seed 1, decided by the other 1)" in lab.status.value
    assert lab.status.value.index("Held out") < lab.status.value.index("In sample")
    lab.strategy.value = "autoshrink"
    assert lab.budget.disabled and lab.replay is not None


def test_a_move_draws_the_edges_it_adds_and_removes():
    from autoshrink.lab.replay import move_states
    assert move_states("0-1 0-2", "0-1 1-2") == {(1, 2): {"state": "added"}, (0, 2): {"state": "removed"}}
    assert move_states(None, "0-1") == {} and move_states("none", "0-2") == {(0, 2): {"state": "added"}}


def test_a_one_seed_table_says_its_verdict_has_no_noise_in_it():
    lab = ReplayLab(one_seed_table(), repeats=20, keep_fraction=0.34)
    assert "one table seed decides and judges: no noise" in lab.status.value
    assert "Held out" not in lab.status.value and "of 20 replays" in lab.status.value
    assert "table seed 0 alone, the seed every decision reads" in lab.status.value
def test_grading_a_branch_against_a_table_of_other_settings_says_so_in_one_line(tiny_data, tmp_path):
    """Issue 32 item 4: 01's `table` cell after a branch that changed --epochs raised a ConfigError
    traceback from lab.grade_with, so the graded steps and the replay never showed. The panel now
    says why in one line and the cell goes on."""
    import records
    from autoshrink.core.disk import write_json_atomic
    from autoshrink.lab.widgets import SearchLab
    from autoshrink.space.table import new_table
    save = tmp_path / "branch"
    state = records.best_first(tiny_data, save)                       # a search of --epochs 1
    write_json_atomic(save / "search.json", state)
    table = new_table(SearchConfig.from_dict(state["config"]).replace(epochs=2), 1)
    table.ops = list(records.OPS)                                     # the search's space, trained for 2 epochs
    lab = SearchLab.open(save)
    assert lab.grade_with(table) is False
    assert "--epochs 2" in lab.message.value and "⚠" in lab.message.value and lab.truth is None
    assert "\n" not in lab.message.value
    fresh = records.make_lab(tiny_data, tmp_path)
    assert fresh.grade_with(table) is False and "no search to grade yet" in fresh.message.value
