"""The bench: the runs list as a panel (open, resume, branch, compare from it), the comparison
widget and the parallel view of settings against best ppl, driven from Python as a user would."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import records
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import best_ppl, write_state
from autoshrink.lab.bench import RunsLab, SearchComparison, runs_html
from autoshrink.plot.searches import read_searches, settings_parallel, settings_rows
from autoshrink.runs import delete_run, list_runs, row_cells
from records import stepped_lab


@pytest.fixture
def runs(tmp_path, tiny_data):
    """Two hand-made finished searches under runs/: b differs in epochs and cost weight, and in its best cell."""
    a = records.best_first(tiny_data, tmp_path / "runs" / "a")
    b = copy.deepcopy(a)
    b["config"] = {**b["config"], "epochs": 3, "cost_weight": 0.5}
    b["steps"][0]["candidates"][0]["ppl"] = 99.0
    write_state(tmp_path / "runs" / "a", a)
    write_state(tmp_path / "runs" / "b", b)
    return tmp_path / "runs"


def test_best_ppl_is_the_best_steps_chosen_candidate(runs):
    record = read_searches([runs / "a", runs / "b"])[str(runs / "b")]
    step = record.steps[0]
    chosen = next(c for c in step.candidates if c.edge in step.removed)
    assert record.best_ppl() == best_ppl(record.to_dict()) == chosen.ppl == 99.0


def test_runs_tell_a_finished_search_open_elsewhere_from_a_running_one(runs, tiny_data):
    """A lab in another kernel that merely holds a finished search does not make it "running"; an
    unfinished one held there is "running", with its last write's age."""
    write_state(runs / "c", records.best_first(tiny_data, runs / "c", steps=1, final=False))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(runs / "a"), str(runs / "c")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rows = {Path(r["folder"]).name: r for r in list_runs(runs)}
        assert rows["a"]["status"] == f"finished (open in process {holder.pid})" and rows["a"]["owner"] == holder.pid
        assert rows["b"]["status"] == "finished" and rows["b"]["owner"] is None
        assert rows["c"]["status"] == "running"
        assert row_cells(rows["c"])[2].startswith(f"running (process {holder.pid}, last write ")
    finally:
        holder.kill()
        holder.wait()


HOLD = ("import sys, time; from autoshrink.core.disk import WriterLock; "
        "[WriterLock(f).acquire() for f in sys.argv[1:]]; print('held', flush=True); time.sleep(60)")


def test_a_branch_row_names_its_parent_as_its_folder_and_counts_only_its_own_time(runs):
    branch = copy.deepcopy(json.loads((runs / "a" / "search.json").read_text()))
    branch["steps"][0]["from_parent"] = True                   # as a branch after step 0 copies it
    branch["parent"] = {"save": "../a", "step": 0}
    write_state(runs / "a-from0", branch)
    rows = {Path(r["folder"]).name: r for r in list_runs(runs)}
    own = sum(c["seconds"] for c in branch["steps"][1]["candidates"])
    assert rows["a-from0"]["parent"] == f"{runs / 'a'} @ step 0"
    assert rows["a-from0"]["seconds"] == own < rows["a"]["seconds"]


def test_runs_html_has_a_row_per_run(runs):
    page = runs_html(list_runs(runs))
    assert page.count("<tr>") == 1 + 2 and str(runs / "a") in page and "finished" in page
    assert "no runs here yet" in runs_html([])


def test_parallel_view_has_an_axis_per_differing_setting(runs):
    fig = settings_parallel(read_searches([runs / "a", runs / "b"]))
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims) == ["cost_weight", "epochs", "edges", "best ppl"]          # save differs too, but is a path
    assert list(dims["epochs"].values) == [1, 3] and list(dims["best ppl"].values)[1] == 99.0
    assert list(fig.data[0].line.color) == list(dims["best ppl"].values)


def test_drawn_ops_equal_the_same_ops_given(runs):
    b = json.loads((runs / "b" / "search.json").read_text())
    b["config"]["ops"] = ",".join(b["cell"]["ops"])                  # a branch records the ops it was drawn with
    (runs / "b" / "search.json").write_text(json.dumps(b))
    rows = {r["setting"]: r for r in settings_rows(read_searches([runs / "a", runs / "b"]))}
    assert not rows["ops"]["differs"] and rows["ops"][str(runs / "a")] == b["config"]["ops"]


def test_parallel_view_names_categories(runs):
    b = json.loads((runs / "b" / "search.json").read_text())
    b["config"]["precision"] = "bf16"
    (runs / "b" / "search.json").write_text(json.dumps(b))
    dims = {d.label: d for d in settings_parallel(read_searches([runs / "a", runs / "b"])).data[0].dimensions}
    assert list(dims["precision"].ticktext) == ["auto", "bf16"] and list(dims["precision"].values) == [0, 1]


