"""Search quality: is the discovered cell any good, and better than chance? Every entry trains a
few times (`trainings`, each under its own weight seed) under the proxy of the search (same data,
sizes, epochs, learning rate) and is judged on the test text, with validation beside it (the
search chose on validation):

- discovered: the search's cell (best step by default);
- same ops: random cells with the discovered cell's ops and live-edge count, random edges (the
  control for the edge search alone);
- random: random cells with its live-edge count, random ops and edges (the whole space);
- size-matched random search (formats.SIZE_MATCHED): as many random cells (random ops and edges,
  the discovered cell's live-edge count) as the search trained candidates, each trained once like a
  candidate, the best by validation kept and trained as often as the other entries: random search
  at the search's training budget, restricted to cells of the discovered cell's size (the
  strategies' `random` samples the whole space);
- ShrinkRNN, DARTS (the published cells) and torch's one-layer LSTM.

    report = quality_report("search-run", n_random=8, trainings=3)     # trains what is not cached yet
    report["summary"]["discovered"]["rank"]                        # 1 = better on test than every random cell

A failed run (diverged) counts the same way for every entry: each cell's mean is over its finished
runs and its failures are counted beside it; a cell with none finished ranks last. The summary
gives per entry mean ± sd on test and validation, the discovered cell's rank among the random
cells (test, and validation), its relative improvement over the random cells' mean, a one-sided
permutation p-value that it beats a random cell (over cells: each cell's mean, never its runs as
if they were cells), and the size-matched random search's winner against it.
`proxy_final_tau` says whether the proxy's order of cells predicts their final training's.

Cells train with the search's own proxy trainer (`autoshrink.proxy.train.train_cells`, test split
evaluated at the best validation epoch). The LSTM has no place in that batched cell model, so it
trains with the final trainer (autoshrink.final.run) at a proxy-like recipe: same data, sizes, lr,
clip, epochs and batches, no dropout, no weight decay, no activation regularisation, plain SGD (no
switch to ASGD); its step lengths follow N(bptt, 5), it has no lr decay and no early end, and its
embedding starts from U(-0.1, 0.1): close to the proxy, not the same. Every finished training is
written at once to `<save>/quality.json` (keyed by the proxy settings), so reopening a report, or
continuing a stopped one, trains nothing twice. Progress goes out through `on_event(event)`,
events.JobStarted and JobDone; `should_stop()` is asked between trainings (and between epochs of a cell).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np

from ..core import formats
from ..core.cell import DARTS, SHRINK_RNN, Cell, random_cell
from ..core.config import SearchConfig
from ..core.disk import WriterLock, read_json, write_json_atomic
from ..core.errors import ConfigError
from ..core.events import JobDone, JobStarted, ignore
from ..core.record import SearchRecord, holds_strategy_run, load_cell, read_state
from ..core.record.strategy import read_strategy
from ..core.runtime import SALT_POOL, SALT_RANDOM, SALT_SAME_OPS, SALT_WEIGHTS, derive_seed, resolve_device
from ..core.stats import cell_pvalue, kendall_tau, mean_sd, perplexity, smallest_pvalue
from ..final.config import FinalConfig

FORMAT = "autoshrink-quality/1"
VERSION = 2          # part of the cache key: records of version 2 hold the test perplexity
GROUPS = ("discovered", "same ops", "random", formats.SIZE_MATCHED, "ShrinkRNN", "DARTS", "LSTM")
MAX_DRAWS = 1000     # random cells drawn, at most, to find one with the wanted number of live edges


def random_cells(nodes: int, n_edges: int, count: int, seed: int, ops=None, salt: int = SALT_RANDOM,
                 exclude=()) -> list[Cell]:
    """`count` distinct random cells of `nodes` nodes whose pruned cell has exactly `n_edges` edges
    and is none of `exclude` (fewer when the space holds fewer); random ops too unless `ops` is given."""
    rng = np.random.default_rng(derive_seed(seed, salt, nodes, n_edges))
    cells: list[Cell] = []
    for _ in range(MAX_DRAWS):
        if len(cells) == count:
            break
        c = random_cell(nodes, n_edges, rng)
        c = c if ops is None else Cell(c.mask, ops)
        if c.prune().n_edges == n_edges and c not in cells and c.prune() not in exclude:
            cells.append(c)
    return cells


def search_budget(state: dict) -> int:
    """Candidates the search trained (every step, finished or not): random search's budget."""
    return sum(len(s["candidates"]) for s in state["steps"])


