"""Proxy training: a candidate trained in a batch of 10 equals the same candidate trained alone;
per-candidate clipping equals torch's clip_grad_norm_; a diverged candidate is flagged."""
import math

import pytest
import torch

from autoshrink.core.cell import Cell
from autoshrink.core.config import SearchConfig
from autoshrink.core.data import initial_embedding, load_corpus
from autoshrink.core.events import EpochDone
from autoshrink.proxy.graphs import clip_step
from autoshrink.proxy.model import BatchedRNNModel
from autoshrink.proxy.train import seq_lengths, train_cells

CPU = torch.device("cpu")


def setup(tiny_data, **kw):
    kw = {"epochs": 3, "batch_size": 16, "eval_batch_size": 8, **kw}
    kw = {"bptt": 10, **kw}
    cfg = SearchConfig(data=str(tiny_data), emsize=16, **kw)
    corpus = load_corpus(tiny_data)
    return cfg, corpus, initial_embedding(corpus.words, 16, 0)


def step_cells(n=10):
    full = Cell.full(("tanh", "relu", "sigmoid", "identity", "tanh"))
    return [full.remove(e)[0] for e in full.edges[:n]]


@pytest.mark.slow
def test_candidate_in_batch_of_ten_matches_alone(tiny_data):
    cfg, corpus, emb = setup(tiny_data)
    cells = step_cells(10)
    seeds = list(range(100, 110))
    batch = train_cells(cells, seeds, corpus, emb, cfg, CPU)
    for k in (0, 7):
        [alone] = train_cells([cells[k]], [seeds[k]], corpus, emb, cfg, CPU)
        assert alone.epochs == batch[k].epochs
        assert math.isclose(alone.val_loss, batch[k].val_loss, rel_tol=1e-4)
        for a, b in zip(alone.curve, batch[k].curve):
            assert math.isclose(a["train_loss"], b["train_loss"], rel_tol=1e-4)


@pytest.mark.slow
def test_results_carry_cost_and_curve(tiny_data):
    cfg, corpus, emb = setup(tiny_data)
    cell = step_cells(1)[0]
    [r] = train_cells([cell], [1], corpus, emb, cfg, CPU)
    assert r.flops == cell.prune().n_edges * 16 * 16
    assert len(r.curve) == r.epochs == 3
    assert math.isclose(r.ppl, math.exp(min(c["val_loss"] for c in r.curve)))
    assert r.ppl < corpus.ntokens  # it learned something: better than uniform over the vocabulary


