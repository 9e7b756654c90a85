"""The lab's pure views and the runner's cell choice, on hand-made search records whose best step
is not the last: titles, the slider's note, the export choices, the time estimate."""
from __future__ import annotations

import pytest

import records
from autoshrink import SearchConfig  # noqa: E402
from autoshrink.core.record import Step, typed
from autoshrink.lab.runner import (  # noqa: E402
    LabError,
    Progress,  # noqa: E402
    pick_cell,
)
from autoshrink.lab.views import (  # noqa: E402
    UNKNOWN_TIME,
    best_position,
    candidates_html,
    estimate,
    estimate_text,
    export_choices,
    slider_note,
    training_view,
    view_at,
)


def test_the_best_step_is_marked_where_it_is_not_the_last(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run")
    assert best_position(typed(state)) == 1 and best_position(None) is None
    at_best = view_at(typed(state), 1)
    assert at_best.best and at_best.cell == records.AFTER0
    assert at_best.title == "after step 0 ★ best (score -10.00): 5 edges"
    final = view_at(typed(state), 2)
    assert not final.best and final.cell == records.AFTER1
    assert final.title == "final cell (ppl 250.00): 3 edges"
    assert "★ best cell: after step 0" in slider_note(typed(state), 2, final.title)
    assert "★ best cell" not in slider_note(typed(state), 1, at_best.title)
    assert not view_at(typed(state), 0).best and view_at(typed(state), 0).title == "start: 6 edges"


def test_pick_cell_best_final_and_step(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run")
    assert pick_cell(state) == (records.AFTER0, "cell-best")
    assert pick_cell(state, "final") == (records.AFTER1, "cell-final")
    assert pick_cell(state, "step:1") == (records.AFTER1, "cell-step1")
    assert pick_cell(state, "step:0") == (records.AFTER0, "cell-step0")
    with pytest.raises(LabError, match="steps 0 to 1"):
        pick_cell(state, "step:2")
    with pytest.raises(LabError, match="no final cell yet"):
        pick_cell({**state, "final": None}, "final")
    assert export_choices(typed(state)) == ["best", "final", "step:0", "step:1"]
    assert export_choices(typed({**state, "final": None})) == ["best", "step:0", "step:1"]
    assert export_choices(None) == ["best"]


def test_estimate_from_the_candidates_measured(tmp_path):
    cfg = SearchConfig(nodes=4, max_steps_to_action=3, keep_fraction=0.25, drop_k=1)   # 6 edges, target 2
    assert estimate(None, cfg) is None and estimate_text(None, cfg) == UNKNOWN_TIME
    state = records.best_first(tmp_path, tmp_path / "run", steps=1, final=False)
    state["config"] = cfg.to_dict()
    # 4 candidates measured, 10 s each; step 1 has 1 of its 2 candidates left; the cell has 5 edges:
    # then steps at 4 and 3 edges left (3 candidates each), stopping at 2, and the final cell.
    assert estimate(typed(state), cfg) == (10.0, (1 + 3 + 3 + 1) * 10.0, 4, 10.0)
    assert estimate_text(typed(state), None) == ("estimate: next Step about 10 s, to the end about 80 s "
                                          "(4 candidates measured, 10 s each)")
    state["steps"] = state["steps"][:1]
    state["cell"] = records.AFTER0.to_dict()
    assert estimate(typed(state), cfg)[:2] == (30.0, (3 + 3 + 3 + 1) * 10.0)
    state["steps"][0]["candidates"] = []
    assert estimate_text(typed(state), None) == UNKNOWN_TIME


def test_the_training_figure_redraws_from_the_record(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run")
    final_curve = [{"epoch": 0, "train_loss": 6.0, "val_loss": 6.2, "lr": 20.0}]
    state["final"]["curve"] = final_curve
    assert training_view(typed(state), Progress()) == ("the final cell, trained", final_curve)
    state["final"] = None
    state["steps"][1]["candidates"][-1]["curve"] = final_curve[:1]
    assert training_view(typed(state), Progress()) == ("trained: step 1, without edge 1→3", final_curve[:1])
    live = Progress(shown=(2, 3), curves={(2, 3): final_curve})
    assert training_view(typed(state), live) == ("training: step 1, without edge 2→3", final_curve)
    assert training_view(None, Progress()) == ("training", [])


def test_the_candidates_table_prints_each_quantity_in_its_format(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run")
    step = state["steps"][0]
    step["candidates"][0].update(ppl=650.6094669056729, flops=12288, score=-13.351, seconds=8.496)
    step["candidates"][1].update(flops=5120, seconds=8.72)
    table = candidates_html(Step.from_dict(step))
    for text in ("650.61", "12,288", "5,120", "-13.35", "8.5", "8.7", "300.00"):
        assert f">{text}</td>" in table, text
    assert "650.609" not in table and ">5120<" not in table and "8.496" not in table


def test_the_table_and_the_dag_show_a_retested_spread_and_a_halved_candidate():
    from autoshrink.lab.views import candidates_html
    from autoshrink.plot.figures import _edge_hover
    from autoshrink.plot.series import edge_states_at
    same = {"flops": 64, "seconds": 1.0, "diverged": False, "val_loss": None, "pruned": [], "edges_left": 2}
    step = {"step": 0, "done": True, "order": [[0, 1], [0, 2], [1, 2]], "removed": [[0, 2]], "candidates": [
        {"edge": [0, 1], "ppl": 300.0, "score": -9.0, "ended": "epochs", "epochs": 3, "mean_score": -11.0,
         "sd_score": 2.0, "seeds": 3, **same},
        {"edge": [0, 2], "ppl": 310.0, "score": -10.0, "ended": "epochs", "epochs": 3, "mean_score": -10.5,
         "sd_score": 0.5, "seeds": 3, **same},
        {"edge": [1, 2], "ppl": 200.0, "score": -1.0, "ended": "halved", "epochs": 1, **same}]}
    table = candidates_html(Step.from_dict(step))
    # the step decides on the mean: (0, 2) first although (0, 1) scored higher once; halved last
    assert table.index("0→2") < table.index("0→1") < table.index("1→2")
    assert "3 seeds: -10.50 ± 0.50" in table and "stopped at epoch 1 (halving)" in table
    states = edge_states_at(typed({"steps": [step]}), 0)
    assert "3 seeds: -11.00 ± 2.00" in _edge_hover((0, 1), states[(0, 1)])
    assert "stopped at epoch 1" in _edge_hover((1, 2), states[(1, 2)])


def test_the_inspected_candidates_title_fits_its_figure():
    """Issue 32 item 12: Inspect's one-line title ("step 0, without edge 1→2: 5 edges left, ppl ...,
    seed 1835") was cut off in the 480-pixel training figure. At plotly's 17 px title font a line
    holds about 40 characters there, and a <sup> line about 60."""
    import re

    from autoshrink.lab.views import candidate_view
    record = typed(records.best_first("data", "runs/x"))
    title, _ = candidate_view(record, record.steps[0], (1, 2))
    main, *rest = title.split("<br>")
    assert len(main) <= 40 and "without edge 1→2" in main
    [sup] = rest
    text = re.sub(r"<[^>]+>", "", sup)
    assert sup.startswith("<sup>") and len(text) <= 60 and "0 edges left, ppl 300.00, seed " in text


def test_an_exported_file_under_a_kilobyte_is_not_listed_as_0_kb(tmp_path):
    """Issue 32 item 5: the JSON cell and the graph pickle were listed as "0 kB"."""
    from autoshrink.lab.views import file_size
    from autoshrink.lab.widgets import _file_item
    small = tmp_path / "best.json"
    small.write_text("x" * 300)
    assert "(300 bytes)" in _file_item(small)
    assert [file_size(n) for n in (1, 1023, 1024, 3500, 200 * 1024, 3 * 1024 * 1024)] == [
        "1 byte", "1023 bytes", "1.0 kB", "3.4 kB", "200 kB", "3.0 MB"]
