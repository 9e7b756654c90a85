"""The notebooks run top to bottom in a real kernel (nbclient), with tiny parameters.

The kernel is this interpreter (a kernelspec written for the test whose argv is sys.executable), so
the notebooks see the same autoshrink as the tests whatever kernels the machine has. Data comes
from the tiny_data fixture through AUTOSHRINK_DATA, the notebooks' `data = None` default.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import records
from autoshrink.core.config import SearchConfig
from autoshrink.core.disk import write_json_atomic
from autoshrink.core.formats import SIZE_MATCHED
from autoshrink.core.record import read_state
from autoshrink.search import Search
from autoshrink.space.table import build_table

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "autoshrink-test"
TINY = dict(emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, seed=1, device="cpu")

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


@pytest.fixture
def kernel(tmp_path, monkeypatch, tiny_data):
    """A kernelspec running this Python, found through JUPYTER_PATH; data through AUTOSHRINK_DATA."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "autoshrink test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("AUTOSHRINK_DATA", str(tiny_data))
    return KERNEL


def set_parameters(nb, values: dict) -> None:
    """Replace the `parameters` cell by `name = value` lines; every name must already be a parameter."""
    [cell] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    names = {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line}
    assert set(values) == names, f"parameters differ: {sorted(set(values) ^ names)}"
    cell.source = "\n".join(f"{k} = {v!r}" for k, v in values.items())