class JudgedRun:
    """What a report reads of the run it judges: a search (search.json, `state`) or another
    strategy's run (strategy.json, `strategy`): its settings, node ops and trainings spent."""

    def __init__(self, save: Path):
        self.state = self.strategy = None
        if holds_strategy_run(save):
            self.strategy = read_strategy(save)
            self.config, self.ops = self.strategy["config"], self.strategy["ops"]
            self.spent = len(self.strategy["trainings"])
        else:
            self.state = read_state(save)
            self.config, self.ops = self.state["config"], Cell.from_dict(self.state["initial"]).ops
            self.spent = search_budget(self.state)


def proxy_key(cfg: SearchConfig) -> str:
    """The proxy settings a result depends on, as a short stable key."""
    keys = ("data", "emb_path", "emsize", "nhid", "lr", "clip", "epochs", "batch_size", "eval_batch_size", "bptt",
            "seed", "precision", "fuse")
    values = {k: getattr(cfg, k) for k in keys}
    # the same from any folder
    values.update({k: os.path.realpath(values[k]) for k in ("data", "emb_path") if values[k]})
    text = json.dumps({"version": VERSION, **values}, sort_keys=True)
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

    def __init__(self, save, n_random: int = 8, trainings: int = 3, which: str = "best", lstm: bool = True,
                 random_search: int | None = None, table=None, **overrides):
        self.save = Path(save)
        self.judged = JudgedRun(self.save)
        self.state = self.judged.state          # None for a strategy run
        self.table = _table(table)
        if "emsize" in overrides:     # the decoder is tied: one size for all three
            overrides.setdefault("nhid", overrides["emsize"])
            overrides.setdefault("nhidlast", overrides["nhid"])
        self.cfg = SearchConfig.from_dict({**self.judged.config, "save": str(self.save), **overrides}).check()
        self.budget_given = random_search is not None        # set by hand, not the search's
        budget = self.judged.spent if random_search is None else random_search
        if n_random < 0 or trainings < 1 or budget < 0:
            raise ConfigError(f"--random and --random_search must be 0 or more and --trainings at least 1, "
                              f"got {n_random}, {budget} and {trainings}")
        self.cell = load_cell(self.save, which)
        if self.table is not None:
            self.table.check_answers(SearchConfig.from_dict(self.judged.config), self.judged.ops)
        self.seeds = [derive_seed(self.cfg.seed, SALT_WEIGHTS, r) for r in range(trainings)]   # weight seeds
        n_edges, nodes = self.cell.prune().n_edges, self.cfg.nodes
        mine = [self.cell.prune()]       # the controls and the pool never hold the discovered cell itself
        self.randoms = random_cells(nodes, n_edges, n_random, self.cfg.seed, exclude=mine)
        self.same_ops = random_cells(nodes, n_edges, n_random, self.cfg.seed, ops=self.cell.ops, salt=SALT_SAME_OPS,
                                     exclude=mine)
        self.pool = random_cells(nodes, n_edges, budget, self.cfg.seed, salt=SALT_POOL, exclude=mine)
        self.cells = {"discovered": self.cell, "ShrinkRNN": SHRINK_RNN, "DARTS": DARTS}
        self.cells.update({f"same ops {k + 1}": c for k, c in enumerate(self.same_ops)})
        self.cells.update({f"random {k + 1}": c for k, c in enumerate(self.randoms)})
        self.cells.update({f"pool {k + 1}": c for k, c in enumerate(self.pool)})
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

    def _cached(self, key: str, name: str) -> dict | None:
        """The cached record of a job, if it trained this job's cell (a cache of other cells under
        the same name, e.g. from an older list of controls, is retrained)."""
        rec = self.runs.get(key)
        if rec is None or name == "LSTM" or rec.get("cell") == self.cells[name].to_dict():
            return rec
        return None

    def winner(self) -> str | None:
        """The random search's pick: the pool cell of lowest validation ppl, once the pool is trained."""
        pool = [self._cached(k, name) for k, name, _ in self._pool_jobs()]
        if not pool or None in pool:
            return None
        return min(pool, key=lambda r: (r["ppl"] is None, r["ppl"] or 0.0))["name"]

    def _pool_jobs(self) -> list[tuple[str, str, int]]:
        """Each pool cell trained once, with its own seed (as a search candidate is)."""
        seeds = [derive_seed(self.cfg.seed, SALT_POOL, k) for k in range(len(self.pool))]
        return [(f"pool {k + 1} / seed {s}", f"pool {k + 1}", s) for k, s in enumerate(seeds)]

    def jobs(self) -> list[tuple[str, str, int]]:
        """(job key, name, seed) of every training the report needs: the cells and the LSTM, the
        random-search pool, then its winner (known once the pool is trained)."""
        names = [n for n in self.cells if not n.startswith("pool")] + (["LSTM"] if self.lstm else [])
        win = self.winner()
        named = names + ([win] if win else [])
        return [(f"{name} / seed {s}", name, s) for name in named for s in self.seeds] + self._pool_jobs()

    def missing(self) -> list[tuple[str, str, int]]:
        todo = [j for j in self.jobs() if self._cached(j[0], j[1]) is None]
        return todo + ([("random search winner", None, None)] if self.pool and self.winner() is None else [])

    def run(self, on_event=None, should_stop=None) -> dict:
        """Train every missing job (saving each as it ends); return the report (see `report`)."""
        with WriterLock(self.save, "quality.lock", hint="or report on a copy of the search folder"):
            return self._run(on_event or ignore, should_stop)

    def _run(self, emit, should_stop) -> dict:
        self.cache = self._read_cache()          # as the last writer left it
        todo = [j for j in self.missing() if j[1] is not None]
        if todo:
            corpus, emb, device = self._training_inputs()
        n = 0
        while todo:
            key, name, seed = todo.pop(0)
            if should_stop and should_stop():
                break
            emit(JobStarted(key, n, n + 1 + len(todo)))
            rec = (self._lstm(seed, should_stop) if name == "LSTM" else
                   self._cell(name, seed, corpus, emb, device, should_stop))
            if rec is None:
                break
            self.runs[key] = rec
            write_json_atomic(self.path, self.cache)
            emit(JobDone(key, n, n + 1 + len(todo), rec))
            n += 1
            todo = todo or [j for j in self.missing() if j[1] is not None]    # the winner, once the pool is done
        return self.report()

    def _training_inputs(self):
        """The corpus, the start embedding and the device (torch is loaded only when something trains:
        a report read from its cache needs none of it)."""
        from ..core.data import load_corpus
        from ..one_cell import start_embedding
        corpus = load_corpus(self.cfg.data)
        return corpus, start_embedding(self.cfg, corpus.words), resolve_device(self.cfg.device)

    def _cell(self, name, seed, corpus, emb, device, should_stop) -> dict | None:
        from ..proxy.train import train_cells
        cell = self.cells[name]
        [r] = train_cells([cell], [seed], corpus, emb, self.cfg, device, should_stop=should_stop, test=True)
        if r is None:
            return None
        return {"name": name, "group": _group(name), "seed": seed, "cell": cell.to_dict(),
                "ppl": r.ppl if math.isfinite(r.ppl) else None, "test_ppl": r.test_ppl, "flops": r.flops,
                "edges": cell.prune().n_edges, "params": r.params, "seconds": r.seconds, "epochs": r.epochs}

    def _lstm(self, seed, should_stop) -> dict | None:
        from ..final.run import FinalRun
        with tempfile.TemporaryDirectory() as tmp:
            run = FinalRun.create(Path(tmp) / "lstm", lstm_proxy_config(self.cfg, seed), model="lstm")
            if run.run(should_stop=should_stop) is None:
                return None
        best = min(r["val_loss"] for r in run.history)
        return {"name": "LSTM", "group": "LSTM", "seed": seed, "cell": None,
                "ppl": perplexity(best), "test_ppl": run.result["test_ppl"], "flops": None,
                "edges": None, "params": run.result["params"], "seconds": run.result["seconds"],
                "epochs": len(run.history)}

    def report(self) -> dict:
        """Every finished job's record, the summary and the settings it was trained with."""
        win = self.winner()
        retrained = {f"{win} / seed {s}" for s in self.seeds} if win else set()
        records = [{**self.runs[k], **({"group": formats.SIZE_MATCHED, "name": formats.SIZE_MATCHED, "cell_name": name}
                                       if k in retrained else {})}
                   for k, name, _ in self.jobs() if self._cached(k, name) is not None]
        out = {"config": self.cfg.to_dict(), "cell": self.cell.to_dict(), "records": records,
               "summary": summarize(records), "missing": len(self.missing()), "n_random": len(self.randoms),
               "trainings": len(self.seeds), "budget": len(self.pool), "winner": win,
               "budget_given": self.budget_given, "search_budget": self.judged.spent}
        if self.table is not None:
            from ..space.truth import cell_standing, search_truth
            out["truth"] = (cell_standing(self.table, self.cfg, self.cell) if self.state is None else
                            search_truth(SearchRecord.from_dict(self.state), self.table, self.cell))
        return out