def test_the_list_chooses_searches_and_compares_them(runs, tmp_path):
    bench = RunsLab(runs, device="cpu")
    assert [v for _, v in bench.chosen.options] == [str(runs / "a"), str(runs / "b")]
    assert bench.table.value.count("<tr>") == 3 and len(bench.parallel.children) == 1
    bench.chosen.value = tuple(v for _, v in bench.chosen.options)
    bench._on_compare()
    c = bench.comparison
    assert isinstance(c, SearchComparison) and "comparing 2 searches" in bench.message.value
    assert c.page.value == str(runs / "compare.html")
    c._on_save()
    assert (runs / "compare.html").is_file() and "saved" in c.saved.value


def test_buttons_that_need_one_search_say_so(runs):
    bench = RunsLab(runs, device="cpu")
    bench._on_open()
    assert "choose one search in the list (0 chosen)" in bench.message.value
    bench.folder.value = str(runs / "missing")
    bench._on_refresh()
    assert "no folder" in bench.message.value and bench.chosen.options == ()


@pytest.mark.slow
def test_open_resume_and_branch_a_real_search(tiny_data, tmp_path):
    lab, parent, before = stepped_lab(tiny_data, tmp_path)
    lab.close()
    bench = RunsLab(tmp_path, data=str(tiny_data))
    bench.chosen.value = (str(parent),)
    bench.at_step.value = 5
    bench._on_branch()
    assert "finished steps 0 to 1" in bench.message.value
    bench.at_step.value = 0
    bench._on_branch()
    assert bench.lab.slider.value == 1 and not bench.lab.branch_button.disabled
    branched = bench.branch(parent, 0, epochs=2)
    assert branched.runner.save_dir.name == "run-from0" and (parent / "search.json").read_text() == before
    assert branched.config().epochs == 2 and branched.state["parent"]["step"] == 0
    assert bench.open(branched.runner.save_dir) is branched            # reopened as it was, not anew
    resumed = bench.resume(parent)
    resumed.wait(120)
    assert resumed.runner.finished and resumed.state["final"] is not None
    bench.refresh()
    status = {r["folder"]: r["status"] for r in bench.rows}
    assert status[str(parent)] == "finished (open here)" and status[str(branched.runner.save_dir)] == "open here"
    bench.resume(parent)
    assert "is finished: nothing to resume" in bench.message.value


@pytest.mark.slow
def test_a_followed_search_branches_and_the_lab_drives_the_branch(tiny_data, tmp_path):
    from autoshrink.lab.widgets import SearchLab
    lab, parent, before = stepped_lab(tiny_data, tmp_path, steps=1)
    watcher = SearchLab.open(parent, follow=True, interval=0.05, data=str(tiny_data))
    watcher.slider.value = 1
    assert watcher.following and not watcher.branch_button.disabled
    save = watcher.branch()
    assert not watcher.following and Path(save).name == "run-from0"
    assert (parent / "search.json").read_text() == before and watcher.state["parent"]["step"] == 0
    watcher.step()
    assert len(watcher.state["steps"]) == 2 and (parent / "search.json").read_text() == before


def test_runs_are_annotated_filtered_sorted_and_deleted(runs):
    bench = RunsLab(runs)
    bench.annotate(str(runs / "b"), "  cheaper   baseline ")
    assert (runs / "b" / "note.txt").read_text() == "cheaper baseline\n"
    assert {Path(r["folder"]).name: r["note"] for r in bench.rows} == {"a": "", "b": "cheaper baseline"}
    bench.filter.value = "BASELINE"                                   # the note, any case
    assert [label for label, _ in bench.chosen.options] == [f"{runs / 'b'} · finished · 2 steps"]
    bench.filter.value = ""
    bench.sort.value = "best ppl"                                     # b's best candidate: ppl 99
    assert [Path(v).name for _, v in bench.chosen.options] == ["b", "a"]
    bench.chosen.value = (str(runs / "a"),)
    bench._on_delete()
    assert "press Delete again" in bench.message.value and (runs / "a").is_dir()
    bench._on_delete()
    assert not (runs / "a").exists() and [Path(r["folder"]).name for r in bench.rows] == ["b"]


def test_a_run_open_in_a_process_is_not_deleted(runs):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(runs / "a")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"open in process {holder.pid}"):
            delete_run(runs / "a", list_runs(runs))
        with pytest.raises(ConfigError, match="holds other runs"):
            delete_run(runs, [*list_runs(runs), {"folder": str(runs), "owner": None}])
    finally:
        holder.kill()
        holder.wait()
    assert (runs / "a" / "search.json").is_file()


IDLE = ("import sys, time; from autoshrink.core.disk import WriterLock; "
        "w = WriterLock(sys.argv[1]).acquire(); w.set_activity('idle'); print('held', flush=True); time.sleep(60)")


