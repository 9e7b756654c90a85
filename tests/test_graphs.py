"""CUDA graphs over the training step (autoshrink.proxy.graphs): the runner's own path, run eagerly on a
CPU, trains to the numbers of the plain path; --graphs on asks for a CUDA device in one line; on a
GPU the recorded graph trains to the numbers of the eager steps."""
import pytest
import torch

from autoshrink.core.cell import Cell
from autoshrink.core.config import SearchConfig
from autoshrink.core.data import batchify, initial_embedding, load_corpus
from autoshrink.core.errors import ConfigError
from autoshrink.proxy.graphs import StepRunner, clip_step, resolve_graphs
from autoshrink.proxy.model import BatchedRNNModel
from autoshrink.proxy.train import train_cells

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
CELLS = [Cell.full(("tanh", "relu", "sigmoid", "identity")), Cell.from_edges([(0, 1), (1, 2), (0, 3)],
                                                                              ("tanh", "identity", "relu", "sigmoid"))]


def models(tiny_data, device=CPU, fuse=True):
    corpus = load_corpus(tiny_data)
    emb = initial_embedding(corpus.words, 12, 0)
    make = lambda: BatchedRNNModel(CELLS, emb, [1, 2], 12, "fp32", fuse).to(device)
    return make(), make(), batchify(corpus.train, 6).to(device)


def run(steps, data, lengths, lr=5.0):
    steps.reset()
    out, i = [], 0
    for L in lengths:
        out.append(steps.step(data[i:i + L], data[i + 1:i + 1 + L], lr * L / 10).cpu())
        i += L
    return torch.stack(out)


def hand_steps(model, data, lengths, lr=5.0, clip=0.25):
    """Each step written out: forward, backward, then per candidate torch's clip_grad_norm_ and SGD."""
    h, out, i = model.init_hidden(6), [], 0
    for L in lengths:
        loss, h = model.loss(data[i:i + L], data[i + 1:i + 1 + L], h.detach())
        model.zero_grad(set_to_none=True)
        loss.sum().backward()
        for k in range(model.K):
            ps = [p[k].detach().clone().requires_grad_() for p in model.parameters()]
            for p, q in zip(ps, model.parameters()):
                p.grad = q.grad[k].clone()
            torch.nn.utils.clip_grad_norm_(ps, clip)
            with torch.no_grad():
                for p, q in zip(ps, model.parameters()):
                    q[k] -= lr * L / 10 * p.grad
        out.append(loss.detach().cpu())
        i += L
    return torch.stack(out)


@pytest.mark.parametrize("fuse", [True, False])
def test_eager_runner_trains_as_the_written_out_steps(tiny_data, fuse):
    a, b, data = models(tiny_data, fuse=fuse)
    lengths = [10, 10, 5, 10, 3, 10]                   # the runner's own length and others
    mine = run(StepRunner(a, 6, 0.25, 10, capture=False), data, lengths)
    hand = hand_steps(b, data, lengths)
    assert torch.allclose(mine, hand, rtol=1e-5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_clip_step_with_a_tensor_learning_rate_equals_the_float_one(tiny_data):
    a, b, data = models(tiny_data)
    for m in (a, b):
        m.loss(data[:8], data[1:9], m.init_hidden(6))[0].sum().backward()
    clip_step(a, 3.0, 0.25)
    clip_step(b, torch.tensor(3.0), 0.25)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-7)


def test_graphs_setting():
    assert resolve_graphs("auto", CPU) is False and resolve_graphs("off", CPU) is False
    with pytest.raises(ConfigError, match="--graphs on needs a CUDA device"):
        resolve_graphs("on", CPU)
    with pytest.raises(ConfigError, match="--graphs"):
        SearchConfig(graphs="yes").check()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_trains_to_the_eager_numbers(tiny_data):
    cuda = torch.device("cuda")
    a, b, data = models(tiny_data, cuda)
    lengths = [10, 10, 5, 10, 10, 3, 10]
    eager = run(StepRunner(a, 6, 0.25, 10, capture=False), data, lengths)
    runner = StepRunner(b, 6, 0.25, 10, capture=True)
    graphed = run(runner, data, lengths)
    assert runner.graph is not None, "the graph was not recorded"
    assert torch.allclose(graphed, eager, rtol=1e-4)
    cfg = SearchConfig(data=str(tiny_data), emsize=12, epochs=2, batch_size=6, eval_batch_size=4, bptt=10,
                       device="cuda")
    corpus = load_corpus(tiny_data)
    emb = initial_embedding(corpus.words, 12, 0)
    on, off = (train_cells(CELLS, [1, 2], corpus, emb, cfg.replace(graphs=g), cuda) for g in ("on", "off"))
    for x, y in zip(on, off):
        assert abs(x.val_loss - y.val_loss) < 1e-3 * y.val_loss