def execute(name: str, values: dict, kernel: str):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    set_parameters(nb, values)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    NotebookClient(nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable
    return nb


def outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def text_of(nb) -> str:
    parts = []
    for o in outputs(nb):
        parts.append(o.get("text", ""))
        parts += [str(v) for k, v in o.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def test_01_search_runs_steps_to_the_end_and_exports(kernel, tmp_path, tiny_data):
    save = tmp_path / "search"
    nb = execute("01_search.ipynb", dict(nodes=3, **{k: TINY[k] for k in ("emsize", "epochs", "batch_size",
                 "eval_batch_size", "bptt")}, keep_fraction=0.34, candidates=3, seed=1, device="cpu", data=None,
                 save=str(save), run_to_end=True, table=None, strategy=None), kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    views = [o for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the lab was not displayed as a widget"
    state = read_state(save)
    assert state["steps"][0]["done"] and state["final"] is not None
    assert state["config"]["data"] == str(tiny_data) and state["config"]["nodes"] == 3
    text = text_of(nb)
    assert "steps: 1" in text and "edges left: 1" in text and "finished" in text
    assert (save / "export" / "cell-best.json").is_file() and "cell-best.json" in text
    assert json.loads((save / "export" / "cell-best.json").read_text()) == state["best"]["cell"]
    assert f"best cell: after step {state['best']['step']}, score {state['best']['score']:.2f}" in text
    assert f"final cell: ppl {state['final']['ppl']:.2f}, flops {state['final']['flops']:,}" in text


def test_01_search_with_a_missing_data_folder_says_so_in_one_line(kernel, tmp_path):
    nb = nbformat.read(NOTEBOOKS / "01_search.ipynb", as_version=4)
    missing = tmp_path / "no-such-folder"
    set_parameters(nb, dict(nodes=3, **{k: TINY[k] for k in ("emsize", "epochs", "batch_size", "eval_batch_size",
                            "bptt")}, keep_fraction=0.34, candidates=3, seed=1, device="cpu", data=str(missing),
                            save=str(tmp_path / "search"), run_to_end=False, table=None, strategy=None))
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    [error] = [o for o in outputs(nb) if o["output_type"] == "error"]
    assert error["traceback"] == [f"error: data folder {missing} not found (looked for {missing}); give --data the "
                                  "folder of train.txt, valid.txt, test.txt, or run `python -m autoshrink data` "
                                  "to prepare data/penn_proxy"]


def test_01_search_one_step_only_graded_and_replayed_from_a_table(kernel, tmp_path, tiny_data):
    save, table = tmp_path / "search", tmp_path / "table"
    build_table(SearchConfig(nodes=4, data=str(tiny_data), **{**TINY, "seed": 3}), table, seeds=1)
    nb = execute("01_search.ipynb", dict(nodes=4, **{k: TINY[k] for k in ("emsize", "epochs", "batch_size",
                 "eval_batch_size", "bptt")}, keep_fraction=0.25, candidates=2, seed=3, device="cpu", data=None,
                 save=str(save), run_to_end=False, table=str(table), strategy="random"), kernel)
    state = read_state(save)
    assert [s["done"] for s in state["steps"]] == [True] and state["final"] is None
    assert state["config"]["max_steps_to_action"] == 2 and state["config"]["seed"] == 3
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    markdown = "".join("".join(o["data"].get("text/markdown", "")) for o in outputs(nb) if "data" in o)
    assert "Ground truth from a space table (34 cells x 1 seeds" in markdown and "- step 0: removed" in markdown
    views = [o for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2      # the lab (showing the strategy its menu names) and the replay panel
    assert not (tmp_path / "search-random" / "strategy.json").exists()     # Start trains, Run All does not


def test_02_compare_cells_trains_all_four(kernel, tmp_path, tiny_data):
    save = tmp_path / "search"                       # a finished search whose best step is not the last
    write_json_atomic(save / "search.json", records.best_first(tiny_data, save))
    nb = execute("02_compare_cells.ipynb", dict(**{k: TINY[k] for k in ("emsize", "epochs", "batch_size",
                 "eval_batch_size", "bptt", "seed", "device")}, data=None, save=str(save)), kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    plotly = [o for o in outputs(nb) if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert plotly and len({t["xaxis"] for t in plotly[0]["data"]["application/vnd.plotly.v1+json"]["data"]}) == 4
    table = nb.cells[-2].outputs[0]["data"]["text/html"]
    for name in ("ShrinkRNN (published)", "fully connected", "random", "discovered"):
        assert f">{name}<" in table
    assert table.count("<tr") == 5
    nodes, edges = re.search(r">discovered</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", table).groups()
    assert (int(nodes), int(edges)) == (4, records.AFTER0.n_edges) != (4, records.AFTER1.n_edges)


def test_03_quality_draws_every_figure_and_the_summary(kernel, tmp_path, tiny_data, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    save = tmp_path / "search"
    Search(SearchConfig(nodes=3, keep_fraction=0.34, data=str(tiny_data), save=str(save), **TINY)).run()
    final = tmp_path / "final"
    for name, test in (("discovered", 50.0), ("ShrinkRNN", 60.0), ("DARTS", 55.0)):
        (final / name).mkdir(parents=True)
        (final / name / "run.json").write_text(json.dumps({"result": {"test_ppl": test}}))
    table = tmp_path / "table"      # the ground truth of the search's 3-node space, one seed
    build_table(SearchConfig(nodes=3, keep_fraction=0.34, data=str(tiny_data), **TINY), table, seeds=1)
    nb = execute("03_quality.ipynb", dict(search=str(save), n_random=2, trainings=1, which="final", lstm=True,
                                          random_search=2, final=str(final), spread=2, epochs=None, emsize=None,
                                          batch_size=None, eval_batch_size=None, bptt=None, device=None, data=None,
                                          table=str(table)),
                 kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    plotly = [o["data"]["application/vnd.plotly.v1+json"] for o in outputs(nb)
              if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plotly) == 5 and "edge overlap" in plotly[4]["layout"]["title"]["text"]
    space = plotly[2]["data"]
    assert [t["name"] for t in space] == ["cells", "search path", "discovered picks"] and len(space[0]["x"]) == 6
    groups = [t["name"].split(" (")[0] for t in plotly[0]["data"]]     # a 3-node space holds few same-ops cells
    assert groups == ["discovered", "same ops", "random", SIZE_MATCHED, "ShrinkRNN", "DARTS", "LSTM"]
    assert [t["name"] for t in plotly[1]["data"]][:2] == ["candidates", "Pareto front"]
    assert plotly[3]["data"][0]["text"] == ["discovered", "ShrinkRNN", "DARTS"]
    assert "Kendall's tau" in plotly[3]["layout"]["title"]["text"]
    markdown = "".join("".join(o["data"].get("text/markdown", "")) for o in outputs(nb) if "data" in o)
    assert f"| {SIZE_MATCHED} | 1 |" in markdown and "Training recipe" in markdown
    assert "p over cells = " in markdown and "with 2 random cells no p can go below 0.333" in markdown
    assert "Ground truth from a space table (6 cells x 1 seeds" in markdown and "- step 0: removed" in markdown
    assert (save / "quality.json").is_file() and " trainings, 0 missing" in text_of(nb)


def test_04_final_training_runs_and_reopens(kernel, tmp_path, tiny_data, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "final"
    values = dict(cell="shrinkrnn", which="final", baseline=None, preset="test", epochs=2, device="cpu", data=None,
                  out=str(out), baselines={}, run_to_end=True)
    nb = execute("04_final_training.ipynb", values, kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs(nb))
    record = json.loads((out / "run.json").read_text())
    assert len(record["history"]) == 2 and record["result"] is not None
    assert f"'test_ppl': {record['result']['test_ppl']!r}" in text_of(nb)
    again = execute("04_final_training.ipynb", {**values, "run_to_end": False}, kernel)   # a new kernel reopens it
    assert f"'test_ppl': {record['result']['test_ppl']!r}" in text_of(again)


def test_05_runs_lists_and_compares_two_searches(kernel, tmp_path, tiny_data):
    runs = tmp_path / "runs"
    a = records.best_first(tiny_data, runs / "a")
    write_json_atomic(runs / "a" / "search.json", a)
    write_json_atomic(runs / "b" / "search.json", {**a, "config": {**a["config"], "epochs": 3}})
    nb = execute("05_runs.ipynb", dict(runs=str(runs), compare=None, device=None, data=None), kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    views = [o for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2, "the runs list and the comparison should both show as widgets"
    assert "nothing to compare" not in text_of(nb)
    empty = execute("05_runs.ipynb", dict(runs=str(tmp_path / "none"), compare=None, device=None, data=None), kernel)
    assert "0 scored search(es)" in text_of(empty)


def test_06_strategies_judges_every_strategy_from_a_table(kernel, tmp_path):
    from space_tables import hand_table, mirrored_table
    building = hand_table()
    building.seeds.append(13)                       # a third seed not trained yet: judged on the first two
    for c in building.cells[1:]:
        c["runs"].append({**c["runs"][0]})
    for c in building.cells[:1]:
        c["runs"].append(None)
    building.write(tmp_path / "table")
    mirrored_table().write(tmp_path / "longer")
    nb = execute("06_strategies.ipynb", dict(table=str(tmp_path / "table"), strategies=None, budgets=(2, 4),
                                             repeats=20, score="published", judges=1,
                                             truth=str(tmp_path / "longer")), kernel)
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    text = text_of(nb)
    assert "2 table seeds" in text, "a table still building is judged on the seeds every cell has"
    assert "| local |" in text and "| autoshrink |" in text and "best mean of the top 3" in text
    assert "Proxy fidelity (--epochs 10 -> 30)" in text and "Judged by" in text
    figures = [o for o in outputs(nb) if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 4, "the verdict, the anytime curves, the landscape and the fidelity scatter"
