"""The shrink loop: AutoShrink's search, steppable, resumable and reproducible.

    search = Search(SearchConfig(...), on_event=print_event)   # or Search.resume("search-run")
    edges = search.candidates()     # the edges this step will try removing
    search.evaluate()               # train every candidate (saved after each one)
    record = search.commit()        # remove the best edge(s) for good, prune, record the step
    search.run()                    # ... or all steps to the end, then the final cell

Everything the search knows is `search.state`, a JSON-ready dict (the layout is in README.md) that
is written atomically to `<save>/search.json` after every candidate, so a killed run loses at most
the candidate in progress. Each candidate's weights come from (seed, step, edge), its edge order
from (seed, step): a result does not depend on evaluation order or batching. Progress goes out
through `on_event(kind, **info)`, kinds: candidate_start, epoch, candidate_done, step_done,
finished. The search knows nothing of widgets.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from .backend import make_backend
from .cell import Cell, random_ops, save_graph
from .config import ConfigError, SearchConfig
from .data import initial_embedding, load_corpus, load_vectors
from .train import derive_seed, resolve_device

FORMAT = "autoshrink-search/1"
SALT_OPS, SALT_EMB, SALT_ORDER, SALT_FINAL = 0x0B5, 0xE3B, 0x5F, 0xF1


def score(ppl: float, flops: int, nhid: int) -> float:
    """AutoShrink's score: (200 - ppl) * 0.25 - (log10(flops) - 6); -inf when diverged.
    A cell left with no edge is costed as one edge (its W0 projection still runs)."""
    if not math.isfinite(ppl):
        return -math.inf
    return (200 - ppl) * 0.25 - (math.log10(max(flops, nhid * nhid)) - 6)


def initial_cell(cfg: SearchConfig) -> Cell:
    """The fully connected cell a search with these settings starts from (its ops follow the seed)."""
    return Cell.full(random_ops(cfg.nodes, np.random.default_rng(derive_seed(cfg.seed, SALT_OPS))))


def start_embedding(cfg: SearchConfig, words: list[str]) -> torch.Tensor:
    """The embedding every candidate of a run starts from: --emb_path vectors, else U(-0.5, 0.5)."""
    vectors = load_vectors(cfg.emb_path) if cfg.emb_path else None
    return initial_embedding(words, cfg.emsize, derive_seed(cfg.seed, SALT_EMB), vectors)


def _num(x):
    """JSON has no inf or nan: store them as null."""
    return x if x is None or math.isfinite(x) else None


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


class Search:
    def __init__(self, cfg: SearchConfig, on_event=None, state: dict | None = None):
        self.cfg = cfg.check()
        self.on_event = on_event or (lambda kind, **info: None)
        self.device = resolve_device(cfg.device)
        self.corpus = load_corpus(cfg.data)
        self.embedding = start_embedding(cfg, self.corpus.words)
        self.backend = make_backend(cfg)
        self.save_dir = Path(cfg.save)
        self.state = state or self._new_state()

    def _new_state(self) -> dict:
        if (self.save_dir / "search.json").exists():
            raise ConfigError(f"{self.save_dir}/search.json exists; resume it (--resume) or choose another --save")
        full = initial_cell(self.cfg).to_dict()
        return {"format": FORMAT, "config": self.cfg.to_dict(), "initial": full, "cell": full,
                "steps": [], "best": None, "final": None}

    @classmethod
    def resume(cls, save, on_event=None, **overrides) -> "Search":
        """Continue the search saved in `save`; `overrides` (e.g. device, data) replace saved settings."""
        state = read_state(save)
        cfg = SearchConfig.from_dict({**state["config"], "save": str(save), **overrides})
        return cls(cfg, on_event=on_event, state=state)

    # --- what the state says
    @property
    def cell(self) -> Cell:
        return Cell.from_dict(self.state["cell"])

    @property
    def history(self) -> list[dict]:
        return [s for s in self.state["steps"] if s["done"]]

    @property
    def pending(self) -> dict | None:
        steps = self.state["steps"]
        return steps[-1] if steps and not steps[-1]["done"] else None

    @property
    def shrinking_done(self) -> bool:
        return self.cell.n_edges <= self.cfg.threshold or self.cell.n_edges == 0

    @property
    def finished(self) -> bool:
        return self.state["final"] is not None

    # --- one shrink step
    def candidates(self) -> list[tuple[int, int]]:
        """The edges this step tries removing (opens the step if needed)."""
        if self.shrinking_done:
            return []
        if self.pending is None:
            edges = self.cell.edges
            rng = np.random.default_rng(derive_seed(self.cfg.seed, len(self.state["steps"]), SALT_ORDER))
            order = [list(edges[i]) for i in rng.permutation(len(edges))[: self.cfg.max_steps_to_action]]
            self.state["steps"].append({"step": len(self.state["steps"]), "done": False,
                                        "edges_before": len(edges), "order": order, "candidates": []})
            self.save()
        return [tuple(e) for e in self.pending["order"]]

    def evaluate(self, should_stop=None) -> bool:
        """Train the step's untried candidates; True when all are done, False if stopped."""
        edges = self.candidates()
        step = self.pending
        tried = {tuple(c["edge"]) for c in step["candidates"]}
        todo = [e for e in edges if e not in tried]
        size = self.cfg.parallel or (max(len(todo), 1) if self.device.type == "cuda" else 1)
        return self._train_group(step, todo, size, should_stop)

    def _train_group(self, step: dict, edges: list, size: int, should_stop) -> bool:
        """Train `edges`' candidates through the backend, `size` to a batched model."""
        n, cfg = len(step["order"]), self.cfg
        removed = [self.cell.remove(e) for e in edges]
        seeds = [derive_seed(cfg.seed, step["step"], i, j) for i, j in edges]

        def relay(kind, index, **info):
            edge = edges[index]
            if kind == "start":
                self.on_event("candidate_start", step=step["step"], edge=edge, index=step["order"].index(list(edge)),
                              count=n)
                return
            if kind == "epoch":
                self.on_event("epoch", step=step["step"], edge=edge, **info)
                return
            cell, pruned = removed[index]
            rec = {"edge": list(edge), "pruned": [list(p) for p in pruned], "edges_left": cell.n_edges,
                   **self._record(info["result"])}
            step["candidates"].append(rec)
            self.save()
            self._log(f"step {step['step']} candidate {len(step['candidates'])}/{n} edge {edge}: "
                      f"ppl {rec['ppl']} score {rec['score']} ({rec['seconds']:.1f}s, {rec['ended']})")
            self.on_event("candidate_done", step=step["step"], edge=edge, index=len(step["candidates"]) - 1,
                          count=n, record=rec)

        results = self.backend.train([c for c, _ in removed], seeds, self.corpus, self.embedding, cfg,
                                     self.device, group=size, on_event=relay, should_stop=should_stop)
        return all(r is not None for r in results)

    def _record(self, r) -> dict:
        d = r.to_dict()
        d["score"] = score(r.ppl, r.flops, self.cfg.nhid)
        for key in ("ppl", "val_loss", "score"):
            d[key] = _num(d[key])
        return d

    def commit(self) -> dict:
        """Remove for good the drop_k best-scoring edges of the finished step, prune, record it."""
        step = self.pending
        if step is None or len(step["candidates"]) < len(step["order"]):
            raise RuntimeError("commit() needs a step whose candidates are all evaluated; call evaluate() first")
        ranked = sorted(step["candidates"], key=lambda c: -math.inf if c["score"] is None else c["score"], reverse=True)
        cell, removed, pruned = self.cell, [], []
        for c in ranked[: self.cfg.drop_k]:
            if tuple(c["edge"]) in cell.edges:
                cell, dead = cell.remove(tuple(c["edge"]))
                removed.append(c["edge"])
                pruned += [list(p) for p in dead]
        cands = step["candidates"]
        step.update(done=True, removed=removed, pruned=pruned, cell=cell.to_dict(), edges_left=cell.n_edges,
                    ratio=round(cell.n_edges / self.cfg.full_edges, 2),
                    best_score=ranked[0]["score"], mean_score=_mean(c["score"] for c in cands),
                    best_ppl=min((c["ppl"] for c in cands if c["ppl"] is not None), default=None),
                    mean_ppl=_mean(c["ppl"] for c in cands), mean_flops=_mean(c["flops"] for c in cands),
                    diverged=sum(c["diverged"] for c in cands))
        self.state["cell"] = cell.to_dict()
        best = self.state["best"]
        if step["best_score"] is not None and (best is None or step["best_score"] > best["score"]):
            self.state["best"] = {"step": step["step"], "score": step["best_score"], "cell": cell.to_dict()}
        self.save()
        self._write_outputs(step)
        self._log(f"step {step['step']} removed {removed} pruned {pruned}: {cell.n_edges} edges left, "
                  f"best score {step['best_score']}, best ppl {step['best_ppl']}")
        self.on_event("step_done", step=step["step"], record=step)
        return step

    def step(self, should_stop=None) -> dict | None:
        """One whole shrink step; None if the search has shrunk enough or was stopped."""
        if self.shrinking_done or not self.evaluate(should_stop):
            return None
        return self.commit()

    def finish(self, should_stop=None) -> dict | None:
        """Train and validate the final cell once; record and return it (None if stopped)."""
        cell = self.cell
        self.on_event("candidate_start", step="final", edge=None, index=0, count=1)
        relay = lambda kind, index, **info: self.on_event(kind, step="final", edge=None, **info) if kind == "epoch" else None
        [r] = self.backend.train([cell], [derive_seed(self.cfg.seed, SALT_FINAL)], self.corpus, self.embedding,
                                 self.cfg, self.device, on_event=relay, should_stop=should_stop)
        if r is None:
            return None
        self.state["final"] = {"cell": cell.to_dict(), **self._record(r)}
        self.save()
        self._log(f"final cell {cell.edges} ops {list(cell.ops)}: ppl {self.state['final']['ppl']}")
        self.on_event("finished", record=self.state["final"])
        return self.state["final"]

    def run(self, should_stop=None) -> dict | None:
        """Shrink to the threshold, then train the final cell. Returns the final record (None if stopped)."""
        while not self.shrinking_done:
            if self.step(should_stop) is None:
                return None
        return self.state["final"] or self.finish(should_stop)

    # --- files
    def save(self) -> None:
        write_json_atomic(self.save_dir / "search.json", self.state)

    def _write_outputs(self, step: dict) -> None:
        from .plot import save_curves
        save_graph(Cell.from_dict(step["cell"]), self.save_dir / f"graph-{step['ratio']:.2f}")
        save_graph(Cell.from_dict(self.state["best"]["cell"] if self.state["best"] else step["cell"]),
                   self.save_dir / "graph-best")
        save_curves(self.state, self.save_dir)

    def _log(self, line: str) -> None:
        self.save_dir.mkdir(parents=True, exist_ok=True)
        with open(self.save_dir / "log.txt", "a") as f:
            f.write(line + "\n")


def write_json_atomic(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_state(save) -> dict:
    """The search record in `save`/search.json, checked enough to resume from."""
    path = Path(save) / "search.json" if Path(save).is_dir() else Path(save)
    if not path.is_file():
        raise ConfigError(f"no search to resume at {path}; give the --save folder of an earlier search")
    try:
        state = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"{path} is corrupt (not JSON); restore it or start a new search with another --save") from None
    keys = ("format", "config", "initial", "cell", "steps", "best", "final")
    if not isinstance(state, dict) or state.get("format") != FORMAT or any(k not in state for k in keys):
        raise ConfigError(f"{path} is not an autoshrink search record ({FORMAT}); give a search's --save folder")
    Cell.from_dict(state["cell"])
    return state
