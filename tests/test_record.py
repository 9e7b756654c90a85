"""The search record and "the discovered cell": search.json read, checked and queried; a save
folder stands for its best cell (the step whose chosen candidate scored highest) in load_cell,
export and proxy, unless --which says final or step:N; proxy reproduces the final cell's figures."""
import json
import math
import shutil
import subprocess
import sys

import pytest

from autoshrink.core.cell import Cell
from autoshrink.core.disk import clean
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import SearchRecord, best_of, cell_of, load_cell, parse_which, read_state, write_state
from autoshrink.export import export_from


def cli(*args):
    return subprocess.run([sys.executable, "-m", "autoshrink", *args], capture_output=True, text=True, timeout=300)


TINY = ["--nodes", "4", "--emsize", "8", "--epochs", "2", "--batch_size", "16", "--eval_batch_size", "8",
        "--bptt", "10", "--keep_fraction", "0.2", "--max_steps_to_action", "2", "--device", "cpu", "--seed", "5"]


@pytest.fixture(scope="module")
def searched(tiny_data, tmp_path_factory):
    """A finished tiny search (4 nodes, 6 edges shrunk to 1: at least two steps, then the final cell)."""
    save = tmp_path_factory.mktemp("rec") / "run"
    r = cli("search", *TINY, "--data", str(tiny_data), "--save", str(save))
    assert r.returncode == 0, r.stderr
    return save


@pytest.fixture
def best_first(searched, tmp_path):
    """The tiny search with step 0 made the best step (its best score raised above every other)."""
    save = tmp_path / "bf"
    shutil.copytree(searched, save)
    state = read_state(save)
    assert len(state["steps"]) >= 2 and state["steps"][0]["cell"] != state["steps"][-1]["cell"]
    state["steps"][0]["best_score"] = max(s["best_score"] for s in state["steps"]) + 1
    state["best"] = best_of(state)
    write_state(save, state)
    return save, state


def test_best_is_the_highest_scoring_step_first_on_a_tie():
    cell = lambda k: {"mask": [[0, k, 1], [0, 0, 1], [0, 0, 0]], "ops": ["tanh"] * 3}
    steps = [{"step": 0, "done": True, "best_score": -3.0, "cell": cell(1)},
             {"step": 1, "done": True, "best_score": -1.0, "cell": cell(0)},
             {"step": 2, "done": True, "best_score": -1.0, "cell": cell(1)},
             {"step": 3, "done": False}]
    state = {"steps": steps, "final": None}
    assert best_of(state) == {"step": 1, "score": -1.0, "cell": cell(0)}
    assert cell_of(state, "best") == Cell.from_dict(cell(0)) and cell_of(state, "step:2") == Cell.from_dict(cell(1))
    with pytest.raises(ConfigError, match="no final cell"):
        cell_of(state, "final")
    with pytest.raises(ConfigError, match="step:3"):
        cell_of(state, "step:3")      # not finished
    assert best_of({"steps": [{**steps[0], "best_score": None}]}) is None


def test_parse_which():
    assert [parse_which(w) for w in ("best", "FINAL", "step:3", "step12", 4)] == ["best", "final", 3, 12, 4]
    with pytest.raises(ConfigError, match="best, final or step:N"):
        parse_which("last")


def test_clean_turns_every_non_finite_number_into_null():
    dirty = {"a": math.nan, "b": [1.5, math.inf, {"c": -math.inf}], "d": (2, "x"), "e": None, "f": True}
    assert clean(dirty) == {"a": None, "b": [1.5, None, {"c": None}], "d": [2, "x"], "e": None, "f": True}


@pytest.mark.slow
def test_typed_record_round_trips_the_layout(searched):
    state = read_state(searched)
    rec = SearchRecord.read(searched)
    assert rec.to_dict() == state
    assert rec.steps[0].candidates[0].edge == state["steps"][0]["candidates"][0]["edge"]
    assert rec.best.step == state["best"]["step"] and rec.final.ppl == state["final"]["ppl"]
    assert rec.cell_of("final") == Cell.from_dict(state["final"]["cell"])


