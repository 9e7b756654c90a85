"""The search space: a ShrinkCell is plain data, an N x N 0/1 mask plus one op name per node.

Edge i -> j (i < j) exists where mask[i][j] == 1. The op of node j applies to every edge entering
j. Node 0 holds the cell's initial state; reachable nodes are those reachable from node 0. The
output is the mean of the output nodes: the leaves (reachable nodes without outgoing edges) unless
the cell lists its own `outputs` (the DARTS cell averages all its intermediate nodes); an
unreachable output node contributes a zero state. Edges leaving an unreachable node are dead and
`prune` removes them.

A cell reads and writes as JSON ({"mask": [[...]], "ops": [...]}, plus "outputs": [...] when it
lists its output nodes) and as the seed's pickled graph (an object with `.mask`, an N x N numpy
array, and `.ops_def`, a list of op names; `.outputs` when listed).
"""
from __future__ import annotations

import json
import pickle
import types
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

OPS = ("relu", "sigmoid", "tanh", "identity")
Edge = tuple[int, int]


@dataclass(frozen=True)
class Cell:
    mask: tuple[tuple[int, ...], ...]  # N x N, strictly upper triangular, 0/1
    ops: tuple[str, ...]               # N op names from OPS; ops[0] is unused
    outputs: tuple[int, ...] | None = None  # nodes averaged into the output; None means the leaves

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask", tuple(tuple(int(v) for v in row) for row in self.mask))
        object.__setattr__(self, "ops", tuple(str(o) for o in self.ops))
        _validate(self.mask, self.ops)
        if self.outputs is not None:
            object.__setattr__(self, "outputs", _valid_outputs(self.outputs, len(self.ops)))

    @property
    def nodes(self) -> int:
        return len(self.ops)

    @property
    def edges(self) -> list[Edge]:
        n = self.nodes
        return [(i, j) for i in range(n) for j in range(i + 1, n) if self.mask[i][j]]

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def reachable(self) -> list[int]:
        seen = [False] * self.nodes
        seen[0] = True
        for i in range(self.nodes):  # edges go forward, so one pass in index order suffices
            for j in range(i + 1, self.nodes):
                if seen[i] and self.mask[i][j]:
                    seen[j] = True
        return [i for i in range(self.nodes) if seen[i]]

    def leaves(self) -> list[int]:
        live = set(self.reachable())
        return [i for i in sorted(live) if not any(self.mask[i][j] for j in live if j > i)]

    def output_nodes(self) -> list[int]:
        """The nodes whose mean is the output (and the next hidden state): `outputs`, else the leaves."""
        return list(self.outputs) if self.outputs is not None else self.leaves()

    def dead_edges(self) -> list[Edge]:
        live = set(self.reachable())
        return [(i, j) for (i, j) in self.edges if i not in live]

    def prune(self) -> "Cell":
        return self.without(self.dead_edges())

    def without(self, edges) -> "Cell":
        m = [list(row) for row in self.mask]
        for i, j in edges:
            if not m[i][j]:
                raise ConfigError(f"edge {i}->{j} is not in the cell; pick one of {self.edges}")
            m[i][j] = 0
        return Cell(m, self.ops, self.outputs)

    def remove(self, edge: Edge) -> tuple["Cell", list[Edge]]:
        """Remove one edge, then prune; return the new cell and the edges pruned with it."""
        cut = self.without([tuple(edge)])
        dead = cut.dead_edges()
        return cut.without(dead), dead

    def describe(self) -> str:
        """'12 edges, leaves 4, 5' (or '1 edge, leaf 3'; 'outputs 1, ..., 8' when the cell lists them)."""
        nodes = self.output_nodes()
        many = len(nodes) != 1
        kind = ("outputs" if many else "output") if self.outputs is not None else ("leaves" if many else "leaf")
        return f"{self.n_edges} edge{'s' * (self.n_edges != 1)}, {kind} {', '.join(map(str, nodes))}"

    def flops(self, nhid: int) -> int:
        return self.n_edges * nhid * nhid

    # --- serialisation
    def to_dict(self) -> dict:
        d = {"mask": [list(r) for r in self.mask], "ops": list(self.ops)}
        if self.outputs is not None:
            d["outputs"] = list(self.outputs)
        return d

    @classmethod
    def from_dict(cls, d) -> "Cell":
        if not isinstance(d, dict) or "mask" not in d or "ops" not in d:
            raise ConfigError('a cell must be a JSON object with "mask" (N x N 0/1) and "ops" (N op names)')
        return cls(d["mask"], d["ops"], d.get("outputs"))

    def to_json(self) -> str:
        rows = ",\n    ".join(json.dumps(r) for r in self.to_dict()["mask"])
        outputs = "" if self.outputs is None else ',\n  "outputs": ' + json.dumps(list(self.outputs))
        return ('{\n  "mask": [\n    ' + rows + '\n  ],\n  "ops": ' + json.dumps(list(self.ops)) + outputs
                + "\n}\n")

    def to_graph(self) -> types.SimpleNamespace:
        """The seed's graph object: `.mask` (numpy N x N) and `.ops_def` (and `.outputs` when the cell
        lists them); unpickles without this package."""
        g = types.SimpleNamespace(mask=np.array(self.mask, dtype=np.int64), ops_def=list(self.ops))
        if self.outputs is not None:
            g.outputs = list(self.outputs)
        return g

    @classmethod
    def full(cls, ops) -> "Cell":
        n = len(ops)
        return cls([[int(j > i) for j in range(n)] for i in range(n)], ops)

    @classmethod
    def from_edges(cls, edges, ops, outputs=None) -> "Cell":
        n = len(ops)
        m = [[0] * n for _ in range(n)]
        for i, j in edges:
            m[i][j] = 1
        return cls(m, ops, outputs)


