"""A recurrent cell found by AutoShrink, as a self-contained PyTorch module.

The cell: none yet (CELL is None here). `autoshrink.export` copies this file with CELL set to the
exported cell and this line naming it; the copy needs only torch.

One time step, input x_t (B, ninp) and previous hidden h (B, nhid):
    [c0, g0] = [x_t, h] @ W0;  s0 = h + sigmoid(c0) * (tanh(g0) - h)
    edge i -> j: [c, g] = s_i @ W_ij;  message = s_i + sigmoid(c) * (op_j(g) - s_i)
    s_j = mean of the messages entering j;  output = next hidden = mean of the output nodes' states.
(Each node's outgoing edges are one matrix product: s_i @ [W_ij, W_ik, ...].)
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

CELL = None   # the exported copy holds {"mask": N x N 0/1, "ops": N names[, "outputs": nodes]}

OP_FN = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda g: g}
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


def _times(x, mask):
    return x if mask is None else x * mask.to(x.dtype)


class ShrinkCell(nn.Module):
    """The cell interpreted from its mask, ops and output nodes: the one reference interpreter
    (the final training's model runs it; the proxy's batched model is tested against it)."""

    def __init__(self, ninp, nhid, cell_json_path_or_dict=CELL, dtype=torch.float32, generator=None):
        super().__init__()
        cell = cell_json_path_or_dict
        if cell is None:
            raise ValueError("no cell given: pass cell_json_path_or_dict (a cell JSON file or dict), or use a copy "
                             "written by autoshrink.export, whose CELL holds its cell")
        cell = dict(cell) if isinstance(cell, dict) else load_cell(cell)
        bad = [o for o in cell["ops"] if o not in OP_FN]
        if bad:
            raise ValueError(f"unknown op {bad[0]!r}; ops must be one of {sorted(OP_FN)}")
        self.ninp, self.nhid, self.ops, self.n, self.dtype = ninp, nhid, list(cell["ops"]), len(cell["ops"]), dtype
        self.edges, leaves = live_edges(cell["mask"])
        self.outputs = list(cell["outputs"]) if cell.get("outputs") is not None else leaves
        self.targets = {i: [j for a, j in self.edges if a == i] for i in range(self.n)}    # where i sends
        self.count = {j: sum(b == j for _, b in self.edges) for j in range(self.n)}        # messages j receives
        self.w0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid))
        self.w = nn.ParameterDict({f"{i}_{j}": nn.Parameter(torch.empty(nhid, 2 * nhid)) for i, j in self.edges})
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Every weight U(-INIT_RANGE, INIT_RANGE): w0, then each edge's in (i, j) order."""
        for p in self.parameters():
            nn.init.uniform_(p, -INIT_RANGE, INIT_RANGE, generator=generator)

    def forward(self, x, h, xmask=None, hmask=None):
        """x (T, B, ninp), h (B, nhid) -> outputs (T, B, nhid) in the compute dtype, last hidden (B, nhid)
        in fp32. xmask and hmask: optional dropout masks on the input and on every state a node sends
        (kept 1 / (1 - p), dropped 0), the same at every time step. The weights are cast once per call."""
        E, d = self.ninp, self.dtype
        w0 = self.w0.to(d)
        xw = _times(x.to(d), xmask) @ w0[:E]                  # the input's part of every step at once
        w_src = {i: torch.cat([self.w[f"{i}_{j}"] for j in js], 1).to(d) for i, js in self.targets.items() if js}
        h = h.to(d)
        outputs = []
        for xw_t in xw:
            h = self._step(xw_t, h, w0[E:], w_src, hmask)
            outputs.append(h)
        return torch.stack(outputs), h.float()

    def step(self, x, h):
        """One time step: x (B, ninp), h (B, nhid) -> next hidden (B, nhid)."""
        return self(x[None], h)[0][0]

    def _step(self, xw_t, h, w_h, w_src, hmask):
        """One time step from the input's part xw_t (B, 2 nhid); each node's outgoing edges in one product."""
        H = self.nhid
        c0, g0 = (xw_t + _times(h, hmask) @ w_h).chunk(2, -1)
        states = {0: h + torch.sigmoid(c0) * (torch.tanh(g0) - h)}
        inbox = {}       # node -> sum of the messages it has received
        for i in range(self.n):     # in index order every message into i arrives before i sends
            if i not in states:
                if i not in inbox:
                    continue                                   # unreachable: no state
                states[i] = inbox.pop(i) / self.count[i]
            if i not in w_src:
                continue
            s = states[i]
            out = _times(s, hmask) @ w_src[i]
            for k, j in enumerate(self.targets[i]):
                c, g = out[:, 2 * H * k: 2 * H * k + H], out[:, 2 * H * k + H: 2 * H * (k + 1)]
                msg = s + torch.sigmoid(c) * (OP_FN[self.ops[j]](g) - s)
                inbox[j] = msg if j not in inbox else inbox[j] + msg
        zero = torch.zeros_like(h)
        return torch.stack([states.get(k, zero) for k in self.outputs]).mean(0)


def load_trained(path, cell=CELL):
    """The cell module with the weights of a final training's best.pt (a tensors-only state dict,
    read with weights_only=True), plus the tied embedding/decoder matrix (V, nhid) and decoder bias (V,)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    encoder, bias = state["encoder.weight"], state["decoder_bias"]
    module = ShrinkCell(encoder.shape[1], encoder.shape[1], cell)
    module.load_state_dict({k[len("cell."):]: v for k, v in state.items() if k.startswith("cell.")})
    return module.eval(), encoder, bias