def _table(folder):
    """The space table in `folder` (None for none), checked to answer for the search when read."""
    if folder is None:
        return None
    from ..space.shipped import open_table
    return open_table(folder)


def _group(name: str) -> str:
    for prefix in ("same ops", "random", "pool"):
        if name.startswith(prefix + " "):
            return prefix
    return name


def _entry(runs: list[dict]) -> dict:
    """One cell's (or baseline's) runs: mean ± sd of test and valid over finished runs, failures."""
    test, test_sd = mean_sd(r.get("test_ppl") for r in runs)
    valid, valid_sd = mean_sd(r["ppl"] for r in runs)
    failed = sum(r["ppl"] is None for r in runs)
    return {"runs": len(runs), "failed": failed, "test": test, "test_sd": test_sd, "valid": valid, "valid_sd": valid_sd}


def _rank(mine: float | None, others: list) -> int:
    """1 + the entries strictly better (lower) than `mine`; an entry with no finished run (None) is
    never better, and one of ours with none ranks last."""
    if mine is None:
        return len(others) + 1
    return 1 + sum(o is not None and o < mine for o in others)


def summarize(records: list[dict]) -> dict:
    """Per entry (cell or baseline) and per group: mean ± sd of test and valid ppl, failures. For the
    discovered cell also: its rank among the random cells (each cell's mean over its finished runs;
    1 = better than all) on test and on validation, among the same-ops cells too, the random cells'
    mean, its relative improvement over it, a one-sided permutation p-value over the cells' mean test
    ppl (and the smallest one the number of random cells allows),
    and the random search's winner against it."""
    by_name: dict[str, list] = {}
    for r in records:
        by_name.setdefault(r["name"], []).append(r)
    entries = {name: {"group": runs[0]["group"], **_entry(runs)} for name, runs in by_name.items()}
    out = {"entries": entries,
           "groups": {g: _entry([r for r in records if r["group"] == g]) for g in GROUPS}}
    mine = entries.get("discovered")
    if mine is not None:
        out["discovered"] = _judge(mine, entries, records)
    return out


