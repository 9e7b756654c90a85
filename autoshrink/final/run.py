"""Final training: one cell (or torch's one-layer LSTM, the baseline) trained to the end with the
published recipe (docs/algorithm.md, "Final training").

    run = FinalRun.create("runs/shrink", FinalConfig.preset("small", data="data/ptb"), cell=SHRINK_RNN)
    run.run(on_event=print_event, should_stop=lambda: False)    # or FinalRun.open("runs/shrink").run()
    run.result                                                  # {"valid_ppl", "test_ppl", ...}

The recipe: each training step's length drawn from N(bptt, 5), clipped to [5, bptt + 20], with the
learning rate scaled by length / bptt; five dropouts (output, hidden, cell input, embedding
output, whole words of the embedding), all variational (one mask per batch, shared over time);
weight decay; temporal activation regularisation beta * mean (h_t - h_{t-1})^2; SGD, switching to
averaged SGD (ASGD, t0 = 0, lambd = 0) once the validation loss is worse than the best of all but
the last `nonmono` epochs (validated with the averaged weights from then on); at the end the best
weights are validated (eval batch) and tested (test batch).

The run folder holds run.json (settings, cell, history, result), checkpoint.pt (written after every
epoch: weights, optimizer state with the ASGD averages, RNG states, epoch, best validation) and
best.pt (the best weights). Both .pt files are tensors-only and load with weights_only=True;
best.pt loads into the cell module written by autoshrink.export (`load_trained`). Resuming
continues to the same numbers as an uninterrupted run (CPU, fp32): all randomness comes from
generators whose states are checkpointed. Progress goes out through `on_event(event)`:
events.FinalStarted, FinalEpoch, PhaseSwitched, FinalDone; `should_stop()` is asked between batches.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..core.cell import Cell
from ..core.data import batchify, load_corpus
from ..core.disk import WriterLock, read_json, write_atomic, write_json_atomic
from ..core.errors import ConfigError
from ..core.events import FinalDone, FinalEpoch, FinalStarted, PhaseSwitched, ignore
from ..core.record import paths_from_record, paths_to_record
from ..core.runtime import resolve_device
from ..core.stats import perplexity
from ..proxy.precision import resolve_fuse, resolve_precision
from ..proxy.stream import chunked_loss, cut
from .config import FinalConfig
from .model import LanguageModel, detach, n_params

FORMAT = "autoshrink-final/1"
MODELS = ("cell", "lstm")
LEN_SD, LEN_MIN, LEN_OVER = 5, 5, 20   # step length ~ N(bptt, 5) clipped to [5, bptt + 20]


def step_lengths(n_rows: int, bptt: int, rng: np.random.Generator) -> list[int]:
    """One epoch's training step lengths: N(bptt, 5) rounded down, clipped to [5, bptt + 20] and to the data."""
    return cut(n_rows, lambda: min(max(LEN_MIN, int(rng.normal(bptt, LEN_SD))), bptt + LEN_OVER))


@torch.no_grad()
def evaluate(model: LanguageModel, data: torch.Tensor, bptt: int) -> float:
    """Mean next-word loss over `data` (T, B): hidden carried across chunks, weighted by their length."""
    model.eval()

    def loss_fn(x, y, h):
        loss, h, _ = model.loss(x, y, h)
        return loss.item(), h
    return chunked_loss(loss_fn, data, bptt, model.init_hidden(data.shape[1]))


def ppl(loss: float) -> float | None:
    return perplexity(loss)


# ----------------------------------------------------------------------------- the run

def _save_pt(obj, path: Path) -> None:
    write_atomic(path, lambda tmp: torch.save(obj, tmp))


def load_weights(path) -> dict:
    """A tensors-only state dict (best.pt), read without running code (weights_only=True)."""
    return torch.load(path, map_location="cpu", weights_only=True)


