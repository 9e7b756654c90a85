"""Export a cell for use outside the lab: pictures, a DOT graph, an offline HTML page, the JSON,
the seed's graph pickle, and a self-contained PyTorch module implementing the cell.

    export_cell(cell, "exports/best")          # a Cell in memory: cell.svg, ..., graph-cell
    export_from("search-run", "exports/best")   # a search's best cell: cell-best.svg, ..., graph-best
    export_from("search-run", "out", which="final")   # its final cell: cell-final.*, graph-final
    python -m autoshrink export --cell search-run --out exports/best [--which best|final|step:N]
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from .cell import Cell, load_cell, save_graph
from .record import cell_of, is_search_record, which_name
from .plot import cell_graph, dag_figure, draw_cell, INPUTS, NODE_FILL, OUTPUT

_DOT_LABEL = {INPUTS[0]: "<x<SUB>t</SUB>>", INPUTS[1]: "<h<SUB>t-1</SUB>>", OUTPUT: "<h<SUB>t</SUB>>"}
_DOT_ID = {INPUTS[0]: "x_t", INPUTS[1]: "h_prev", OUTPUT: "h_t"}


def _describe(cell: Cell, config) -> str:
    cfg = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
    text = f"ShrinkCell, {cell.describe()}"
    nhid = cfg.get("nhid") or cfg.get("emsize")     # records before nhid followed emsize hold both
    if nhid:
        text += f", {cell.flops(int(nhid)):,} flops at nhid {nhid}"
    if "seed" in cfg:
        text += f", search seed {cfg['seed']}"
    return text


def cell_dot(cell: Cell, title: str = "") -> str:
    """Graphviz DOT source of the cell, left to right, nodes labelled like the pictures."""
    g = cell_graph(cell)
    lines = ["digraph cell {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
             '  edge [arrowsize=0.8];']
    if title:
        lines.append(f'  label="{title}"; labelloc=t; fontname="Helvetica";')
    for v, d in g.nodes(data=True):
        if d["kind"] != "node":
            lines.append(f'  {_DOT_ID[v]} [label={_DOT_LABEL[v]}, fillcolor="{NODE_FILL["io"]}"];')
        else:
            dash = "" if d["reachable"] else ', style="rounded,filled,dashed", fontcolor="gray50"'
            lines.append(f'  {v} [label="{d["label"]}", fillcolor="{NODE_FILL[d["op"]]}"{dash}];')
    for u, v, d in g.edges(data=True):
        style = ' [style=dotted, color="gray60"]' if d["kind"] == "dead" else ""
        lines.append(f"  {_DOT_ID.get(u, u)} -> {_DOT_ID.get(v, v)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def cell_module_source(cell: Cell, title: str = "") -> str:
    """Source text of a Python module (torch and json only) defining ShrinkCell for this cell."""
    return _MODULE.replace("{{TITLE}}", title or "ShrinkCell").replace("{{CELL}}", cell.to_json().rstrip())


def export_cell(cell: Cell, out_dir, config=None, name: str = "cell") -> dict[str, Path]:
    """Write <name>.svg/.png/.pdf/.dot/.html/.json, <name>_module.py and the seed's graph pickle
    graph-<what> (<name> less its "cell-": graph-best for cell-best) into out_dir. Returns kind -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = _describe(cell, config)
    paths = {k: out / f"{name}.{k}" for k in ("svg", "png", "pdf", "dot", "html", "json")}
    paths["graph"] = out / f"graph-{name.removeprefix('cell-')}"
    paths["module"] = out / f"{name}_module.py"
    fig = draw_cell(cell, title=title)
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(paths["svg"])
        fig.savefig(paths["png"], dpi=200)
        fig.savefig(paths["pdf"])
    paths["dot"].write_text(cell_dot(cell, title))
    dag_figure(cell, title=title).write_html(paths["html"], include_plotlyjs=True, full_html=True)
    paths["json"].write_text(cell.to_json())
    save_graph(cell, paths["graph"])
    paths["module"].write_text(cell_module_source(cell, title))
    return paths


