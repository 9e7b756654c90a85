"""Search quality: is the discovered cell any good? Its proxy perplexity against random cells with
as many live edges, the published ShrinkRNN and DARTS cells and torch's one-layer LSTM, each over a
few seeds, all under the proxy of the search (same data, sizes, epochs, learning rate).

    report = quality_report("search-run", n_random=8, seeds=3)     # trains what is not cached yet
    report["summary"]["discovered"]["rank"]                        # 1 = better than every random cell

Cells train with the search's own proxy trainer (`autoshrink.train.train_cells`). The LSTM has no
place in that batched cell model, so it trains with the final trainer (autoshrink.final) at a
proxy-like recipe: same data, sizes, lr, clip, epochs and batches, no dropout, no weight decay, no
activation regularisation, plain SGD (no switch to ASGD); its step lengths follow N(bptt, 5), it
has no lr decay and no early end, and its embedding starts from U(-0.1, 0.1): close to the proxy,
not the same. Every finished training is written at once to `<save>/quality.json` (keyed by the
proxy settings), so reopening a report, or continuing a stopped one, trains nothing twice.
Progress goes out through `on_event(kind, **info)`, kinds: start, done; `should_stop()` is asked
between trainings (and between epochs of a cell).
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
import tempfile
from pathlib import Path

import numpy as np

from .cell import DARTS, SHRINK_RNN, Cell, random_cell
from .config import ConfigError, SearchConfig
from .data import load_corpus
from .final import FinalConfig, FinalRun, pick_cell
from .proxy import start_embedding
from .record import read_json, read_state, write_json_atomic
from .runtime import derive_seed, resolve_device
from .train import train_cells

FORMAT = "autoshrink-quality/1"
SALT_RANDOM, SALT_WEIGHTS = 0x7A4D, 0x3E1
GROUPS = ("discovered", "random", "ShrinkRNN", "DARTS", "LSTM")
MAX_DRAWS = 1000     # random cells drawn, at most, to find one with the wanted number of live edges


def random_cells(nodes: int, n_edges: int, count: int, seed: int) -> list[Cell]:
    """`count` distinct random cells of `nodes` nodes whose pruned cell has exactly `n_edges` edges."""
    rng = np.random.default_rng(derive_seed(seed, SALT_RANDOM, nodes, n_edges))
    cells: list[Cell] = []
    for _ in range(MAX_DRAWS):
        if len(cells) == count:
            break
        c = random_cell(nodes, n_edges, rng)
        if c.prune().n_edges == n_edges and c not in cells:
            cells.append(c)
    return cells


def proxy_key(cfg: SearchConfig) -> str:
    """The proxy settings a result depends on, as a short stable key."""
    keys = ("data", "emb_path", "emsize", "nhid", "lr", "clip", "epochs", "batch_size", "eval_batch_size", "bptt",
            "seed", "precision", "fuse")
    text = json.dumps({k: getattr(cfg, k) for k in keys}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def lstm_proxy_config(cfg: SearchConfig, seed: int) -> FinalConfig:
    """The final trainer's settings closest to the proxy (see the module docstring)."""
    return FinalConfig(data=cfg.data, emsize=cfg.emsize, lr=cfg.lr, clip=cfg.clip, epochs=cfg.epochs,
                       batch_size=cfg.batch_size, eval_batch_size=cfg.eval_batch_size,
                       test_batch_size=cfg.eval_batch_size, bptt=cfg.bptt, nonmono=cfg.epochs + 1, dropout=0.0,
                       dropouth=0.0, dropoutx=0.0, dropouti=0.0, dropoute=0.0, wdecay=0.0, beta=0.0, seed=seed,
                       device=cfg.device, precision=cfg.precision, fuse=cfg.fuse)