def _judge(mine: dict, entries: dict, records: list[dict]) -> dict:
    cells = lambda g: [e for e in entries.values() if e["group"] == g]
    rand, same = cells("random"), cells("same ops")
    finite = [e["test"] for e in rand if e["test"] is not None]
    rand_mean = statistics.fmean(finite) if finite else None
    out = {"rank": _rank(mine["test"], [e["test"] for e in rand]), "of": len(rand) + 1,
           "rank_valid": _rank(mine["valid"], [e["valid"] for e in rand]),
           "rank_same_ops": _rank(mine["test"], [e["test"] for e in same]), "of_same_ops": len(same) + 1,
           "random_mean": rand_mean,
           "improvement": (rand_mean - mine["test"]) / rand_mean if rand_mean and mine["test"] is not None else None,
           "p_value": cell_pvalue(mine["test"], [e["test"] for e in rand]), "p_min": smallest_pvalue(len(rand))}
    win = cells(formats.SIZE_MATCHED)
    if win:
        out["random_search"] = win[0]["test"]
        out["beats_random_search"] = (mine["test"] is not None and
                                      (win[0]["test"] is None or mine["test"] < win[0]["test"]))
    return out


def proxy_final_tau(report: dict, final: dict) -> dict:
    """Kendall's tau between the cells' proxy order (mean test ppl in `report`) and their final
    training's test order (`final`: name -> test ppl), over the cells both have."""
    entries = report["summary"]["entries"]
    names = [n for n in entries if n in final and entries[n]["test"] is not None and final[n] is not None]
    proxy, fin = [entries[n]["test"] for n in names], [final[n] for n in names]
    return {"names": names, "proxy": proxy, "final": fin, "tau": kendall_tau(proxy, fin) if len(names) > 1 else None}


