"""Tests of autoshrink.export: every file is written and readable, the DOT and pickle hold the cell,
and the generated PyTorch module computes exactly what the lab's model computes."""
import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from autoshrink.core.cell import DARTS, OPS, SHRINK_RNN, Cell
from autoshrink.core.record import load_cell
from autoshrink.export import export_cell, export_from
from autoshrink.proxy.model import BatchedRNNModel

# node 2's only input is cut, so 2 -> 4 is dead; leaves are 4 and 5
DEAD_CELL = Cell.from_edges([(0, 1), (1, 3), (2, 4), (3, 5), (0, 4)],
                            ("tanh", "relu", "sigmoid", "identity", "tanh", "relu"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return export_cell(SHRINK_RNN, out, config={"nhid": 100, "seed": 3})


def test_every_file_exists(exported):
    names = {p.name for p in exported.values()}
    assert names == {"cell.svg", "cell.png", "cell.pdf", "cell.dot", "cell.html", "cell.json",
                     "graph-cell", "cell_module.py"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in exported.values())


def test_pictures_are_what_they_claim(exported):
    root = ET.parse(exported["svg"]).getroot()
    text = " ".join(t for t in root.itertext())
    assert "4: tanh" in text and "2: sigmoid" in text
    assert exported["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert exported["pdf"].read_bytes()[:5] == b"%PDF-"


def test_dot_has_exactly_the_cell_edges(exported):
    dot = exported["dot"].read_text()
    assert dot.startswith("digraph") and "rankdir=LR" in dot
    found = {(int(a), int(b)) for a, b in re.findall(r"^\s*(\d+) -> (\d+)\b", dot, re.M)}
    assert found == set(SHRINK_RNN.edges)
    assert len(re.findall(r"^\s*(\d+) -> (\d+)\b", dot, re.M)) == SHRINK_RNN.n_edges
    assert re.search(r"^\s*4 -> h_t;", dot, re.M) and re.search(r"^\s*5 -> h_t;", dot, re.M)
    assert '"3: sigmoid"' in dot


def test_json_pickle_and_html_round_trip(exported):
    assert load_cell(exported["json"]) == SHRINK_RNN
    assert load_cell(exported["graph"]) == SHRINK_RNN
    html = exported["html"].read_text()
    assert "plotly" in html.lower() and len(html) > 1_000_000  # plotly.js is inlined: works offline


def _import(path):
    spec = importlib.util.spec_from_file_location(f"gen_{path.parent.name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reference(model, w0, x, h):
    """The lab model's cell over a sequence: xw = x_t @ W0[:E], K = 1."""
    E = x.shape[-1]
    outs = []
    hk = h[None]
    for x_t in x:
        hk = model.cell((x_t @ w0[:E])[None], hk)
        outs.append(hk[0])
    return torch.stack(outs), hk[0]


@pytest.mark.parametrize("cell", [SHRINK_RNN, DEAD_CELL, Cell.full(("relu", "tanh", "identity", "sigmoid")), DARTS,
                                  Cell.from_edges([(0, 1), (2, 3)], ("tanh",) * 4, outputs=[1, 3])],
                         ids=["shrink_rnn", "dead_edge", "full4", "darts", "unreachable_output"])
def test_generated_module_matches_model(cell, tmp_path):
    paths = export_cell(cell, tmp_path)
    source = paths["module"].read_text()
    imports = set(re.findall(r"^(?:import|from) (\w+)", source, re.M))
    assert imports <= {"json", "torch"}
    mod = _import(paths["module"])
    E = H = 16
    model = BatchedRNNModel([cell], torch.randn(30, E), seeds=[7], nhid=H)
    net = mod.ShrinkCell(E, H, str(paths["json"]))
    assert sorted(net.edges) == sorted(cell.prune().edges) and net.outputs == cell.output_nodes()
    with torch.no_grad():
        net.w0.copy_(model.w0[0])
        for i, j in net.edges:
            net.w[f"{i}_{j}"].copy_(model.edge_weight(0, i, j))
        torch.manual_seed(0)
        x, h = torch.randn(5, 3, E), torch.randn(3, H)
        out, last = net(x, h)
        ref_out, ref_last = _reference(model, model.w0[0], x, h)
    assert out.shape == (5, 3, H) and last.shape == (3, H)
    assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(last, ref_last, atol=1e-5)
    assert mod.load_cell(paths["json"]) == cell.to_dict()
    assert mod.ShrinkCell(E, H, mod.CELL).edges == net.edges


def _state(cell_final, cell_best):
    steps = [{"step": 0, "done": True, "best_score": -1.0, "cell": cell_best.to_dict()}] if cell_best else []
    return {"format": "autoshrink-search/1", "config": {"nhid": 8, "seed": 1},
            "initial": Cell.full(SHRINK_RNN.ops).to_dict(), "cell": SHRINK_RNN.to_dict(), "steps": steps,
            "best": None, "final": {"cell": cell_final.to_dict(), "ppl": 1.0, "val_loss": 0.0, "flops": 64,
                                    "score": 1.0} if cell_final else None}


def test_export_from_folder_json_and_pickle(tmp_path, exported):
    from autoshrink.core.errors import ConfigError
    run = tmp_path / "run"
    run.mkdir()
    (run / "search.json").write_text(json.dumps(_state(SHRINK_RNN, DEAD_CELL)))
    files = export_from(run, tmp_path / "a")
    assert files["json"].name == "cell-best.json" and load_cell(files["json"]) == DEAD_CELL     # the best step's
    files = export_from(run / "search.json", tmp_path / "b", which="final")
    assert files["json"].name == "cell-final.json" and load_cell(files["graph"]) == SHRINK_RNN
    (run / "search.json").write_text(json.dumps(_state(None, None)))
    with pytest.raises(ConfigError, match="no best cell"):
        export_from(run, tmp_path / "c")
    assert load_cell(export_from(exported["graph"], tmp_path / "c")["json"]) == SHRINK_RNN
    assert load_cell(export_from(exported["json"], tmp_path / "d")["json"]) == SHRINK_RNN


def test_darts_diagram_shows_its_output_nodes(tmp_path):
    paths = export_cell(DARTS, tmp_path)
    dot = paths["dot"].read_text()
    assert {int(v) for v in re.findall(r"^\s*(\d+) -> h_t;", dot, re.M)} == set(range(1, 9))
    assert "outputs 1, 2, 3, 4, 5, 6, 7, 8" in dot
    assert load_cell(paths["json"]) == DARTS and load_cell(paths["graph"]) == DARTS


def test_the_package_cell_module_is_the_exported_source(tmp_path):
    """cell_module.py is imported as a file of the package: it matches the model (above, through its
    exported copy) and the copy differs from it only in CELL and the line naming the cell."""
    from autoshrink.core import cell_module
    from autoshrink.core.ops import OP_FN
    assert set(cell_module.OP_FN) == set(OPS) == set(OP_FN)
    g = torch.linspace(-3, 3, 13)
    assert all(torch.equal(cell_module.OP_FN[op](g), OP_FN[op](g)) for op in OPS)
    with pytest.raises(ValueError, match="no cell given"):
        cell_module.ShrinkCell(4, 4)
    net = cell_module.ShrinkCell(4, 4, SHRINK_RNN.to_dict())
    assert sorted(net.edges) == sorted(SHRINK_RNN.edges)
    path = export_cell(SHRINK_RNN, tmp_path)["module"]
    copy, own = path.read_text().splitlines(), Path(cell_module.__file__).read_text().splitlines()
    gone = [line for line in own if line not in copy]
    assert len(gone) == 3 and gone[0].startswith("The cell: none yet") and gone[2].startswith("CELL = None"), gone
    assert copy[2].startswith("The cell: ShrinkCell, 12 edges") and _import(path).CELL == SHRINK_RNN.to_dict()
