"""The fast paths: the chunked decoder + cross-entropy equals F.cross_entropy (values and
gradients), the cell loop with its hand-written backward equals autograd through the plain cell,
bf16 stays close to fp32, `auto` precision follows the CPU flags, and training is repeatable."""
import pytest
import torch
import torch.nn.functional as F

from autoshrink.core.cell import SHRINK_RNN, Cell
from autoshrink.core.config import SearchConfig
from autoshrink.core.data import initial_embedding, load_corpus
from autoshrink.core.errors import ConfigError
from autoshrink.proxy.fused import linear_cross_entropy
from autoshrink.proxy.model import BatchedRNNModel
from autoshrink.proxy.precision import cpu_flags, fast_bf16, resolve_precision
from autoshrink.proxy.train import train_cells

CPU = torch.device("cpu")


def decoder_inputs(K=2, n=23, H=6, V=17):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(K, n, H, generator=g).requires_grad_()
    w = torch.randn(K, V, H, generator=g).requires_grad_()
    b = torch.randn(K, V, generator=g).requires_grad_()
    return h, w, b, torch.randint(0, V, (n,), generator=g)


def grads(loss, *xs):
    return torch.autograd.grad((loss * torch.tensor([1.0, 3.0])).sum(), xs)


@pytest.mark.parametrize("chunk", [5, 23, 64])
def test_linear_cross_entropy_equals_cross_entropy(chunk):
    h, w, b, t = decoder_inputs()
    ref = torch.stack([F.cross_entropy(h[k] @ w[k].T + b[k], t) for k in range(2)])
    got = linear_cross_entropy(h, w, b, t, chunk=chunk)
    assert torch.allclose(got, ref, atol=1e-6)
    for a, e in zip(grads(got, h, w, b), grads(ref, h, w, b)):
        assert torch.allclose(a, e, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(linear_cross_entropy(h, w, b, t, chunk=chunk), ref, atol=1e-6)


def test_linear_cross_entropy_bf16_is_close():
    h, w, b, t = decoder_inputs()
    ref = torch.stack([F.cross_entropy(h[k] @ w[k].T + b[k], t) for k in range(2)])
    got = linear_cross_entropy(h, w, b, t, dtype=torch.bfloat16, chunk=8)
    assert got.dtype == torch.float32 and torch.allclose(got, ref, rtol=2e-2)
    for a, e in zip(grads(got, h, w, b), grads(ref, h, w, b)):
        assert a.dtype == torch.float32 and torch.allclose(a, e, atol=5e-2 * e.abs().max())


CELLS = [SHRINK_RNN, Cell.full(("tanh", "relu", "sigmoid", "identity", "tanh", "relu")), SHRINK_RNN.remove((0, 1))[0]]


@pytest.mark.parametrize("cells", [CELLS[:1], CELLS], ids=["shrink-rnn", "mixed-ops"])
def test_cell_loop_equals_autograd_through_the_cell(cells):
    emb = torch.randn(30, 8, generator=torch.Generator().manual_seed(1))
    x = torch.randint(0, 30, (5, 3), generator=torch.Generator().manual_seed(2))
    h0 = torch.randn(len(cells), 3, 8, generator=torch.Generator().manual_seed(3)) * 0.5
    seen = []
    for fuse in (False, True):
        m = BatchedRNNModel(cells, emb, list(range(len(cells))), 8)
        m.fuse_cell = fuse
        h = h0.clone().requires_grad_()
        out, last = m.hidden_states(x, h)
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(4))
        (out * weight).sum().backward()
        seen.append([out, last, h.grad] + [p.grad for p in m.parameters()])
    for a, b in zip(*seen):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b, atol=1e-6)


def test_bf16_model_loss_close_to_fp32():
    emb = torch.randn(40, 16, generator=torch.Generator().manual_seed(1)) * 0.3
    x = torch.randint(0, 40, (7, 4), generator=torch.Generator().manual_seed(2))
    losses = [BatchedRNNModel([SHRINK_RNN], emb, [5], 16, p, f).loss(x[:-1], x[1:], torch.zeros(1, 4, 16))[0]
              for p, f in (("fp32", False), ("bf16", True), ("bf16", False), ("bf16-decoder", True),
                           ("bf16-decoder", False))]
    assert torch.allclose(losses[1], losses[0], rtol=1e-2)
    assert torch.allclose(losses[2], losses[0], rtol=1e-2)
    assert torch.allclose(losses[3], losses[0], rtol=1e-2) and torch.allclose(losses[4], losses[0], rtol=1e-2)
    assert not torch.equal(losses[3], losses[0])   # the decoder did run in bf16


