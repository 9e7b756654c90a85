"""The lab's widget logic, driven from Python as a user would: settings, buttons, figures, slider.

Buttons are pressed with `button.click()`; Step and Run then work in a background thread, which
`lab.wait()` joins. Every search is tiny (the 150-line slice of the proxy, 3 or 4 nodes, 8 units).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest

import records
from autoshrink import Cell, SearchConfig
from autoshrink.core.config import help_texts
from autoshrink.core.disk import write_json_atomic
from autoshrink.core.errors import ConfigError
from autoshrink.core.events import CandidateDone, CandidateEpoch
from autoshrink.core.rules import initial_cell
from autoshrink.lab.runner import LabError
from autoshrink.lab.widgets import SETTINGS, CellsLab, SearchLab, default_config, fresh_folder
from autoshrink.search import Search
from records import LAB_TINY as TINY
from records import make_lab, stepped_lab


def dag_states(lab: SearchLab) -> Counter:
    """How many drawn edges of the DAG figure are in each state (live, tried, removed, ...)."""
    return Counter(t.legendgroup for t in lab.dag.figure.data if t.name.startswith("edge ") and t.visible)


def table_rows(lab: SearchLab) -> int:
    return lab.table.value.count("<tr") - 1 if "<table" in lab.table.value else 0


def test_default_config_is_small_on_cpu_and_valid():
    cfg = default_config("cpu")
    assert (cfg.nodes, cfg.emsize, cfg.nhid, cfg.epochs, cfg.batch_size, cfg.parallel) == (4, 32, 32, 2, 64, 0)
    assert cfg.check() is cfg
    assert default_config("cpu", nodes=5).nodes == 5
    assert default_config("cpu", emsize=8).check().nhid == 8
    assert SearchLab(nodes=3, emsize=8, device="cpu").config().nhid == 8
    with pytest.raises(LabError, match="cuda:99 is not available") as caught:
        default_config("cuda:99")
    assert len(caught.value._render_traceback_()) == 1


def test_creating_a_lab_reads_nothing(tmp_path):
    lab = SearchLab(SearchConfig(**{**TINY, "data": str(tmp_path / "missing"), "save": str(tmp_path / "run")}))
    assert lab.search is None and lab.state is None
    assert not (tmp_path / "run").exists()
    assert not lab.buttons["Step"].disabled
    assert "edges left: 3" in lab.status.value and "steps: 0" in lab.status.value
    assert dag_states(lab) == {"live": 3}


def test_preview_cell_is_the_cell_the_search_starts_from(tiny_data, tmp_path):
    cfg = SearchConfig(**{**TINY, "nodes": 5, "seed": 7, "data": str(tiny_data), "save": str(tmp_path / "s")})
    assert initial_cell(cfg) == Cell.from_dict(Search(cfg).state["initial"])


def test_invalid_settings_show_inline_and_disable_step(tiny_data, tmp_path):
    lab = make_lab(tiny_data, tmp_path)
    lab.inputs["keep_fraction"].value = 0
    assert "keep_fraction" in lab.message.value and "color:#c00" in lab.message.value
    assert lab.buttons["Step"].disabled and lab.buttons["Run"].disabled and lab.buttons["Reset"].disabled
    with pytest.raises(Exception, match="keep_fraction"):
        lab.config()
    lab.inputs["keep_fraction"].value = 0.34
    lab.inputs["nodes"].value = 1
    assert "nodes" in lab.message.value and lab.buttons["Step"].disabled
    lab.inputs["nodes"].value = 3
    assert lab.message.value == "" and not lab.buttons["Step"].disabled
    assert lab.config().nodes == 3 and lab.config().nhid == 8


def test_step_button_shrinks_and_updates_every_view(tiny_data, tmp_path):
    lab = make_lab(tiny_data, tmp_path)
    assert dag_states(lab) == {"live": 3}
    assert lab.curves.figure.data[0].x in (None, ()) and lab.slider.max == 0 and table_rows(lab) == 0
    lab.buttons["Step"].click()
    lab.wait(60)
    assert lab.error is None, lab.errors.value
    states = dag_states(lab)
    assert states["removed"] == 1 and states["live"] == 0, states        # the rest were tried this step
    assert len(lab.curves.figure.data[0].x) == 1                                # best score against edges left
    assert table_rows(lab) == 3 and "removed" in lab.table.value
    assert lab.slider.max == 1 and lab.slider.value == 1
    assert "steps: 1" in lab.status.value
    assert f"edges left: {lab.search.cell.n_edges}" in lab.status.value and lab.search.cell.n_edges < 3
    assert (tmp_path / "run" / "search.json").is_file()
    assert not lab.buttons["Step"].disabled and lab.buttons["Stop"].disabled
    assert lab.bar_candidates.value == lab.bar_candidates.max == 3


@pytest.mark.slow
def test_candidates_trained_together_all_show_as_training(tiny_data, tmp_path):
    seen = []

    def look(e):
        if isinstance(e, CandidateEpoch) and e.step == 0 and not seen:
            seen.append((dag_states(lab)["training"], lab.table.value.count("training"),
                         lab.training.figure.layout.title.text))

    lab = make_lab(tiny_data, tmp_path, on_event=look, parallel=3)
    lab.step()
    assert seen and seen[0][0] == 3 and seen[0][1] == 3, seen
    first = lab.search.history[0]["order"][0]
    assert f"without edge {first[0]}→{first[1]}" in seen[0][2]           # the first candidate's curve
    others = ", ".join(f"{i}→{j}" for i, j in lab.search.history[0]["order"][1:3])
    assert f"also training now, not drawn: without {others}" in seen[0][2]   # and the two beside it
    assert dag_states(lab)["training"] == 0 and lab.error is None


@pytest.mark.slow
def test_sync_step_then_final_then_export(tiny_data, tmp_path):
    lab = make_lab(tiny_data, tmp_path)
    record = lab.step()
    assert record["done"] and record["edges_left"] == lab.search.cell.n_edges
    assert lab.search.shrinking_done
    final = lab.step()                                 # shrinking is done: the final training
    assert final["ppl"] > 0 and lab.search.finished
    assert "finished" in lab.status.value
    assert lab.slider.value == lab.state["best"]["step"] + 1 and "★ best" in lab.dag.figure.layout.title.text
    assert lab.buttons["Step"].disabled and lab.buttons["Run"].disabled and not lab.buttons["Export"].disabled
    assert lab.step() is None
    assert lab.which.value == "best" and list(lab.which.options) == ["best", "final", "step:0"]
    files = lab.export()
    assert files and all(p.is_file() and p.parent == tmp_path / "run" / "export" for p in files.values())
    assert json.loads(files["json"].read_text())["mask"] == lab.state["best"]["cell"]["mask"]
    assert files["json"].name == "cell-best.json" and files["graph"].name == "graph-best"
    assert "cell-best.json" in lab.exported.value and "the best cell" in lab.exported.value
    assert f"<a href='{os.path.relpath(files['json'])}' target='_blank'>" in lab.exported.value   # JupyterLab opens it
    assert "MB, plotly.js inside: opens offline)" in lab.exported.value
    lab.which.value = "final"
    files = lab.export()
    assert files["json"].name == "cell-final.json"
    assert json.loads(files["json"].read_text())["mask"] == final["cell"]["mask"]
    assert lab.export("step:0")["json"].name == "cell-step0.json"
    with pytest.raises(LabError, match="steps 0 to 0"):
        lab.export("step:3")


def test_pause_stops_after_the_candidate_in_training(tiny_data, tmp_path):
    pressed = []

    def press_pause(e):
        if isinstance(e, CandidateEpoch) and not pressed:
            pressed.append(e.edge)
            lab.buttons["Pause"].click()

    lab = make_lab(tiny_data, tmp_path, on_event=press_pause, nodes=4, epochs=2, max_steps_to_action=2)
    lab.buttons["Run"].click()
    lab.wait(60)
    assert lab.error is None, lab.errors.value
    pending = lab.search.pending
    assert [tuple(c["edge"]) for c in pending["candidates"]] == [pressed[0]]   # it finished both epochs
    assert len(pending["candidates"][0]["curve"]) == 2
    assert "paused" in lab.status.value and not lab.buttons["Step"].disabled
    assert "training" not in lab.table.value and "waiting" in lab.table.value
    lab.buttons["Step"].click()                      # continues the same step
    lab.wait(60)
    assert lab.error is None and len(lab.search.history) == 1
    assert len(lab.search.history[0]["candidates"]) == len(lab.search.history[0]["order"])


@pytest.mark.slow
def test_stop_during_run_leaves_a_resumable_search(tiny_data, tmp_path):
    def press_stop(e):
        if isinstance(e, CandidateDone) and e.step == 1:
            lab.buttons["Stop"].click()

    lab = make_lab(tiny_data, tmp_path, on_event=press_stop, nodes=4, epochs=2, max_steps_to_action=2)
    lab.buttons["Run"].click()
    lab.wait(60)
    assert lab.error is None, lab.errors.value
    assert not lab.search.finished and "stopped" in lab.status.value
    assert len(lab.search.history) == 1 and len(lab.search.pending["candidates"]) >= 1
    assert not lab.buttons["Run"].disabled and lab.buttons["Stop"].disabled

    again = SearchLab.open(tmp_path / "run")
    assert again.search.pending["candidates"] == lab.search.pending["candidates"]
    final = again.run()
    assert final is not None and again.search.finished and "finished" in again.status.value
    assert again.search.history[1]["candidates"][0] == lab.search.pending["candidates"][0]


@pytest.mark.slow
def test_an_interrupted_cell_leaves_the_lab_ready_to_go_on(tiny_data, tmp_path):
    def interrupt(e):
        if isinstance(e, CandidateDone) and e.done == 1 and not lab.search.history:
            raise KeyboardInterrupt

    lab = make_lab(tiny_data, tmp_path, on_event=interrupt)
    with pytest.raises(KeyboardInterrupt):
        lab.step()
    assert "interrupted" in lab.status.value and not lab.busy and not lab.buttons["Step"].disabled
    assert len(lab.search.pending["candidates"]) == 1
    record = lab.step()
    assert record["done"] and len(record["candidates"]) == 3


def test_set_changes_the_panel(tmp_path):
    lab = SearchLab(SearchConfig(**{**TINY, "save": str(tmp_path / "run")}))
    lab.set(nodes=5, epochs=3, emb_path=None)
    assert (lab.config().nodes, lab.config().epochs, lab.config().emb_path) == (5, 3, None)
    assert "edges left: 10" in lab.summary and dag_states(lab) == {"live": 10}
    with pytest.raises(Exception, match="unknown setting"):
        lab.set(nhid=4)


@pytest.mark.slow
def test_reset_starts_a_new_search_in_a_fresh_folder(tiny_data, tmp_path):
    lab = make_lab(tiny_data, tmp_path)
    lab.step()
    before = (tmp_path / "run" / "search.json").read_text()
    lab.inputs["seed"].value = 2
    assert "Reset" in lab.message.value                  # the running search keeps its settings
    lab.buttons["Reset"].click()
    assert lab.search is None and lab.inputs["save"].value == str(tmp_path / "run-2")
    assert lab.slider.max == 0 and "steps: 0" in lab.status.value and dag_states(lab) == {"live": 3}
    lab.buttons["Step"].click()
    lab.wait(60)
    assert lab.error is None, lab.errors.value
    assert lab.search.save_dir == tmp_path / "run-2" and lab.search.cfg.seed == 2
    assert (tmp_path / "run" / "search.json").read_text() == before
    assert fresh_folder(tmp_path / "run") == str(tmp_path / "run-3")


@pytest.mark.slow
def test_a_new_lab_on_a_used_save_folder_does_not_fail(tiny_data, tmp_path):
    make_lab(tiny_data, tmp_path).step()
    lab = make_lab(tiny_data, tmp_path)
    lab.step()
    assert lab.search.save_dir == tmp_path / "run-2" and lab.inputs["save"].value == str(tmp_path / "run-2")


@pytest.mark.slow
def test_open_shows_the_same_history_and_the_slider_goes_back(tiny_data, tmp_path):
    lab = make_lab(tiny_data, tmp_path, nodes=4, keep_fraction=0.2, max_steps_to_action=2)
    lab.step()
    lab.step()
    again = SearchLab.open(tmp_path / "run")
    assert again.slider.max == lab.slider.max == 2 and again.slider.value == 2
    assert again.curves.figure.data[0].x == lab.curves.figure.data[0].x and len(again.curves.figure.data[0].x) == 2
    assert dag_states(again) == dag_states(lab)
    assert again.table.value == lab.table.value
    assert again.dag.figure.layout.title.text == lab.dag.figure.layout.title.text
    assert f"edges left: {lab.search.cell.n_edges}" in again.status.value and "steps: 2" in again.status.value

    removed_at = [dag_states(again)["removed"]]
    again.slider.value = 1
    removed_at.insert(0, dag_states(again)["removed"])
    assert removed_at[0] < removed_at[1] and "after step 0" in again.dag.figure.layout.title.text
    assert table_rows(again) == len(again.search.history[0]["candidates"])
    again.slider.value = 0
    assert dag_states(again) == {"live": 6} and table_rows(again) == 0


def test_a_user_error_in_the_thread_is_one_line(tmp_path):
    lab = SearchLab(SearchConfig(**{**TINY, "data": str(tmp_path / "missing"), "save": str(tmp_path / "run")}))
    lab.buttons["Step"].click()
    lab.wait(60)
    assert isinstance(lab.error, ConfigError)
    assert lab.summary.startswith(f"error: data folder {tmp_path / 'missing'} not found (looked for")
    assert lab.errors.value == ""                                   # no traceback for a user error
    assert not lab.buttons["Step"].disabled and not lab.busy


def test_a_user_error_from_a_notebook_call_is_one_line(tmp_path):
    lab = SearchLab(SearchConfig(**{**TINY, "data": str(tmp_path / "missing"), "save": str(tmp_path / "run")}))
    with pytest.raises(LabError) as caught:
        lab.step()
    assert caught.value._render_traceback_() == [f"error: {caught.value}"]   # what IPython prints
    assert "not found" in str(caught.value) and "\n" not in str(caught.value)
    assert lab.summary.startswith("error: data folder") and lab.errors.value == ""
    lab.inputs["keep_fraction"].value = 0
    with pytest.raises(LabError, match="keep_fraction") as caught:
        lab.step()
    assert len(caught.value._render_traceback_()) == 1


def test_an_unexpected_error_in_the_thread_shows_its_traceback(tiny_data, tmp_path):
    def fail(e):
        if isinstance(e, CandidateDone):
            raise ValueError("a bug")

    lab = make_lab(tiny_data, tmp_path, on_event=fail)
    lab.buttons["Step"].click()
    lab.wait(60)
    assert isinstance(lab.error, ValueError) and "error: ValueError: a bug" in lab.summary
    assert "Traceback" in lab.errors.value and "ValueError" in lab.errors.value


@pytest.mark.slow
def test_compare_lab_trains_every_cell_and_tabulates(tiny_data):
    cfg = SearchConfig(**{**TINY, "data": str(tiny_data), "epochs": 2})
    cells = {"full": Cell.full(("tanh",) * 4), "chain": Cell.from_edges([(0, 1), (1, 2)], ("tanh", "relu", "tanh"))}
    cmp = CellsLab(cells, cfg)
    results = cmp.run()
    assert set(results) == set(cells)
    rows = {r["name"]: r for r in cmp.rows()}
    assert rows["full"]["edges"] == 6 and rows["chain"]["edges"] == 2
    assert rows["full"]["flops"] == 6 * 64 and rows["chain"]["params"] < rows["full"]["params"]
    assert all(r["ppl"] > 0 and r["seconds"] > 0 for r in rows.values())
    assert [len(t.x) for t in cmp.figure.figure.data] == [2, 2]
    assert cmp.table.value.count("<tr") == 3 and "done" in cmp.status.value


def test_open_a_finished_search_shows_its_best_cell_not_the_last(tiny_data, tmp_path):
    save = tmp_path / "run"
    write_json_atomic(save / "search.json", records.best_first(tiny_data, save))
    lab = SearchLab.open(save)
    assert lab.slider.max == 2 and lab.slider.value == 1                 # on the best step, not the last
    assert lab.dag.figure.layout.title.text == "after step 0 ★ best (score -10.00): 5 edges"
    assert dag_states(lab)["removed"] == 1
    [star] = [t for t in lab.curves.figure.data if t.name == "best step"]
    assert list(star.x) == [5] and list(star.y) == [-10.0]
    lab.slider.value = 2
    assert "★" not in lab.dag.figure.layout.title.text and "★ best cell: after step 0" in lab.slider_text.value
    assert lab.buttons["Step"].disabled and not lab.buttons["Export"].disabled
    files = lab.export()
    assert Cell.from_dict(json.loads(files["json"].read_text())) == records.AFTER0
    assert "estimate: nothing left to run" in lab.estimate.value


def test_a_new_view_of_a_reopened_search_shows_its_whole_state(tiny_data, tmp_path):
    """What a second browser tab on the same kernel draws: each figure widget's synced `spec`, which
    must be the figure as it is now (nodes included), not as it was made."""
    save = tmp_path / "run"
    state = records.best_first(tiny_data, save)
    curve = [{"epoch": e, "train_loss": 6.0 - e, "val_loss": 6.5 - e, "lr": 20.0} for e in range(2)]
    state["final"]["curve"] = curve
    write_json_atomic(save / "search.json", state)
    lab = SearchLab.open(save)
    traces = {t["name"]: t for t in lab.dag.spec["data"]}
    assert lab.dag.spec["layout"]["title"]["text"] == "after step 0 ★ best (score -10.00): 5 edges"
    assert len(traces["nodes"]["x"]) == 4 + 3 and len(traces["nodes"]["text"]) == 4 + 3   # inputs, nodes, output
    drawn = [t for name, t in traces.items() if "->" in name and t.get("visible") is True]
    assert len(drawn) == 6 and all(t["marker"]["size"][-1] > 0 for t in drawn)
    assert [len(t.get("x") or ()) for t in lab.curves.spec["data"][:2]] == [2, 2]
    assert list(lab.training.spec["data"][1]["y"]) == [6.5, 5.5]
    assert lab.training.spec["layout"]["title"]["text"] == "the final cell, trained"
    lab.slider.value = 2
    assert lab.dag.spec["layout"]["title"]["text"] == "final cell (ppl 250.00): 3 edges"   # follows the slider
    assert "<b>removed</b>" not in lab.table.value
    assert lab.buttons["Step"].disabled and lab.buttons["Step"].button_style == ""
    assert "(proxy, 1 epoch, emsize 8)" in lab.table_head.value


def test_follow_refreshes_the_panel_read_only(tmp_path):
    save = tmp_path / "run"
    write_json_atomic(save / "search.json", records.best_first(tmp_path / "no-data", save, steps=1, final=False))
    lab = SearchLab.open(save, follow=True, interval=0.05)
    try:
        assert lab.following and lab.summary.startswith("following (read-only) · steps: 1")
        assert all(lab.buttons[b].disabled for b in ("Step", "Run", "Reset", "Export", "Pause", "Stop"))
        assert lab.slider.max == 1 and "step 1 in progress" in lab.dag.figure.layout.title.text
        assert "next Step about 10 s" in lab.estimate.value
        write_json_atomic(save / "search.json", records.best_first(tmp_path / "no-data", save))
        deadline = time.monotonic() + 10
        while len(lab.runner.history) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        with lab.runner.lock:   # the redraw of the new record is done
            pass
        assert "steps: 2" in lab.summary and "the search has finished" in lab.summary
        assert lab.slider.max == 2 and len(lab.curves.figure.data[0].x) == 2
        assert all(lab.buttons[b].disabled for b in ("Step", "Run", "Reset", "Export"))
    finally:
        lab.close()
    assert not lab.following


def test_every_setting_has_its_flag_help_as_tooltip():
    helps = help_texts()
    lab = SearchLab(device="cpu")
    assert [name for name, _, _ in SETTINGS] == list(lab.inputs)
    for name, w in lab.inputs.items():
        assert helps[name] and w.tooltip == f"{helps[name]} (--{name})", name


def test_presets_fill_the_panel():
    lab = SearchLab(device="cpu")
    lab.preset.value = "published"
    cfg = lab.config()
    assert ((cfg.nodes, cfg.emsize, cfg.nhid, cfg.epochs, cfg.batch_size, cfg.max_steps_to_action)
            == (6, 100, 100, 10, 128, 10))
    assert (cfg.lr, cfg.clip, cfg.keep_fraction, cfg.device) == (20.0, 0.25, 0.25, "cpu")
    lab.preset.value = "tiny"
    assert lab.config() == default_config("cpu", data=cfg.data, save=cfg.save)
    assert lab.estimate.value.endswith("estimate: unknown until the first candidate</span>")


@pytest.mark.slow
def test_branch_from_the_history_slider_leaves_the_parent_and_follows_the_panel(tiny_data, tmp_path):
    lab, parent, before = stepped_lab(tiny_data, tmp_path)
    lab.slider.value = 1                                   # after step 0
    assert not lab.branch_button.disabled
    lab.inputs["epochs"].value = 2
    save = lab.branch()
    assert Path(save).name == "run-from0" and lab.runner.save_dir == Path(save)
    assert (parent / "search.json").read_text() == before
    assert len(lab.state["steps"]) == 1 and lab.state["parent"]["step"] == 0
    ours, panel = lab.search.cfg.to_dict(), lab.config().to_dict()
    assert lab.message.value == "", {k: (ours[k], panel[k]) for k in ours if ours[k] != panel[k]}
    lab.step()
    new = json.loads((Path(save) / "search.json").read_text())
    assert new["config"]["epochs"] == 2 and len(new["steps"]) == 2 and "from_parent" not in new["steps"][1]
    assert all(len(c["curve"]) == 2 for c in new["steps"][1]["candidates"] if c["ended"] == "epochs")
    lab.inputs["nodes"].value = 5                          # the search space stays: one line, no branch
    lab.slider.value = 1
    lab._on_branch()
    assert "branch failed" in lab.summary and "--nodes" in lab.summary, lab.summary


@pytest.mark.slow
def test_inspect_shows_any_past_candidates_curve_cell_and_seed(tiny_data, tmp_path):
    from autoshrink.core.rules import candidate_seed
    lab = make_lab(tiny_data, tmp_path, nodes=4, keep_fraction=0.34, max_steps_to_action=2, epochs=2)
    lab.step()
    lab.step()
    lab.slider.value = 1                                     # after step 0: its candidates
    step0 = lab.state["steps"][0]
    assert lab.inspect.options[0] == ("—", "") and lab.inspect.value == ""
    edges = [v for _, v in lab.inspect.options if v]
    assert sorted(edges) == sorted(tuple(c["edge"]) for c in step0["candidates"])
    lab.inspect.value = edges[-1]
    seed = candidate_seed(SearchConfig.from_dict(lab.state["config"]), 0, edges[-1])
    title = lab.training.figure.layout.title.text
    assert "step 0" in title and str(seed) in title and "edges left" in title
    assert len(lab.training.figure.data[0].x) == 2                 # its two epochs, from the record


def test_the_panel_groups_every_setting_once_with_running_in_a_closed_fold(tiny_data, tmp_path):
    from autoshrink.lab.widgets import ADVANCED, PANEL_GROUPS
    grouped = [n for _, names in PANEL_GROUPS for n in names] + list(ADVANCED)
    assert sorted(grouped) == sorted(name for name, _, _ in SETTINGS) and len(grouped) == len(set(grouped))
    lab = make_lab(tiny_data, tmp_path)
    assert lab.advanced.selected_index is None
    assert lab.inputs["precision"] in lab.advanced.children[0].children


def test_a_preset_resets_the_node_ops_a_branch_fixed(tmp_path):
    cfg = SearchConfig(nodes=4, ops="relu,tanh,sigmoid,identity", data=str(tmp_path), save=str(tmp_path / "run"),
                       device="cpu")
    lab = SearchLab(cfg)
    lab.preset.value = "published"
    assert lab.config().nodes == 6 and lab.config().ops is None and lab.inputs["ops"].value == ""
    assert not lab.buttons["Reset"].disabled and "⚠" not in lab.message.value


def test_a_branch_panel_marks_the_steps_it_copied(tiny_data, tmp_path):
    parent = records.best_first(tiny_data, tmp_path / "a")
    write_json_atomic(tmp_path / "a" / "search.json", parent)
    branch = json.loads(json.dumps(parent))
    branch["steps"][0]["from_parent"] = True
    branch["parent"] = {"save": "../a", "step": 0}
    branch["config"] = {**branch["config"], "epochs": parent["config"]["epochs"] + 1}
    write_json_atomic(tmp_path / "b" / "search.json", branch)
    lab = SearchLab.open(tmp_path / "b")
    lab.slider.value = 1
    epochs = parent["config"]["epochs"]
    assert lab.step_note.value == ("<span style='color:#a05a00'>step 0 was copied from the parent search (trained with "
                                   f"epochs {epochs}, so its scores do not compare with this branch&#x27;s own steps)"
                                   "</span>")
    assert "decided by" not in lab.step_note.value
    assert "hollow: step 0 copied from the parent" in lab.curves.spec["layout"]["title"]["text"]
    assert lab.dag.spec["layout"]["title"]["text"].endswith(" (copied from the parent)")
    assert lab.slider_text.value.startswith(lab.dag.spec["layout"]["title"]["text"])    # the label beside the slider
    lab.slider.value = 2
    assert lab.step_note.value == ""


def test_a_close_decision_is_flagged_and_the_score_is_spelled_out(tiny_data, tmp_path):
    state = records.best_first(tiny_data, tmp_path / "a")
    state["steps"][1]["candidates"][1]["score"] = -12.22          # step 1: -12.00 against -12.22
    write_json_atomic(tmp_path / "a" / "search.json", state)
    lab = SearchLab.open(tmp_path / "a")
    lab.slider.value = 2
    assert "⚠ decided by 0.22 score points, within the retest margin (1)" in lab.step_note.value
    lab.slider.value = 1                                            # step 0: -10 against -20
    assert lab.step_note.value == ""
    assert "score = (200 − ppl) × 0.25 − 1 × (log10 flops − 6)" in lab.formula.value
    lab.set(epochs=state["config"]["epochs"] + 1)
    assert f"epochs {state['config']['epochs'] + 1} (this search: {state['config']['epochs']})" in lab.message.value


def test_the_bars_tell_how_long_the_epoch_in_training_has_run(tmp_path):
    lab = SearchLab(SearchConfig(data=str(tmp_path), save=str(tmp_path / "run"), device="cpu"))
    assert "into this epoch" not in lab.bar_text.value
    lab._epoch_since = time.monotonic() - 65
    lab._draw_bars()
    assert lab.bar_text.value.endswith(" · 1 min 05 s into this epoch")


def test_a_panel_left_at_auto_precision_is_not_a_changed_setting(tiny_data, tmp_path):
    """Issue 32 item 10: the changed-settings list showed "precision auto (this search: fp32)" for a
    panel left at auto, which the search resolved to fp32 on this machine."""
    lab = make_lab(tiny_data, tmp_path, precision="auto")
    lab.runner.ensure_search()
    assert lab.search.cfg.precision == "fp32"                     # auto, resolved on a CPU at this size
    lab.set(precision="auto", epochs=2)
    assert "precision" not in lab.message.value and "epochs 2 (this search: 1)" in lab.message.value
    lab.set(precision="bf16")
    assert "precision bf16 (this search: fp32)" in lab.message.value


def test_a_figures_state_is_small_and_plotly_js_comes_once_per_kernel():
    """Issue 32 item 1: every FigureWidget's state carried Plotly.js (almost 5 MB); a reloaded page
    with the notebooks open fetched and imported tens of megabytes, and anywidget gives up on a
    model not ready within 2 s ("[anywidget] Failed to initialize model", then "model not found").
    A figure's state is now the figure and a reference to the kernel's one PlotlyLibrary."""
    import json as json_

    from plotly.offline import get_plotlyjs

    from autoshrink import plot
    from autoshrink.lab.figure_widget import FigureWidget
    first, second = FigureWidget(plot.training_figure()), FigureWidget(plot.curves_figure(None))
    for fw in (first, second):
        assert len(json_.dumps(fw.get_state(), default=str)) < 100_000
    assert first.library is second.library
    assert first.get_state()["library"] == f"IPY_MODEL_{first.library.model_id}"
    assert first.library.source.decode() == get_plotlyjs()
    first.library.close()
    assert FigureWidget().library is not first.library          # made again once closed