def read_source(path, which="best") -> tuple[Cell, dict | None, str | None]:
    """The cell held by `path`: of a save folder or search.json, its cell `which` (best, final,
    step:N); else the cell file or graph pickle itself. Returns (cell, search config or None,
    the file-name form of `which`, or None for a plain cell file)."""
    path = Path(path)
    record = path / "search.json" if path.is_dir() else path
    try:
        state = json.loads(record.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        state = None
    if is_search_record(state):
        return cell_of(state, which), state.get("config"), which_name(which)
    return load_cell(path), None, None


def export_from(path, out_dir, which="best") -> dict[str, Path]:
    """Export the cell held by `path` (see read_source) into out_dir, as cell-<which>.* for a search."""
    cell, config, what = read_source(path, which)
    return export_cell(cell, out_dir, config=config, name=f"cell-{what}" if what else "cell")


_MODULE = '''"""A recurrent cell found by AutoShrink, as a self-contained PyTorch module.

{{TITLE}}. Generated by autoshrink.export; needs only torch. The cell (mask and ops) is CELL below.

One time step, input x_t (B, ninp) and previous hidden h (B, nhid):
    [c0, g0] = [x_t, h] @ W0;  s0 = h + sigmoid(c0) * (tanh(g0) - h)
    edge i -> j: [c, g] = s_i @ W_ij;  message = s_i + sigmoid(c) * (op_j(g) - s_i)
    s_j = mean of the messages entering j;  output = next hidden = mean of the output nodes' states.
The output nodes are CELL["outputs"] when listed, else the leaves (reachable nodes with no
outgoing edge); an output node node 0 cannot reach counts as a zero state. Edges leaving nodes
that node 0 cannot reach are dropped. Weights start U(-0.04, 0.04).

    cell = ShrinkCell(ninp=100, nhid=100, cell_json_path_or_dict=CELL)
    outputs, h_T = cell(x, h)   # x (T, B, ninp), h (B, nhid) -> (T, B, nhid), (B, nhid)

Weights of a finished final training (`python -m autoshrink train`, its best.pt):

    cell, encoder, bias = load_trained("RUN_DIR/best.pt")   # logits = cell outputs @ encoder.T + bias
"""
import json

import torch
import torch.nn as nn

CELL = {{CELL}}

OPS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda g: g}
INIT_RANGE = 0.04


def load_cell(path):
    """A cell {"mask": N x N 0/1, "ops": N names[, "outputs": nodes]} from a cell JSON file."""
    with open(path) as f:
        d = json.load(f)
    cell = {"mask": [list(r) for r in d["mask"]], "ops": list(d["ops"])}
    if d.get("outputs") is not None:
        cell["outputs"] = list(d["outputs"])
    return cell


def live_edges(mask):
    """Edges whose source node 0 reaches, in (i, j) order, and the leaves."""
    n = len(mask)
    seen = [i == 0 for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            seen[j] = seen[j] or (seen[i] and bool(mask[i][j]))
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if mask[i][j] and seen[i]]
    leaves = [i for i in range(n) if seen[i] and not any(mask[i][j] for j in range(i + 1, n))]
    return edges, leaves


class ShrinkCell(nn.Module):
    def __init__(self, ninp, nhid, cell_json_path_or_dict=CELL):
        super().__init__()
        cell = cell_json_path_or_dict
        cell = dict(cell) if isinstance(cell, dict) else load_cell(cell)
        bad = [o for o in cell["ops"] if o not in OPS]
        if bad:
            raise ValueError(f"unknown op {bad[0]!r}; ops must be one of {sorted(OPS)}")
        self.ninp, self.nhid, self.ops = ninp, nhid, list(cell["ops"])
        self.edges, leaves = live_edges(cell["mask"])
        self.outputs = list(cell["outputs"]) if cell.get("outputs") is not None else leaves
        self.w0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid))
        self.w = nn.ParameterDict({f"{i}_{j}": nn.Parameter(torch.empty(nhid, 2 * nhid)) for i, j in self.edges})
        self.reset_parameters()

    def reset_parameters(self):
        for p in self.parameters():
            nn.init.uniform_(p, -INIT_RANGE, INIT_RANGE)

    def step(self, x, h):
        """One time step: x (B, ninp), h (B, nhid) -> next hidden (B, nhid)."""
        c0, g0 = (torch.cat([x, h], -1) @ self.w0).chunk(2, -1)
        states = {0: h + torch.sigmoid(c0) * (torch.tanh(g0) - h)}
        inbox = {}
        for i, j in self.edges:  # in (i, j) order every message into i arrives before i sends
            if i not in states:
                states[i] = torch.stack(inbox[i]).mean(0)
            s = states[i]
            c, g = (s @ self.w[f"{i}_{j}"]).chunk(2, -1)
            inbox.setdefault(j, []).append(s + torch.sigmoid(c) * (OPS[self.ops[j]](g) - s))
        for j, msgs in inbox.items():
            states.setdefault(j, torch.stack(msgs).mean(0))
        zero = torch.zeros_like(h)
        return torch.stack([states.get(k, zero) for k in self.outputs]).mean(0)

    def forward(self, x, h):
        """x (T, B, ninp), h (B, nhid) -> outputs (T, B, nhid), last hidden (B, nhid)."""
        outputs = []
        for x_t in x:
            h = self.step(x_t, h)
            outputs.append(h)
        return torch.stack(outputs), h


def load_trained(path, cell=CELL):
    """The cell module with the weights of a final training's best.pt (a tensors-only state dict,
    read with weights_only=True), plus the tied embedding/decoder matrix (V, nhid) and decoder bias (V,)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    encoder, bias = state["encoder.weight"], state["decoder_bias"]
    module = ShrinkCell(encoder.shape[1], encoder.shape[1], cell)
    module.load_state_dict({k[len("cell."):]: v for k, v in state.items() if k.startswith("cell.")})
    return module.eval(), encoder, bias
'''