def random_ops(nodes: int, rng: np.random.Generator) -> tuple[str, ...]:
    return tuple(OPS[k] for k in rng.integers(0, len(OPS), size=nodes))


def random_cell(nodes: int, n_edges: int, rng: np.random.Generator) -> Cell:
    """A cell of `n_edges` forward edges drawn uniformly among the N(N-1)/2, with random ops."""
    pairs = [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]
    picked = sorted(rng.choice(len(pairs), size=n_edges, replace=False))
    return Cell.from_edges([pairs[k] for k in picked], random_ops(nodes, rng))


def _validate(mask, ops) -> None:
    n = len(ops)
    if n < 2:
        raise ConfigError(f"a cell needs at least 2 nodes, got {n}")
    bad = [o for o in ops if o not in OPS]
    if bad:
        raise ConfigError(f"unknown op {bad[0]!r}; use one of {', '.join(OPS)}")
    if len(mask) != n or any(len(r) != n for r in mask):
        raise ConfigError(f"the mask must be {n} x {n} (one row and column per op)")
    for i, row in enumerate(mask):
        for j, v in enumerate(row):
            if v not in (0, 1):
                raise ConfigError(f"mask[{i}][{j}] is {v}; mask entries must be 0 or 1")
            if v and j <= i:
                raise ConfigError(f"mask[{i}][{j}] is set; only edges i -> j with i < j are allowed")


def _valid_outputs(outputs, n: int) -> tuple[int, ...]:
    try:
        nodes = tuple(int(v) for v in outputs)
    except (TypeError, ValueError):
        raise ConfigError('"outputs" must be a list of node numbers, e.g. [1, 2, 3]') from None
    if not nodes:
        raise ConfigError('"outputs" is empty; list at least one node, or leave it out to average the leaves')
    bad = [v for v in nodes if not 0 <= v < n]
    if bad:
        raise ConfigError(f"output node {bad[0]} does not exist; output nodes are 0..{n - 1}")
    if len(set(nodes)) != len(nodes):
        raise ConfigError(f'"outputs" {list(nodes)} lists a node twice; list each output node once')
    return tuple(sorted(nodes))


def save_graph(cell: Cell, path) -> None:
    with open(path, "wb") as f:
        pickle.dump(cell.to_graph(), f)


# The published ShrinkRNN cell (docs/algorithm.md, "Reference cells").
SHRINK_RNN = Cell.from_edges(
    [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 3), (1, 4), (1, 5), (2, 4), (2, 5), (3, 4), (3, 5)],
    ("tanh", "identity", "sigmoid", "sigmoid", "tanh", "identity"),
)

# The DARTS (second order) PTB cell (docs/algorithm.md, "Reference cells"): nodes 1..8 each have one predecessor,
# given as (op, predecessor); its output is the mean of all eight intermediate nodes, not of the leaves.
DARTS_GENOTYPE = (("sigmoid", 0), ("relu", 1), ("relu", 1), ("identity", 1),
                  ("tanh", 2), ("sigmoid", 5), ("tanh", 3), ("relu", 5))
DARTS = Cell.from_edges([(pred, j) for j, (_, pred) in enumerate(DARTS_GENOTYPE, 1)],
                        ("tanh",) + tuple(op for op, _ in DARTS_GENOTYPE), outputs=range(1, 9))

REFERENCE_CELLS = {"shrinkrnn": SHRINK_RNN, "darts": DARTS}   # names load_cell (and --cell) accepts besides files
