"""Proxy training: train K candidate cells from scratch together, then validate (docs/algorithm.md).

`train_cells(cells, seeds, ...)` builds one BatchedRNNModel over all K candidates. Each candidate
has its own weights, its own gradient-norm clip and its own early end; a candidate that ends is
dropped from the batch. The sequence-length schedule of an epoch comes from (run seed, epoch) and
each candidate's weights from its own seed, so which others share its batch changes only the
order of the arithmetic (the last digits; docs/guide/reproducibility.md). Progress goes out through
`on_event(event)` (events.EpochDone, events.TrainingDone); `should_stop()` is asked between
epochs and, when true, training ends at once and unfinished candidates get None.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..core.cell import Cell
from ..core.config import SearchConfig
from ..core.data import Corpus, batchify
from ..core.events import EpochDone, TrainingDone, ignore
from ..core.runtime import SALT_BATCHES, derive_seed
from ..core.stats import DIVERGED_LOSS
from .checkpoint import tag
from .graphs import StepRunner, resolve_graphs
from .model import BatchedRNNModel, count_params
from .precision import proxy_precision, resolve_fuse
from .stream import chunked_loss, cut

PATIENCE = 4           # epochs in a row without a new best validation loss before an early end
EMA_MOMENTUM = 0.9     # running training loss, compared with 3x the validation loss
SHORT_P = 0.05         # probability that a training step is bptt // 2 long


@dataclass
class Result:
    """What proxy training found for one candidate."""
    ppl: float                 # exp(best validation loss); inf when diverged
    val_loss: float            # best validation loss
    flops: int                 # edges after pruning x nhid^2
    params: int                # trainable numbers of the candidate's model
    seconds: float             # wall time of its training (its share of a batched run)
    epochs: int                # epochs run before its end
    diverged: bool
    ended: str                 # "epochs", "patience", "overfit" (val > 3x train) or "nan"
    curve: list = field(default_factory=list)  # per epoch: {"epoch", "train_loss", "val_loss", "lr"}
    test_ppl: float | None = None   # test perplexity at the best validation epoch (train_cells(test=True)), else None

    def to_dict(self) -> dict:
        return asdict(self)


def seq_lengths(n_rows: int, bptt: int, seed: int, epoch: int) -> list[int]:
    """The training step lengths of one epoch: bptt with probability 0.95, else bptt // 2."""
    rng = np.random.default_rng(derive_seed(seed, SALT_BATCHES, epoch))
    return cut(n_rows, lambda: bptt if rng.random() >= SHORT_P else bptt // 2)


@torch.no_grad()
def evaluate(model: BatchedRNNModel, data: torch.Tensor, bptt: int) -> torch.Tensor:
    """Validation loss of every candidate, (K,): hidden carried across chunks, weighted by length."""
    return chunked_loss(model.loss, data, bptt, model.init_hidden(data.shape[1]))


class _Tracker:
    """Per-candidate bookkeeping: best loss, patience, running train loss, curve, end reason."""

    def __init__(self, K: int):
        self.best = [math.inf] * K
        self.stale = [0] * K
        self.curve = [[] for _ in range(K)]
        self.ended = [None] * K
        self.epochs = [0] * K
        self.test = [math.inf] * K    # test loss at the best validation epoch (when tested)

    def update(self, k: int, epoch: int, train: float, val: float, lr: float) -> None:
        self.curve[k].append({"epoch": epoch, "train_loss": train, "val_loss": val, "lr": lr})
        self.epochs[k] = epoch + 1
        if math.isnan(val) or math.isnan(train):
            self.ended[k] = "nan"
            return
        if val < self.best[k]:
            self.best[k], self.stale[k] = val, 0
        else:
            self.stale[k] += 1
        if self.stale[k] >= PATIENCE:
            self.ended[k] = "patience"
        elif val > 3 * train:
            self.ended[k] = "overfit"


def _result(k: int, tr: _Tracker, cell: Cell, cfg: SearchConfig, params: int, seconds: float) -> Result:
    best = tr.best[k]
    diverged = not best < DIVERGED_LOSS
    test = None if diverged or not tr.test[k] < DIVERGED_LOSS else math.exp(tr.test[k])
    return Result(ppl=math.inf if diverged else math.exp(best), val_loss=best, flops=cell.prune().flops(cfg.nhid),
                  params=params, seconds=seconds, epochs=tr.epochs[k], diverged=diverged,
                  ended=tr.ended[k] or "epochs", curve=tr.curve[k], test_ppl=test)


def train_cells(cells: list[Cell], seeds: list[int], corpus: Corpus, embedding: torch.Tensor, cfg: SearchConfig,
                device: torch.device, on_event=None, should_stop=None, checkpoint=None,
                test: bool = False, stop_after: int | None = None) -> list[Result | None]:
    """Train and validate every cell from scratch, all in one batched model. Returns one Result per
    cell, in order, or None for those left unfinished because `should_stop()` said so. With a
    `checkpoint` (checkpoint.Checkpoint), the training in flight is saved after every epoch and a
    saved training of these same cells (same seeds) is continued instead of started over. With
    `test`, the test split is evaluated whenever a candidate's validation loss improves, so each
    Result also holds the test perplexity of its best validation epoch. With `stop_after` E (and a
    checkpoint), training pauses after epoch E, its state left in the checkpoint for a later call to
    continue (successive halving); the candidates still training then get None."""
    emit = on_event or ignore
    K = len(cells)
    tick = time.perf_counter()
    model = BatchedRNNModel(cells, embedding, seeds, cfg.nhid, proxy_precision(cfg.precision, device, cfg.nhid),
                            resolve_fuse(cfg.fuse)).to(device)
    params = [model.n_params(k) for k in range(K)]
    train = batchify(corpus.train, cfg.batch_size).to(device)
    valid = batchify(corpus.valid, cfg.eval_batch_size, "--eval_batch_size").to(device)
    tests = batchify(corpus.test, cfg.eval_batch_size, "--eval_batch_size").to(device) if test else None
    active = list(range(K))                       # candidate id of each row of the batched model
    tr, results = _Tracker(K), [None] * K
    spent = [0.0] * K                             # each candidate's share of the wall time so far
    lr, first = cfg.lr, 0
    saved = checkpoint.load() if checkpoint else None
    tags = [tag(c, s) for c, s in zip(cells, seeds)]
    if _resumable(saved, tags):
        first, lr = _restore(saved, tags, model, tr, spent)
    if stop_after is not None and first >= stop_after:     # paused there already
        return results
    graphs = resolve_graphs(cfg.graphs, device)
    steps = _steps(model, cfg, graphs)
    for epoch in range(first, cfg.epochs):
        if should_stop and should_stop():
            return results
        train_loss = _train_epoch(steps, train, lr, cfg, epoch)
        val = evaluate(model, valid, cfg.bptt).tolist()
        now = time.perf_counter()
        for k in active:
            spent[k] += (now - tick) / len(active)
        tick = now
        if tests is not None:
            _test_improved(model, tests, cfg.bptt, tr, active, val)
        for row, k in enumerate(active):
            tr.update(k, epoch, train_loss[row], val[row], lr)
            emit(EpochDone(k, epoch, cfg.epochs, train_loss[row], val[row]))
        if epoch in (cfg.epochs - 4, cfg.epochs - 2):
            lr /= 10
        done = [k for k in active if tr.ended[k] or epoch == cfg.epochs - 1]
        for k in done:
            results[k] = _result(k, tr, cells[k], cfg, params[k], spent[k])
            emit(TrainingDone(k, results[k]))
        if done and len(done) < len(active):
            keep = [row for row, k in enumerate(active) if k not in done]
            model.keep(torch.tensor(keep, device=device))
            active = [active[row] for row in keep]
            steps = _steps(model, cfg, graphs)    # a recorded graph holds the old shapes
        elif len(done) == len(active):
            break
        if checkpoint:
            checkpoint.save(_snapshot(model, tr, active, tags, spent, epoch + 1, lr))
            if stop_after is not None and epoch + 1 >= stop_after:
                return results
    if checkpoint:
        checkpoint.clear()
    return results


def _test_improved(model: BatchedRNNModel, tests: torch.Tensor, bptt: int, tr: _Tracker, active: list[int],
                   val: list[float]) -> None:
    """Test the candidates whose validation loss is a new best (before tr.update records it)."""
    better = [row for row, k in enumerate(active) if val[row] < tr.best[k]]
    if better:
        loss = evaluate(model, tests, bptt).tolist()
        for row in better:
            tr.test[active[row]] = loss[row]


def _resumable(saved: dict | None, tags: list[str]) -> bool:
    """A saved training holds every one of these candidates (and maybe others since finished)."""
    return bool(saved) and set(tags) <= set(saved.get("tags", []))


def _snapshot(model: BatchedRNNModel, tr: _Tracker, active: list[int], tags: list[str], spent: list[float],
              next_epoch: int, lr: float) -> dict:
    """What a later call needs to continue the candidates still training, row by row."""
    return {"tags": [tags[k] for k in active], "epoch": next_epoch, "lr": lr,
            "spent": [spent[k] for k in active],
            "weights": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "tracker": [{"best": tr.best[k], "stale": tr.stale[k], "curve": tr.curve[k], "epochs": tr.epochs[k],
                         "test": tr.test[k]} for k in active]}


def paused_result(checkpoint, cell: Cell, cfg: SearchConfig, ended: str = "paused") -> Result | None:
    """The Result of `cell`'s training paused in `checkpoint` (train_cells' stop_after, one cell),
    as if it ended there (`ended`): its best validation loss so far, its epochs, curve and wall
    time; None when the checkpoint holds no paused training."""
    saved = checkpoint.load()
    if not saved:
        return None
    t, (_, V, E) = saved["tracker"][0], saved["weights"]["encoder"].shape
    best = t["best"]
    return Result(ppl=math.exp(best) if best < DIVERGED_LOSS else math.inf, val_loss=best,
                  flops=cell.prune().flops(cfg.nhid), params=count_params(cell.prune().n_edges, V, E, cfg.nhid),
                  seconds=saved["spent"][0], epochs=t["epochs"], diverged=False, ended=ended, curve=t["curve"])


def _restore(saved: dict, tags: list[str], model: BatchedRNNModel, tr: _Tracker,
             spent: list[float]) -> tuple[int, float]:
    """Load the saved rows of these candidates into `model` and `tr`; returns (next epoch, lr)."""
    rows = [list(saved["tags"]).index(t) for t in tags]
    idx = torch.tensor(rows)
    model.load_state_dict({k: v[idx] for k, v in saved["weights"].items()})
    for k, row in enumerate(rows):
        t = saved["tracker"][row]
        tr.best[k], tr.stale[k], tr.curve[k], tr.epochs[k] = t["best"], t["stale"], list(t["curve"]), t["epochs"]
        tr.test[k] = t.get("test", math.inf)
        spent[k] = saved["spent"][row]
    return saved["epoch"], saved["lr"]


def _steps(model: BatchedRNNModel, cfg: SearchConfig, graphs: bool) -> StepRunner:
    return StepRunner(model, cfg.batch_size, cfg.clip, cfg.bptt, capture=graphs)


def _train_epoch(steps, data: torch.Tensor, lr: float, cfg: SearchConfig, epoch: int) -> list[float]:
    """One pass over the training rows through `steps` (graphs.StepRunner); returns
    each candidate's running (EMA) training loss."""
    steps.reset()
    ema = None
    i = 0
    for L in seq_lengths(data.shape[0], cfg.bptt, cfg.seed, epoch):
        d = steps.step(data[i:i + L], data[i + 1:i + 1 + L], lr * L / cfg.bptt)
        ema = d if ema is None else EMA_MOMENTUM * ema + (1 - EMA_MOMENTUM) * d
        i += L
    return ema.tolist()