def test_a_search_an_idle_lab_holds_is_not_running(runs, tiny_data):
    """Issue 32 item 8: a search an idle kernel merely held read "running (process N, last write
    79 min ago)". A lab says in the lock file that it is idle, and the list says so."""
    write_state(runs / "c", records.best_first(tiny_data, runs / "c", steps=1, final=False))
    holder = subprocess.Popen([sys.executable, "-c", IDLE, str(runs / "c")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        [row] = [r for r in list_runs(runs) if Path(r["folder"]).name == "c"]
        assert row["status"] == f"idle (open in process {holder.pid})" and row_cells(row)[2] == row["status"]
        with pytest.raises(ConfigError, match="Shut Down Kernel"):                 # says how to let go of it
            delete_run(runs / "c", list_runs(runs))
    finally:
        holder.kill()
        holder.wait()


def test_an_opened_lab_marks_its_search_idle_and_close_lets_go_of_it(runs, tiny_data):
    """The lab in this kernel marks the search it holds idle between Steps; close() lets go of it, so
    05's Delete (which closes its own lab first) deletes it instead of "close its lab"."""
    from autoshrink.core.disk import WriterLock
    from autoshrink.lab.widgets import SearchLab
    save = runs / "c"
    write_state(save, records.best_first(tiny_data, save, steps=1, final=False))
    lab = SearchLab.open(save, data=str(tiny_data))
    assert WriterLock(save).live_owner() is not None and WriterLock(save).activity() == "idle"
    lab.close()
    assert WriterLock(save).live_owner() is None and lab.state is not None     # still on show, read-only
    bench = RunsLab(runs, data=str(tiny_data))
    bench.open(save)                                                          # this bench's lab takes it up
    bench.chosen.value = (str(save),)
    bench._on_delete()
    bench._on_delete()
    assert not save.exists(), bench.message.value


def test_sorting_by_best_ppl_says_when_the_runs_trained_for_different_epochs(runs):
    """Issue 32 item 8: sorting by best perplexity ranked 1-epoch and 3-epoch runs together silently."""
    bench = RunsLab(runs)
    assert "different" not in bench.table.value
    bench.sort.value = "best ppl"
    assert "trained for different epochs (1, 3)" in bench.table.value
    bench.filter.value = "epochs 3"
    assert "different" not in bench.table.value


def test_a_branch_made_in_the_lab_below_appears_in_the_list_at_once(tiny_data, tmp_path):
    """Issue 32 item 8: a branch made with the opened lab's Branch from here showed only after Refresh."""
    save = tmp_path / "runs" / "a"
    write_state(save, records.best_first(tiny_data, save))
    bench = RunsLab(tmp_path / "runs", data=str(tiny_data))
    lab = bench.open(save)
    lab.slider.value = 1
    lab._on_branch()
    branch = lab.runner.save_dir
    assert branch.name == "a-from0" and str(branch) in [r["folder"] for r in bench.rows]
    assert str(branch) in [v for _, v in bench.chosen.options]


def page_errors(widget, action) -> list[str]:
    """What the page's select would fail on while `action` runs: the widget's state messages applied
    in order, as the page applies them, and after each a selected index past the options (the page's
    "Cannot set properties of undefined (setting 'selected')")."""
    shown = {"_options_labels": widget._options_labels, "index": widget.index}
    errors = []

    def receive(msg, buffers=None):
        shown.update(msg.get("state", {}))
        index = shown["index"] if isinstance(shown["index"], tuple) else (shown["index"],)
        if any(i is not None and i >= len(shown["_options_labels"]) for i in index):
            errors.append(f"index {shown['index']} of {len(shown['_options_labels'])} options")
    widget._send = receive
    try:
        action()
    finally:
        del widget._send
    return errors


def test_the_chosen_row_removed_by_the_filter_or_delete_leaves_no_page_error(runs):
    """Issue 32 item 2: in 05, `Error setting state: Cannot set properties of undefined (setting
    'selected')` after the filter removed the selected row, and after deleting the selected run."""
    bench = RunsLab(runs)
    bench.chosen.value = (str(runs / "b"),)                  # the second of two rows
    errors = page_errors(bench.chosen, lambda: setattr(bench.filter, "value", "runs/a"))
    assert errors == [] and bench.chosen.value == ()
    bench.filter.value = ""
    bench.chosen.value = (str(runs / "b"),)
    errors = page_errors(bench.chosen, lambda: (bench._on_delete(), bench._on_delete()))
    assert errors == [] and not (runs / "b").exists() and bench.chosen.value == ()
    bench.chosen.value = (str(runs / "a"),)
    bench.refresh()
    assert bench.chosen.value == (str(runs / "a"),)             # a refresh keeps what is still listed