class FinalRun:
    """One final training in its folder: create it, run it (again after a stop or a crash), read it."""

    def __init__(self, folder, record: dict, device: str | None = None):
        self.folder = Path(folder)
        self.record = record
        self.cfg = FinalConfig.from_dict(record["config"]).check()
        self.cell = Cell.from_dict(record["cell"]) if record["cell"] else None
        self.device = resolve_device(device or self.cfg.device)

    @classmethod
    def create(cls, folder, cfg: FinalConfig, cell: Cell | None = None, model: str = "cell") -> "FinalRun":
        folder = Path(folder)
        if model not in MODELS:
            raise ConfigError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
        if (model == "cell") != (cell is not None):
            raise ConfigError("give a cell (--cell) to train a cell, or --baseline lstm without a cell")
        if (folder / "run.json").exists():
            raise ConfigError(f"{folder}/run.json exists; continue it with --resume or choose another --out")
        record = {"format": FORMAT, "model": model, "config": cfg.check().to_dict(),
                  "cell": cell.to_dict() if cell else None, "history": [], "status": "new", "result": None}
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "run.json", {**record, "config": paths_to_record(record["config"], folder)})
        return cls(folder, record)

    @classmethod
    def open(cls, folder, device: str | None = None, **changes) -> "FinalRun":
        """A run from its folder; `changes` (epochs, data, ...) replace saved settings."""
        path = Path(folder) / "run.json"
        if not path.is_file():
            raise ConfigError(f"no final training at {folder}; give the --out folder of an earlier `train`")
        record = read_json(path, "start a new run with another --out")
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a final-training record ({FORMAT})")
        record["config"] = {**paths_from_record(record["config"], Path(folder)), **changes}
        return cls(folder, record, device)

    # --- what the folder says
    @property
    def history(self) -> list[dict]:
        return self.record["history"]

    @property
    def result(self) -> dict | None:
        return self.record["result"]

    @property
    def finished(self) -> bool:
        return self.record["result"] is not None

    @property
    def precision(self) -> str:
        """The precision `auto` resolves to for this run's device and size."""
        return resolve_precision(self.cfg.precision, self.device, self.cfg.emsize)

    def model(self, ntokens: int) -> LanguageModel:
        cfg = self.cfg
        return LanguageModel(self.record["model"], self.cell, ntokens, cfg.emsize, cfg.seed, self.precision,
                             resolve_fuse(cfg.fuse)).to(self.device)

    # --- training
    def run(self, on_event=None, should_stop=None) -> dict | None:
        """Train (from the last checkpoint, if any) to the last epoch, then validate and test the best
        weights. Returns the result, or None when `should_stop()` ended it first (resumable)."""
        emit = on_event or ignore
        stop = should_stop or (lambda: False)
        if self.finished:
            return self.result
        with WriterLock(self.folder, hint="or choose another --out"):
            return self._run(emit, stop)

    def _run(self, emit, stop) -> dict | None:
        t = _Trainer(self, emit)
        emit(FinalStarted(epoch=t.epoch, epochs=self.cfg.epochs, phase=t.phase, params=n_params(t.model),
                          model=self.record["model"], resumed=t.epoch > 0, precision=self.precision))
        while t.epoch < self.cfg.epochs:
            if stop() or not t.train_epoch(stop):
                self._status("paused")
                return None
            t.end_epoch()
        return self.finish(emit, t.model, t.corpus)

    def finish(self, on_event=None, model=None, corpus=None) -> dict:
        """Validate (eval batch) and test (test batch) the best weights; record and return the result."""
        emit = on_event or ignore
        if not (self.folder / "best.pt").is_file():
            raise ConfigError(f"{self.folder} has no best.pt yet: train at least one epoch first")
        corpus = corpus or load_corpus(self.cfg.data)
        model = model or self.model(corpus.ntokens)
        model.load_state_dict(load_weights(self.folder / "best.pt"))
        cfg = self.cfg
        valid_data = batchify(corpus.valid, cfg.eval_batch_size, "--eval_batch_size").to(self.device)
        valid = evaluate(model, valid_data, cfg.bptt)
        test_data = batchify(corpus.test, cfg.test_batch_size, "--test_batch_size").to(self.device)
        test = evaluate(model, test_data, cfg.bptt)
        scored = [r for r in self.history if r["val_loss"] is not None and math.isfinite(r["val_loss"])]
        best = min(scored, key=lambda r: r["val_loss"]) if scored else {}
        result = {"valid_loss": valid, "test_loss": test, "valid_ppl": ppl(valid), "test_ppl": ppl(test),
                  "best_epoch": best.get("epoch"), "epochs": len(self.history), "params": n_params(model),
                  "seconds": sum(r["seconds"] for r in self.history)}
        self.record["result"] = result
        self._status("done")
        emit(FinalDone(result))
        return result

    def _status(self, status: str) -> None:
        self.record["status"] = status
        write_json_atomic(self.folder / "run.json",
                          {**self.record, "config": paths_to_record(self.record["config"], self.folder)})