def test_auto_precision_reads_the_cpu_flags():
    info = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n\nprocessor\t: 1\n"
    assert "avx512_bf16" in cpu_flags(info)
    assert fast_bf16(CPU, cpu_flags(info))
    assert fast_bf16(CPU, {"amx_bf16"})
    assert not fast_bf16(CPU, cpu_flags("flags\t: fpu sse avx2\n"))
    assert cpu_flags("") == set()
    assert resolve_precision("fp32", CPU) == "fp32" and resolve_precision("bf16", CPU) == "bf16"
    assert resolve_precision("auto", CPU, 100) == ("bf16" if fast_bf16(CPU) else "fp32")
    # small cells: the cell stays fp32
    assert resolve_precision("auto", CPU, 32) == ("bf16-decoder" if fast_bf16(CPU) else "fp32")


def test_proxy_training_resolves_auto_by_width_and_keeps_a_precision_asked_for():
    from autoshrink.proxy.precision import proxy_precision
    assert proxy_precision("bf16-decoder", CPU, 32) == "bf16-decoder" and proxy_precision("auto", CPU, 32) == "fp32"
    assert proxy_precision("auto", CPU, 100) == ("bf16" if fast_bf16(CPU) else "fp32")   # wide cells: as measured


def test_auto_precision_on_cuda_asks_the_requested_device_for_native_bf16(monkeypatch):
    asked = []
    caps = {0: (7, 5), 1: (9, 0)}      # a Turing card (bf16 only emulated) beside a Hopper card
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: asked.append(d) or caps[d.index])
    assert not fast_bf16(torch.device("cuda", 0)) and fast_bf16(torch.device("cuda", 1))
    assert [d.index for d in asked] == [0, 1]
    assert resolve_precision("auto", torch.device("cuda", 0), 100) == "fp32"


@pytest.mark.parametrize("name,value", [("precision", "fp16"), ("fuse", "yes")])
def test_bad_precision_or_fuse_is_a_config_error(name, value):
    with pytest.raises(ConfigError, match=f"--{name}"):
        SearchConfig(**{name: value}).check()


@pytest.mark.slow
def test_fast_path_training_is_repeatable(tiny_data):
    cfg = SearchConfig(data=str(tiny_data), emsize=16, epochs=2, batch_size=16, eval_batch_size=8, bptt=10,
                       precision="bf16", fuse="on")
    corpus = load_corpus(tiny_data)
    emb = initial_embedding(corpus.words, 16, 0)
    cell = Cell.full(("tanh", "relu", "sigmoid", "identity"))
    a, b = (train_cells([cell], [3], corpus, emb, cfg, CPU)[0] for _ in range(2))
    assert a.curve == b.curve
    [ref] = train_cells([cell], [3], corpus, emb, cfg.replace(precision="fp32", fuse="off"), CPU)
    assert abs(a.val_loss - ref.val_loss) < 0.02 * ref.val_loss


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fast_paths_on_cuda_match_cpu():
    cuda = torch.device("cuda")
    h, w, b, t = decoder_inputs()
    ref = linear_cross_entropy(h, w, b, t, chunk=8)
    got = linear_cross_entropy(h.detach().to(cuda), w.detach().to(cuda), b.detach().to(cuda), t.to(cuda), chunk=8)
    assert torch.allclose(got.cpu(), ref, atol=1e-5)
    emb = torch.randn(30, 8, generator=torch.Generator().manual_seed(1))
    x = torch.randint(0, 30, (5, 3), generator=torch.Generator().manual_seed(2))
    losses = []
    for device in (CPU, cuda):
        m = BatchedRNNModel(CELLS, emb, [1, 2, 3], 8, "fp32", True).to(device)
        losses.append(m.loss(x[:-1].to(device), x[1:].to(device), m.init_hidden(3))[0].cpu())
    assert torch.allclose(losses[0], losses[1], atol=1e-4)
    mb = BatchedRNNModel(CELLS, emb, [1, 2, 3], 8, "bf16", True).to(cuda)
    assert torch.allclose(mb.loss(x[:-1].to(cuda), x[1:].to(cuda), mb.init_hidden(3))[0].cpu(), losses[0], rtol=2e-2)