class QualityReport:
    """The jobs of one report, their cached results and the training of what is missing."""

    def __init__(self, save, n_random: int = 8, seeds: int = 3, which: str = "best", lstm: bool = True,
                 **overrides):
        self.save = Path(save)
        self.state = read_state(self.save)
        if "emsize" in overrides:     # the decoder is tied: one size for all three
            overrides.setdefault("nhid", overrides["emsize"])
            overrides.setdefault("nhidlast", overrides["nhid"])
        self.cfg = SearchConfig.from_dict({**self.state["config"], "save": str(self.save), **overrides}).check()
        if n_random < 0 or seeds < 1:
            raise ConfigError(f"--random must be 0 or more and --seeds at least 1, got {n_random} and {seeds}")
        self.cell = pick_cell(self.save, which)
        self.seeds = [derive_seed(self.cfg.seed, SALT_WEIGHTS, r) for r in range(seeds)]
        n_edges = self.cell.prune().n_edges
        self.randoms = random_cells(self.cfg.nodes, n_edges, n_random, self.cfg.seed)
        self.cells = {"discovered": self.cell, "ShrinkRNN": SHRINK_RNN, "DARTS": DARTS}
        self.cells.update({f"random {k + 1}": c for k, c in enumerate(self.randoms)})
        self.lstm = lstm
        self.path = self.save / "quality.json"
        self.key = proxy_key(self.cfg)
        self.cache = self._read_cache()

    def _read_cache(self) -> dict:
        if not self.path.is_file():
            return {"format": FORMAT, "runs": {}}
        cache = read_json(self.path, "delete it to retrain the report")
        if cache.get("format") != FORMAT:
            raise ConfigError(f"{self.path} is not a quality record ({FORMAT}); delete it to retrain the report")
        return cache

    @property
    def runs(self) -> dict:
        return self.cache["runs"].setdefault(self.key, {})

    def jobs(self) -> list[tuple[str, str, int]]:
        """(job key, name, seed) of every training the report needs, cells first."""
        names = list(self.cells) + (["LSTM"] if self.lstm else [])
        return [(f"{name} / seed {s}", name, s) for name in names for s in self.seeds]

    def missing(self) -> list[tuple[str, str, int]]:
        return [j for j in self.jobs() if j[0] not in self.runs]

    def run(self, on_event=None, should_stop=None) -> dict:
        """Train every missing job (saving each as it ends); return the report (see `report`)."""
        emit = on_event or (lambda kind, **info: None)
        todo = self.missing()
        if todo:
            corpus = load_corpus(self.cfg.data)
            emb = start_embedding(self.cfg, corpus.words)
            device = resolve_device(self.cfg.device)
        for n, (key, name, seed) in enumerate(todo):
            if should_stop and should_stop():
                break
            emit("start", job=key, index=n, count=len(todo))
            rec = (self._lstm(seed, should_stop) if name == "LSTM" else
                   self._cell(name, seed, corpus, emb, device, should_stop))
            if rec is None:
                break
            self.runs[key] = rec
            write_json_atomic(self.path, self.cache)
            emit("done", job=key, index=n, count=len(todo), record=rec)
        return self.report()

    def _cell(self, name, seed, corpus, emb, device, should_stop) -> dict | None:
        cell = self.cells[name]
        [r] = train_cells([cell], [seed], corpus, emb, self.cfg, device, should_stop=should_stop)
        if r is None:
            return None
        return {"name": name, "group": _group(name), "seed": seed, "cell": cell.to_dict(),
                "ppl": r.ppl if math.isfinite(r.ppl) else None, "flops": r.flops, "edges": cell.prune().n_edges,
                "params": r.params, "seconds": r.seconds, "epochs": r.epochs}

    def _lstm(self, seed, should_stop) -> dict | None:
        with tempfile.TemporaryDirectory() as tmp:
            run = FinalRun.create(Path(tmp) / "lstm", lstm_proxy_config(self.cfg, seed), model="lstm")
            if run.run(should_stop=should_stop) is None:
                return None
        best = min(r["val_loss"] for r in run.history)
        return {"name": "LSTM", "group": "LSTM", "seed": seed, "cell": None,
                "ppl": math.exp(best) if best < 30 else None, "flops": None, "edges": None,
                "params": run.result["params"], "seconds": run.result["seconds"], "epochs": len(run.history)}

    def report(self) -> dict:
        """Every finished job's record, the summary per group and the discovered cell's rank."""
        records = [self.runs[k] for k, _, _ in self.jobs() if k in self.runs]
        return {"config": self.cfg.to_dict(), "cell": self.cell.to_dict(), "records": records,
                "summary": summarize(records), "missing": len(self.missing()), "n_random": len(self.randoms),
                "seeds": len(self.seeds)}


def _group(name: str) -> str:
    return "random" if name.startswith("random") else name


def _stats(values: list[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None, "median": None}
    return {"n": len(vals), "mean": statistics.fmean(vals), "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0,
            "min": min(vals), "max": max(vals), "median": statistics.median(vals)}


def summarize(records: list[dict]) -> dict:
    """Per group: stats of the ppl over all its runs. For the discovered cell also its rank among the
    random cells (each random cell's mean over seeds; rank 1 = lower than all) and the random median."""
    groups = {g: _stats([r["ppl"] for r in records if r["group"] == g]) for g in GROUPS}
    per_cell: dict[str, list] = {}
    for r in records:
        if r["group"] == "random":
            per_cell.setdefault(r["name"], []).append(r["ppl"])
    means = [statistics.fmean(v) if None not in v else math.inf for v in per_cell.values()]
    mine = groups["discovered"]["mean"]
    if mine is not None and means:
        finite = [m for m in means if math.isfinite(m)]
        groups["discovered"].update(rank=1 + sum(m < mine for m in means), of=len(means) + 1,
                                    random_median=statistics.median(finite) if finite else None,
                                    beats_median=bool(finite) and mine < statistics.median(finite))
    return groups


def write_figures(report: dict, state: dict, path) -> Path:
    """Both figures of a report in one offline HTML page."""
    from .quality_plot import pareto_figure, quality_figure
    figs = [quality_figure(report), pareto_figure(state)]
    parts = [f.to_html(full_html=False, include_plotlyjs=(k == 0)) for k, f in enumerate(figs)]
    Path(path).write_text("<html><head><meta charset='utf-8'><title>Search quality</title></head><body>"
                          + "".join(parts) + "</body></html>")
    return Path(path)


def quality_report(save, n_random: int = 8, seeds: int = 3, which: str = "best", lstm: bool = True,
                   on_event=None, should_stop=None, **overrides) -> dict:
    """Train what the report still needs (nothing when cached) and return it; `overrides` replace
    the search's proxy settings (epochs, emsize, data, device, ...)."""
    return QualityReport(save, n_random, seeds, which, lstm, **overrides).run(on_event, should_stop)