class _Trainer:
    """The state of a run in training: model, optimizer, generators; checkpointed after every epoch."""

    def __init__(self, run: FinalRun, emit):
        self.run, self.emit, cfg = run, emit, run.cfg
        self.corpus = load_corpus(cfg.data)
        self.model = run.model(self.corpus.ntokens)
        dev = run.device
        self.train = batchify(self.corpus.train, cfg.batch_size).to(dev)
        self.valid = batchify(self.corpus.valid, cfg.eval_batch_size, "--eval_batch_size").to(dev)
        self.masks = torch.Generator().manual_seed(int(cfg.seed) + 1)
        self.lengths = np.random.default_rng(int(cfg.seed))
        self.epoch, self.phase, self.best, self.sgd_vals = 0, "SGD", math.inf, []
        self.opt = self._optimizer("SGD")
        if (run.folder / "checkpoint.pt").is_file():
            self._load(load_weights(run.folder / "checkpoint.pt"))
        self.train_loss, self.tick = None, time.perf_counter()

    def _optimizer(self, phase: str):
        params, cfg = self.model.parameters(), self.run.cfg
        if phase == "SGD":
            return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.wdecay)
        return torch.optim.ASGD(params, lr=cfg.lr, t0=0, lambd=0.0, weight_decay=cfg.wdecay)

    def train_epoch(self, stop) -> bool:
        """One pass over the training rows; False if `stop()` said so (the epoch is then redone on resume)."""
        cfg, model, data = self.run.cfg, self.model, self.train
        model.train()
        h = model.init_hidden(data.shape[1])
        total, i = 0.0, 0
        for L in step_lengths(data.shape[0], cfg.bptt, self.lengths):
            if stop():
                return False
            masks = model.draw_masks(self.masks, data.shape[1], cfg)
            loss, h, raw = model.loss(data[i:i + L], data[i + 1:i + 1 + L], detach(h), masks)
            raw = raw.float()
            tar = cfg.beta * (raw[1:] - raw[:-1]).pow(2).mean() if L > 1 and cfg.beta else 0.0
            self.opt.zero_grad(set_to_none=True)
            (loss + tar).backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            self.opt.param_groups[0]["lr"] = cfg.lr * L / cfg.bptt
            self.opt.step()
            self.opt.param_groups[0]["lr"] = cfg.lr
            total += loss.item() * L
            i += L
        self.train_loss = total / i
        return True

    def _averaged(self) -> dict | None:
        """ASGD's averaged weights by parameter name (None in the SGD phase)."""
        if self.phase != "ASGD":
            return None
        names = dict(self.model.named_parameters())
        return {n: self.opt.state[p]["ax"] for n, p in names.items() if "ax" in self.opt.state[p]}

    def _validate(self) -> tuple[float, dict]:
        """Validation loss, with ASGD's averaged weights in the ASGD phase; and the weights validated."""
        avg = self._averaged()
        if not avg:
            return evaluate(self.model, self.valid, self.run.cfg.bptt), self.model.state_dict()
        saved = {n: p.detach().clone() for n, p in self.model.named_parameters()}
        with torch.no_grad():
            for n, p in self.model.named_parameters():
                p.copy_(avg.get(n, p))
        val, weights = evaluate(self.model, self.valid, self.run.cfg.bptt), {
            k: v.detach().clone() for k, v in self.model.state_dict().items()}
        with torch.no_grad():
            for n, p in self.model.named_parameters():
                p.copy_(saved[n])
        return val, weights

    def end_epoch(self) -> None:
        cfg, folder = self.run.cfg, self.run.folder
        val, weights = self._validate()
        if val < self.best:
            self.best = val
            _save_pt({k: v.cpu() for k, v in weights.items()}, folder / "best.pt")
        now = time.perf_counter()
        row = {"epoch": self.epoch, "train_loss": self.train_loss, "val_loss": val, "val_ppl": ppl(val),
               "phase": self.phase, "best_val_loss": self.best, "seconds": now - self.tick}
        self.tick = now
        self.run.history.append(row)
        self.emit(FinalEpoch(epochs=cfg.epochs, **row))
        if self.phase == "SGD":
            if len(self.sgd_vals) > cfg.nonmono and val > min(self.sgd_vals[:-cfg.nonmono]):
                self.phase, self.opt = "ASGD", self._optimizer("ASGD")
                self.emit(PhaseSwitched(self.epoch, "ASGD"))
            self.sgd_vals.append(val)
        self.epoch += 1
        _save_pt(self._checkpoint(), folder / "checkpoint.pt")
        self.run._status("training")

    def _checkpoint(self) -> dict:
        np_state = np.random.get_state()
        return {"format": FORMAT, "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
                "optimizer": self.opt.state_dict(), "phase": self.phase, "epoch": self.epoch,
                "best_val": self.best, "sgd_vals": list(self.sgd_vals), "history": list(self.run.history),
                "rng": {"masks": self.masks.get_state(), "lengths": self.lengths.bit_generator.state,
                        "torch": torch.get_rng_state(),
                        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
                        "python": list(random.getstate()[1])}}

    def _load(self, ck: dict) -> None:
        self.model.load_state_dict(ck["model"])
        self.phase, self.epoch, self.best = ck["phase"], ck["epoch"], ck["best_val"]
        self.sgd_vals = list(ck["sgd_vals"])
        self.opt = self._optimizer(self.phase)
        self.opt.load_state_dict(ck["optimizer"])
        self.run.record["history"] = list(ck["history"])
        rng = ck["rng"]
        self.masks.set_state(rng["masks"])
        self.lengths.bit_generator.state = rng["lengths"]
        torch.set_rng_state(rng["torch"])
        n = rng["numpy"]
        np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
        random.setstate((3, tuple(rng["python"]), None))