@pytest.mark.slow
def test_a_save_folder_stands_for_its_best_cell(best_first, tmp_path):
    save, state = best_first
    best, final = Cell.from_dict(state["steps"][0]["cell"]), Cell.from_dict(state["final"]["cell"])
    assert best != final
    assert load_cell(save) == best and load_cell(save / "search.json") == best
    assert load_cell(save, "final") == final and load_cell(save, "step:1") == Cell.from_dict(state["steps"][1]["cell"])
    files = export_from(save, tmp_path / "e")
    assert files["json"].name == "cell-best.json" and files["graph"].name == "graph-best"
    assert load_cell(files["json"]) == best and load_cell(files["graph"]) == best
    r = cli("export", "--cell", str(save), "--out", str(tmp_path / "f"), "--which", "final")
    assert r.returncode == 0, r.stderr
    assert load_cell(tmp_path / "f" / "cell-final.json") == final and load_cell(tmp_path / "f" / "graph-final") == final
    assert not (tmp_path / "f" / "graph-best").exists()


@pytest.mark.slow
def test_proxy_given_a_save_folder_trains_its_best_cell(best_first, tiny_data):
    save, state = best_first
    r = cli("proxy", "--cell", str(save), "--epochs", "1")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    best = Cell.from_dict(state["steps"][0]["cell"])
    assert out["edges"] == best.prune().n_edges and out["flops"] == best.prune().flops(8)
    assert "epoch 1/1" in r.stderr and out["epochs"] == 1    # --epochs overrides the saved 2


@pytest.mark.slow
def test_proxy_which_final_prints_the_final_cell_figures_of_search_json(searched):
    r = cli("proxy", "--cell", str(searched), "--which", "final")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    final = read_state(searched)["final"]
    assert out["ppl"] == final["ppl"] and out["val_loss"] == final["val_loss"] and out["score"] == final["score"]
    assert "epoch 2/2" in r.stderr            # progress, per epoch, as search prints it


@pytest.mark.slow
def test_proxy_answers_search_flags_and_bad_which_with_one_line(searched):
    for args, words in ((["--drop_k", "2"], "--drop_k"), (["--nodes", "6"], "--nodes"),
                        (["--nhidlast", "4"], "--nhidlast"), (["--which", "last"], "step:N")):
        r = cli("proxy", "--cell", str(searched), *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr


def test_a_branch_that_trains_otherwise_chooses_its_best_among_its_own_steps(tmp_path):
    import records
    from autoshrink.core.record import best_of, write_state
    from autoshrink.search_folder import branch_state
    parent = tmp_path / "a"
    write_state(parent, records.best_first(tmp_path / "data", parent))      # step 0 scored -10, step 1 -12
    _, same = branch_state(parent, 1, tmp_path / "b", {"keep_fraction": 0.25})     # the budget stays
    assert "trained_with" not in same["parent"] and same["best"]["step"] == 0
    _, other = branch_state(parent, 1, tmp_path / "c", {"epochs": 2})
    assert other["parent"]["trained_with"] == {"epochs": 1} and other["best"] is None   # nothing of its own yet
    own = {**other["steps"][1], "from_parent": None, "step": 2, "best_score": -14.0}
    assert best_of({**other, "steps": [*other["steps"], own]})["step"] == 2         # -14 of its own beats -10 copied


def _v1(config: dict) -> dict:
    full = Cell.full(["tanh"] * 3).to_dict()
    return {"format": "autoshrink-search/1", "config": config, "initial": full, "cell": full, "steps": [],
            "best": None, "final": None}


def test_a_version_1_record_reads_as_today_s(tmp_path):
    """Version 1 without a seed rule trained one seed per candidate; with one, it keeps it."""
    from autoshrink.core.record import FORMAT, VERSION
    for config, rule in (({"nodes": 3}, "candidate"), ({"nodes": 3, "seed_rule": "step"}, "step")):
        (tmp_path / "search.json").write_text(json.dumps(_v1(config)))
        state = read_state(tmp_path)
        assert state["format"] == FORMAT == f"autoshrink-search/{VERSION}" and state["config"]["seed_rule"] == rule


@pytest.mark.parametrize("fmt, says", [("autoshrink-search/99", "written by a newer autoshrink"),
                                       ("autoshrink-space/1", "is not an autoshrink search record")])
def test_a_newer_or_foreign_record_is_one_line(fmt, says, tmp_path):
    (tmp_path / "search.json").write_text(json.dumps({**_v1({}), "format": fmt}))
    with pytest.raises(ConfigError, match=says):
        read_state(tmp_path)


def test_an_open_step_with_a_result_is_refused_not_dropped():
    from autoshrink.core.record import Step
    assert Step(step=0, done=False, order=[[0, 1]]).to_dict() == {"step": 0, "done": False, "edges_before": 0,
                                                                   "order": [[0, 1]], "candidates": []}
    with pytest.raises(ValueError, match="holds removed, cell"):
        Step(step=0, done=False, removed=[[0, 1]], cell={"mask": [], "ops": []}).to_dict()
