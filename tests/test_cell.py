"""The ShrinkCell as plain data: reachability, leaves, pruning, JSON and pickle round trips."""
import json
import pickle
import subprocess
import sys

import pytest

from autoshrink.core.cell import DARTS, SHRINK_RNN, Cell, save_graph
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import load_cell

OPS6 = ("tanh", "relu", "sigmoid", "identity", "tanh", "relu")


def test_full_cell_has_all_forward_edges():
    full = Cell.full(OPS6)
    assert full.n_edges == 15
    assert full.leaves() == [5]
    assert full.reachable() == list(range(6))


def test_published_cell_leaves_and_edges():
    assert SHRINK_RNN.n_edges == 12
    assert SHRINK_RNN.leaves() == [4, 5]
    assert SHRINK_RNN.prune() == SHRINK_RNN


def test_removing_the_only_edge_into_a_node_prunes_what_hangs_from_it():
    # 0->1, 1->2, 1->3, 0->3: removing 0->1 leaves 1 unreachable, so 1->2 and 1->3 are dead
    cell = Cell.from_edges([(0, 1), (1, 2), (1, 3), (0, 3)], ("tanh",) * 4)
    cut, pruned = cell.remove((0, 1))
    assert pruned == [(1, 2), (1, 3)]
    assert cut.edges == [(0, 3)]
    assert cut.reachable() == [0, 3]
    assert cut.leaves() == [3]


def test_removing_a_missing_edge_is_a_clear_error():
    with pytest.raises(ConfigError, match="not in the cell"):
        SHRINK_RNN.remove((4, 5))


@pytest.mark.parametrize("mask, ops, msg", [
    ([[0, 1], [0, 0]], ("tanh", "swish"), "unknown op 'swish'"),
    ([[0, 1], [1, 0]], ("tanh", "tanh"), "i < j"),
    ([[0, 2], [0, 0]], ("tanh", "tanh"), "0 or 1"),
    ([[0, 1, 0], [0, 0]], ("tanh", "tanh"), "2 x 2"),
])
def test_bad_cells_are_rejected_with_one_line(mask, ops, msg):
    with pytest.raises(ConfigError, match=msg):
        Cell(mask, ops)


def test_json_round_trip_and_search_json(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text(SHRINK_RNN.to_json())
    assert load_cell(path) == SHRINK_RNN
    (tmp_path / "search.json").write_text(json.dumps({"cell": SHRINK_RNN.to_dict(), "steps": []}))
    assert load_cell(tmp_path) == SHRINK_RNN


def test_corrupt_cell_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"mask": [[0, 1]')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_cell(bad)
    bad.write_text('{"mask": 3, "ops": ["tanh"]}')
    with pytest.raises(ConfigError):
        load_cell(bad)


def test_graph_pickle_loads_with_the_seed_snippet_without_this_package(tmp_path):
    save_graph(SHRINK_RNN, tmp_path / "graph-best")
    snippet = ("import pickle\nwith open('graph-best', 'rb') as fp:\n  graph = pickle.load(fp)\n"
               "print(graph.mask.tolist())\nprint(graph.ops_def)\n")
    out = subprocess.run([sys.executable, "-I", "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                         check=True)
    mask, ops = out.stdout.splitlines()
    assert json.loads(mask) == [list(r) for r in SHRINK_RNN.mask]
    assert ops == str(list(SHRINK_RNN.ops))
    assert load_cell(tmp_path / "graph-best") == SHRINK_RNN
    with open(tmp_path / "graph-best", "rb") as f:
        assert pickle.load(f).mask.shape == (6, 6)


def test_random_cell_has_the_asked_number_of_edges_and_follows_the_seed():
    import numpy as np

    from autoshrink.core.cell import random_cell
    a = random_cell(6, 12, np.random.default_rng(4))
    assert a.n_edges == 12 and a.nodes == 6
    assert a == random_cell(6, 12, np.random.default_rng(4))
    assert a != random_cell(6, 12, np.random.default_rng(5))


def test_load_cell_reads_the_reference_names_unless_a_file_has_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_cell("darts") == DARTS and load_cell("ShrinkRNN") == SHRINK_RNN
    (tmp_path / "darts").write_text(Cell.full(("tanh", "relu", "sigmoid")).to_json())
    assert load_cell("darts") == Cell.full(("tanh", "relu", "sigmoid"))