class SecondBlowsUp(BatchedRNNModel):
    """Candidate 1 starts from an absurd decoder bias, so its loss is inf and its weights go NaN."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        with torch.no_grad():
            self.dec_bias[1, ::2] = 1e38


@pytest.mark.slow
def test_diverged_candidate_is_flagged_and_others_unharmed(tiny_data, monkeypatch):
    cfg, corpus, emb = setup(tiny_data, epochs=2)
    cells = step_cells(2)
    alone = train_cells(cells[:1], [1], corpus, emb, cfg, CPU)[0]
    monkeypatch.setattr("autoshrink.proxy.train.BatchedRNNModel", SecondBlowsUp)
    results = train_cells(cells, [1, 2], corpus, emb, cfg, CPU)
    assert results[1].diverged and results[1].ppl == math.inf
    assert not results[0].diverged
    assert math.isclose(results[0].val_loss, alone.val_loss, rel_tol=1e-4)


def test_per_candidate_clip_equals_torch_clip_grad_norm():
    torch.manual_seed(0)
    cells = [Cell.full(("tanh",) * 3), Cell.from_edges([(0, 1)], ("tanh",) * 3)]
    model = BatchedRNNModel(cells, torch.randn(11, 4), [1, 2], 4)
    x = torch.randint(0, 11, (6, 2))
    loss, _ = model.loss(x[:-1], x[1:], model.init_hidden(2))
    (loss * torch.tensor([50.0, 0.001])).sum().backward()  # one clipped, one not
    expected = []
    for k in range(2):
        ps = [p[k].detach().clone().requires_grad_() for p in model.parameters()]
        for p, q in zip(ps, model.parameters()):
            p.grad = q.grad[k].clone()
        torch.nn.utils.clip_grad_norm_(ps, 0.25)
        expected.append([p.detach() - 2.0 * p.grad for p in ps])
    clip_step(model, 2.0, 0.25)
    for k in range(2):
        for p, e in zip(model.parameters(), expected[k]):
            assert torch.allclose(p[k], e, atol=1e-6)


def test_seq_lengths_cover_the_rows_and_are_mostly_bptt():
    lengths = seq_lengths(100000, 35, seed=3, epoch=0)
    assert sum(lengths) == 99999
    assert set(lengths[:-1]) <= {35, 17}
    share = lengths[:-1].count(17) / len(lengths[:-1])
    assert 0.04 < share < 0.06  # 2900 draws: 5% +- 0.4% (1 sd)
    assert lengths == seq_lengths(100000, 35, seed=3, epoch=0)
    assert lengths != seq_lengths(100000, 35, seed=3, epoch=1)


@pytest.mark.slow
def test_stop_between_epochs_leaves_candidates_unfinished(tiny_data):
    cfg, corpus, emb = setup(tiny_data)
    epochs = []
    results = train_cells(step_cells(2), [1, 2], corpus, emb, cfg, CPU,
                          on_event=lambda e: epochs.append(e.epoch) if isinstance(e, EpochDone) else None,
                          should_stop=lambda: len(epochs) >= 2)
    assert results == [None, None]
    assert epochs == [0, 0]


@pytest.mark.slow
def test_same_candidate_twice_is_bit_identical(proxy_dir):
    # the whole proxy: with many repeated words per batch, a gather whose backward adds rows in
    # thread order (as x[idx] does on CPU) already differs in the last bits within one epoch
    cfg, corpus, emb = setup(proxy_dir, epochs=2, batch_size=64, eval_batch_size=64, bptt=35)
    cell = step_cells(1)[0]
    a, b = (train_cells([cell], [3], corpus, emb, cfg, CPU)[0] for _ in range(2))
    assert a.curve == b.curve


@pytest.mark.slow
def test_lr_is_divided_by_ten_after_epochs_minus_4_and_minus_2(tiny_data):
    cfg, corpus, emb = setup(tiny_data, epochs=6, lr=5.0)
    [r] = train_cells([step_cells(1)[0]], [3], corpus, emb, cfg, CPU)
    assert r.epochs == 6
    assert [c["lr"] for c in r.curve] == pytest.approx([5.0, 5.0, 5.0, 0.5, 0.5, 0.05])


@pytest.mark.slow
def test_early_end_by_patience_after_four_epochs_without_a_new_best(tiny_data):
    cfg, corpus, emb = setup(tiny_data, epochs=9, lr=1e-30)   # weights never move: the loss never improves
    [r] = train_cells([step_cells(1)[0]], [3], corpus, emb, cfg, CPU)
    assert r.ended == "patience" and r.epochs == 1 + 4
    assert len({c["val_loss"] for c in r.curve}) == 1


@pytest.mark.slow
def test_early_end_by_overfitting_when_valid_exceeds_three_times_train(tmp_path):
    (tmp_path / "train.txt").write_text("the cat sat on the mat\n" * 300)
    for split in ("valid", "test"):
        (tmp_path / f"{split}.txt").write_text("dogs run far away quickly now\n" * 30)
    cfg = SearchConfig(data=str(tmp_path), emsize=16, epochs=8, batch_size=16, eval_batch_size=8, bptt=10)
    corpus = load_corpus(tmp_path)
    [r] = train_cells([step_cells(1)[0]], [3], corpus, initial_embedding(corpus.words, 16, 0), cfg, CPU)
    assert r.ended == "overfit" and r.epochs < 8
    last = r.curve[-1]
    assert last["val_loss"] > 3 * last["train_loss"]
    assert all(c["val_loss"] <= 3 * c["train_loss"] for c in r.curve[:-1])


@pytest.mark.slow
def test_a_checkpointed_training_stopped_and_continued_equals_one_run(tiny_data, tmp_path):
    from autoshrink.proxy.checkpoint import Checkpoint
    cfg, corpus, emb = setup(tiny_data, epochs=4)
    cells, seeds = step_cells(3), [11, 12, 13]
    whole = train_cells(cells, seeds, corpus, emb, cfg, CPU)
    ck, epochs = Checkpoint(tmp_path / "inflight.pt"), []
    stop = lambda: len(epochs) >= 2 * 3                                 # two epochs of the three
    part = train_cells(cells, seeds, corpus, emb, cfg, CPU,
                       on_event=lambda e: epochs.append(e) if isinstance(e, EpochDone) else None,
                       should_stop=stop, checkpoint=ck)
    assert part == [None] * 3 and ck.load()["epoch"] == 2
    rest = train_cells(cells[1:], seeds[1:], corpus, emb, cfg, CPU, checkpoint=ck)   # some of them, later
    assert [r.curve for r in rest] == [r.curve for r in whole[1:]]
    assert [r.val_loss for r in rest] == [r.val_loss for r in whole[1:]]
    assert not ck.path.exists()
