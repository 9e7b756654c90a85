"""The batched model against a slow cell written directly from docs/algorithm.md, same weights."""
import torch

from autoshrink.core.cell import SHRINK_RNN, Cell
from autoshrink.proxy.model import BatchedRNNModel

OPS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda x: x}


def slow_step(cell: Cell, W0, W, x, h):
    """One time step of one cell, for one batch, spelled out node by node."""
    c0, g0 = (torch.cat([x, h], 1) @ W0).chunk(2, 1)
    c0, g0 = torch.sigmoid(c0), torch.tanh(g0)
    states = {0: h + c0 * (g0 - h)}
    for j in range(1, cell.nodes):
        msgs = []
        for i in range(j):
            if cell.mask[i][j] and i in cell.reachable():
                c, g = (states[i] @ W[i, j]).chunk(2, 1)
                c, g = torch.sigmoid(c), OPS[cell.ops[j]](g)
                msgs.append(states[i] + c * (g - states[i]))
        if msgs:
            states[j] = sum(msgs) / len(msgs)
    return sum(states[j] for j in cell.leaves()) / len(cell.leaves())


def slow_run(model, k, cell, x_ids, h):
    W = {(i, j): model.edge_weight(k, i, j) for i in range(cell.nodes) for j in range(i + 1, cell.nodes)}
    outs = []
    for t in range(x_ids.shape[0]):
        h = slow_step(cell, model.w0[k], W, model.encoder[k][x_ids[t]], h)
        outs.append(h)
    out = torch.stack(outs)                                    # (T, B, H)
    return out @ model.encoder[k].t() + model.dec_bias[k], h   # logits (T, B, V)


def make(cells, V=23, H=8):
    torch.manual_seed(0)
    emb = torch.empty(V, H).uniform_(-0.5, 0.5)
    return BatchedRNNModel(cells, emb, seeds=list(range(10, 10 + len(cells))), nhid=H)


def test_outputs_and_gradients_match_slow_cell():
    dead_end = Cell.from_edges([(0, 1), (1, 2), (2, 4), (3, 4)], ("relu", "tanh", "sigmoid", "relu", "identity"))
    cells = [SHRINK_RNN, Cell.full(SHRINK_RNN.ops), Cell.from_edges([(0, 2), (1, 3)], ("tanh",) * 4), dead_end]
    by_n = {}
    for c in cells:
        by_n.setdefault(c.nodes, []).append(c)
    for group in by_n.values():
        model = make(group)
        x = torch.randint(0, 23, (5, 3))
        h0 = torch.randn(len(group), 3, 8) * 0.1
        logits, hT = model(x, h0)
        fast = logits.pow(2).sum() + hT.sum()
        fast_grads = torch.autograd.grad(fast, list(model.parameters()), allow_unused=True)
        slow = 0
        for k, cell in enumerate(group):
            lk, hk = slow_run(model, k, cell, x, h0[k])
            assert torch.allclose(lk, logits[k], atol=1e-5)
            assert torch.allclose(hk, hT[k], atol=1e-5)
            slow = slow + lk.pow(2).sum() + hk.sum()
        slow_grads = torch.autograd.grad(slow, list(model.parameters()), allow_unused=True)
        for gf, gs in zip(fast_grads, slow_grads):
            if gf is None or gs is None:  # a source node with no edge in any candidate
                assert gf is None and (gs is None or not gs.any())
                continue
            assert torch.allclose(gf, gs, atol=1e-4), (gf - gs).abs().max()


def test_mixed_ops_across_candidates_match_slow_cell():
    a = Cell.full(("tanh", "relu", "sigmoid", "identity"))
    b = Cell.full(("tanh", "sigmoid", "identity", "relu"))
    model = make([a, b])
    x = torch.randint(0, 23, (4, 2))
    h0 = torch.zeros(2, 2, 8)
    logits, _ = model(x, h0)
    for k, cell in enumerate((a, b)):
        assert torch.allclose(slow_run(model, k, cell, x, h0[k])[0], logits[k], atol=1e-5)


def test_keep_drops_candidates_without_changing_the_others():
    cells = [SHRINK_RNN, Cell.full(SHRINK_RNN.ops), SHRINK_RNN.remove((0, 1))[0]]
    model = make(cells)
    x = torch.randint(0, 23, (3, 2))
    before, _ = model(x, model.init_hidden(2))
    model.keep(torch.tensor([0, 2]))
    after, _ = model(x, model.init_hidden(2))
    assert model.K == 2
    assert torch.allclose(after, before[[0, 2]])


def test_params_count_matches_edges():
    model = make([SHRINK_RNN])
    V, H = 23, 8
    assert model.n_params(0) == V * H + V + 2 * H * 2 * H + 12 * H * 2 * H