def final_results(folder) -> dict:
    """name -> test ppl of the finished final trainings under `folder` (scripts/final_table.py's
    run folders: discovered, ShrinkRNN, DARTS, LSTM, random-1, ...)."""
    out = {}
    for run_json in sorted(Path(folder).glob("*/run.json")):
        result = (read_json(run_json, "delete that run folder to retrain it") or {}).get("result")
        if result and result.get("test_ppl") is not None:
            out[run_json.parent.name.replace("-", " ")] = result["test_ppl"]
    return out


def quality_report(save, n_random: int = 8, trainings: int = 3, which: str = "best", lstm: bool = True,
                   on_event=None, should_stop=None, random_search: int | None = None, table=None,
                   **overrides) -> dict:
    """Train what the report still needs (nothing when cached) and return it; `overrides` replace
    the search's proxy settings (epochs, emsize, data, device, ...); `random_search` is the random
    search's budget (default: as many cells as the search trained candidates; 0: none); `table`, a
    space table's folder, adds the truth (space.truth.search_truth) as the report's "truth"."""
    report = QualityReport(save, n_random, trainings, which, lstm, random_search, table, **overrides)
    try:
        return report.run(on_event, should_stop)
    except KeyboardInterrupt:
        raise ReportInterrupted(f"interrupted: the trainings that ended are cached in {report.path}; run the "
                                "report again to train only what is missing") from None


class ReportInterrupted(KeyboardInterrupt):
    """Ctrl-C (or the notebook's Interrupt) during a report: IPython shows one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def progress_printer(clock=None):
    """An on_event for quality_report that prints a line per finished training with the time left
    (core.eta.TimeLeft: the rate so far, smoothed), as `autoshrink quality` and notebook 03 show it."""
    from ..core.eta import TimeLeft
    left = TimeLeft(clock=clock) if clock else TimeLeft()

    def show(event) -> None:
        if not isinstance(event, JobDone):
            return
        eta = left.update(event.position + 1, event.count)
        ppl = event.record.get("test_ppl")
        print(f"{event.position + 1}/{event.count} {event.job}: test ppl {formats.ppl(ppl)} "
              f"({formats.seconds(event.record.get('seconds'))} s); about {formats.seconds(eta / 60)} min left",
              flush=True)
    return show
