"""Cells that list their output nodes (the DARTS cell): validation, JSON, description."""
import json

import pytest

from autoshrink.core.cell import DARTS, SHRINK_RNN, Cell
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import load_cell


def test_darts_cell_is_the_published_genotype():
    # (op, predecessor) for nodes 1..8:
    # (sigmoid,0) (relu,1) (relu,1) (identity,1) (tanh,2) (sigmoid,5) (tanh,3) (relu,5)
    assert DARTS.edges == [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 7), (5, 6), (5, 8)]
    assert DARTS.ops[1:] == ("sigmoid", "relu", "relu", "identity", "tanh", "sigmoid", "tanh", "relu")
    assert DARTS.leaves() == [4, 6, 7, 8]
    assert DARTS.output_nodes() == list(range(1, 9))
    assert DARTS.describe() == "8 edges, outputs 1, 2, 3, 4, 5, 6, 7, 8"


def test_default_outputs_are_the_leaves_and_the_format_is_unchanged():
    assert SHRINK_RNN.outputs is None and SHRINK_RNN.output_nodes() == [4, 5]
    assert "outputs" not in SHRINK_RNN.to_dict() and "outputs" not in SHRINK_RNN.to_json()


def test_outputs_round_trip_and_survive_edge_removal(tmp_path):
    path = tmp_path / "darts.json"
    path.write_text(DARTS.to_json())
    assert json.loads(path.read_text())["outputs"] == list(range(1, 9))
    assert load_cell(path) == DARTS
    cut, dead = DARTS.remove((1, 3))
    assert dead == [(3, 7)] and cut.output_nodes() == list(range(1, 9))
    assert Cell.from_edges([(0, 1)], ("tanh",) * 3, outputs=[1]).describe() == "1 edge, output 1"


@pytest.mark.parametrize("outputs, msg", [([], "empty"), ([0, 9], "node 9 does not exist"),
                                          ([1, 1], "twice"), (["a"], "node numbers")])
def test_bad_outputs_are_one_line_errors(outputs, msg):
    with pytest.raises(ConfigError, match=msg):
        Cell.from_dict({**DARTS.to_dict(), "outputs": outputs})
