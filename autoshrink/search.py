"""The shrink loop: AutoShrink's search, steppable, resumable and reproducible.

    search = Search(SearchConfig(...), on_event=print_event)   # or Search.resume("search-run")
    edges = search.candidates()     # the edges this step will try removing
    search.train_candidates()       # train every candidate (saved after each one)
    record = search.commit()        # remove the best edge(s) for good, prune, record the step
    search.run()                    # ... or all steps to the end, then the final cell
    search.close()                  # let another process write the folder

Everything the search knows is `search.record`, a typed record (core/record.py: SearchRecord,
Step, Candidate, ...) that it changes as it goes and writes atomically, in its plain layout
(`search.state`, README.md), to `<save>/search.json` after every candidate; the training in
flight is saved to `<save>/inflight.pt` after every epoch, so a killed run loses at most one epoch. A step's edge order comes from (seed, step); its candidates' weights
from (seed, step) under the paired seed rule (`--seed_rule step`: every candidate starts from the
same weights on the edges it keeps, so the removed edge is the only difference) or from (seed, step,
edge) under `--seed_rule candidate`: a result does not depend on evaluation order or batching.
search.json records the seed rule and the precision as resolved on the device (never "auto"), and
a resume that would change either is refused: one search never mixes them. One process writes a
save folder (record.WriterLock); `Search.open_readonly` follows a search another process writes.
Progress goes out through `on_event(event)`: events.CandidateStarted, CandidateEpoch, CandidateDone,
StepDone and SearchFinished. The search knows nothing of widgets.
"""
from __future__ import annotations

import atexit
import copy
import math
import os
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .backend import make_backend
from .core.cell import Cell, random_ops, save_graph
from .core.config import SearchConfig
from .core.data import load_corpus
from .core.disk import WriterLock, clean
from .core.errors import ConfigError
from .core.events import (CandidateDone, CandidateEpoch, CandidateStarted, EpochDone, SearchFinished, StepDone,
                          TrainingDone, TrainingStarted, ignore)
from .core.record import (FORMAT, Best, Candidate, Final, Retest, Retests, Rung, SearchRecord, Step, best_of, cell_of,
                          decision_score, done_steps, read_state, record_path, write_state)
from .core.runtime import derive_seed, resolve_device
from .core.stats import DIVERGED_LOSS
from .one_cell import start_embedding, train_cell
from .proxy.checkpoint import Checkpoint, tag
from .proxy.model import count_params
from .proxy.precision import proxy_precision
from .proxy.train import Result

SALT_OPS, SALT_ORDER, SALT_RETEST = 0x0B5, 0x5F, 0x2E7
MAX_LEADERS = 3     # candidates a close step retrains with --retest extra seeds, at most
HALVING_KEEP = 0.5  # share of a step's candidates that trains on past the --halving rung
SPACE = ("nodes", "ops")   # settings that define the search space: a branch keeps its parent's
# Candidates per batched model under --parallel 0 on a CPU: two trained a whole Step 1.17-1.23x faster
# than one at a time on two cores in fp32 (1.02x in bf16), and more were no faster (README "Speed").
CPU_GROUP = 2
# Settings a resumed search may change: where and how candidates train, not their numbers.
SAFE_ON_RESUME = ("save", "device", "data", "parallel", "fuse", "graphs", "backend", "ray_address", "gpus_per_task")


def score(ppl, flops: int, nhid: int, target_ppl: float = 200.0, ppl_weight: float = 0.25,
          cost_weight: float = 1.0) -> float:
    """AutoShrink's score: (target_ppl - ppl) * ppl_weight - cost_weight * (log10(flops) - 6), with the
    published 200, 0.25 and 1 as defaults; -inf when diverged (ppl None, inf or NaN). A cell left
    with no edge is costed as one edge (its W0 projection still runs)."""
    if ppl is None or not math.isfinite(ppl):
        return -math.inf
    return (target_ppl - ppl) * ppl_weight - cost_weight * (math.log10(max(flops, nhid * nhid)) - 6)


def cfg_score(cfg: SearchConfig, ppl, flops: int) -> float:
    return score(ppl, flops, cfg.nhid, cfg.target_ppl, cfg.ppl_weight, cfg.cost_weight)


def initial_cell(cfg: SearchConfig) -> Cell:
    """The fully connected cell a search with these settings starts from: --ops if given, else ops
    drawn from the seed."""
    if cfg.ops:
        return Cell.full([o.strip() for o in cfg.ops.split(",")])
    return Cell.full(random_ops(cfg.nodes, np.random.default_rng(derive_seed(cfg.seed, SALT_OPS))))


def candidate_seed(cfg: SearchConfig, step: int, edge) -> int:
    """The weight seed of the candidate that removes `edge` at `step`, by cfg.seed_rule."""
    if cfg.seed_rule == "step":
        return derive_seed(cfg.seed, step)
    return derive_seed(cfg.seed, step, *edge)


def retest_seed(cfg: SearchConfig, step: int, edge, round_: int) -> int:
    """The weight seed of a leader's extra training `round_` (1, 2, ...): shared by a step's leaders
    under the paired rule, the leader's own otherwise."""
    if cfg.seed_rule == "step":
        return derive_seed(cfg.seed, step, SALT_RETEST, round_)
    return derive_seed(cfg.seed, step, *edge, SALT_RETEST, round_)


def leaders(candidates: list[dict], margin: float) -> list[list[int]]:
    """The edges of the candidates within `margin` score points of the best (at most MAX_LEADERS),
    best first; none unless two or more are that close."""
    ranked = sorted((c for c in candidates if c["score"] is not None and c.get("ended") != "halved"),
                    key=lambda c: -c["score"])
    close = [c["edge"] for c in ranked if c["score"] >= ranked[0]["score"] - margin][:MAX_LEADERS]
    return close if len(close) > 1 else []


def halved_result(saved: dict, cell: Cell, cfg: SearchConfig) -> Result:
    """The Result of a candidate stopped at the halving rung, from its paused training (checkpoint)."""
    t, (_, V, E) = saved["tracker"][0], saved["weights"]["encoder"].shape
    best = t["best"]
    return Result(ppl=math.exp(best) if best < DIVERGED_LOSS else math.inf, val_loss=best,
                  flops=cell.prune().flops(cfg.nhid), params=count_params(cell.prune().n_edges, V, E, cfg.nhid),
                  seconds=saved["spent"][0], epochs=t["epochs"], diverged=False, ended="halved", curve=t["curve"])


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def check_resume(saved: dict, overrides: dict) -> dict:
    """The overrides a resume may honour; a differing unsafe setting is refused with one line."""
    saved_cfg = SearchConfig.from_dict(saved).to_dict()
    for name, value in overrides.items():
        if name in SAFE_ON_RESUME or (name == "precision" and value == "auto"):
            continue
        changed = SearchConfig.from_dict({**saved, name: value}).check().to_dict()   # --nhid: must equal emsize
        if changed != saved_cfg:
            raise ConfigError(f"--{name} {value} differs from the saved search's {saved_cfg[name]}; resume with the "
                              f"saved value (drop --{name}) or start a new search with another --save")
    return {k: v for k, v in overrides.items() if k in SAFE_ON_RESUME}


class Search:
    def __init__(self, cfg: SearchConfig, on_event=None, state: dict | None = None, readonly: bool = False):
        self.cfg = cfg.check()
        self.on_event = on_event or ignore
        self.save_dir = Path(cfg.save)
        self.readonly = readonly
        self._lock = WriterLock(self.save_dir)
        self._inflight = Checkpoint(self.save_dir / "inflight.pt")
        if readonly:
            self.record = SearchRecord.from_dict(state)
            return
        self.device = resolve_device(cfg.device)
        self.cfg = self.cfg.replace(precision=proxy_precision(cfg.precision, self.device, cfg.nhid))
        if state is None and record_path(self.save_dir).exists():
            raise ConfigError(f"{self.save_dir}/search.json exists; resume it (--resume) or choose another --save")
        self.embedding  # noqa: B018 (a missing data folder or --emb_path is reported now, not at the first step)
        self.backend = make_backend(cfg)
        self._lock.acquire()
        atexit.register(self._lock.release)
        self.record = SearchRecord.from_dict(state) if state else self._new_record()

    @property
    def state(self) -> dict:
        """The record in its plain layout (what search.json holds): what views and plots read."""
        return self.record.to_dict()

    @cached_property
    def corpus(self):
        return load_corpus(self.cfg.data)

    @cached_property
    def embedding(self):
        return start_embedding(self.cfg, self.corpus.words)

    def _new_record(self) -> SearchRecord:
        full = initial_cell(self.cfg).to_dict()
        return SearchRecord(format=FORMAT, config=self.cfg.to_dict(), initial=full, cell=full)

    @classmethod
    def resume(cls, save, on_event=None, **overrides) -> "Search":
        """Continue the search saved in `save`. `overrides` of the run's place and machine (device,
        data, parallel, ...: SAFE_ON_RESUME) replace the saved ones; any other setting must equal
        the saved value, else ConfigError names it."""
        state = read_state(save)
        safe = check_resume(state["config"], overrides)
        cfg = SearchConfig.from_dict({**state["config"], **safe, "save": str(save)})
        search = cls(cfg, on_event=on_event, state=state)
        search.record = SearchRecord.read(save)     # as it is now that this process is the folder's writer
        return search

    @classmethod
    def branch(cls, parent, at_step: int, save, on_event=None, **changes) -> "Search":
        """A new search in `save` that starts from the cell after step `at_step` of the search in
        `parent`: that search's record of steps 0..at_step is copied (each copied step marked
        "from_parent"), its settings apply but for `changes` (not SPACE: the search space stays),
        and search.json records the parent (folder, relative to the new record, and step). The
        parent is only read."""
        state = read_state(parent)
        done = done_steps(state)
        if not 0 <= at_step < len(done):
            raise ConfigError(f"--at_step {at_step}: {parent} has finished steps 0 to {len(done) - 1}; "
                              f"branch from one of them" if done else f"{parent} has no finished step to branch from")
        ops = ",".join(Cell.from_dict(state["initial"]).ops)
        space = {"nodes": state["config"]["nodes"], "ops": ops}
        for name in SPACE:
            if name in changes and changes[name] not in (None, space[name]):
                raise ConfigError(f"--{name} defines the search space, which a branch keeps ({space[name]}); "
                                  f"drop --{name}")
        cfg = SearchConfig.from_dict({**state["config"], **changes, "ops": ops, "save": str(save)}).check()
        if record_path(save).exists():
            raise ConfigError(f"{save}/search.json exists; branch into another --save")
        steps = [{**copy.deepcopy(s), "from_parent": True} for s in done[: at_step + 1]]
        rel = os.path.relpath(os.path.abspath(parent), os.path.abspath(save))
        new = {"format": FORMAT, "config": cfg.to_dict(), "initial": state["initial"], "cell": steps[-1]["cell"],
               "steps": steps, "best": None, "final": None, "parent": {"save": rel, "step": done[at_step]["step"]}}
        new["best"] = best_of(new)
        search = cls(cfg, on_event=on_event, state=new)
        search.record.config = search.cfg.to_dict()     # as the search resolved it (its precision)
        search.save()
        return search

    @classmethod
    def open_readonly(cls, save) -> "Search":
        """The search in `save` to look at (state, history, cells) while another process writes it;
        `refresh()` rereads search.json. It cannot train or save."""
        state = read_state(save)
        return cls(SearchConfig.from_dict({**state["config"], "save": str(save)}), state=state, readonly=True)

    def refresh(self) -> dict:
        """Reread search.json (a read-only search follows its writer this way); returns the state."""
        self.record = SearchRecord.read(self.save_dir)
        return self.state

    def close(self) -> None:
        """Stop being the folder's writer (another process may then resume it)."""
        self._lock.release()

    def __enter__(self) -> "Search":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cell_of(self, which="best") -> Cell:
        """The best cell (default), the final cell, or step N's cell ("step:N")."""
        return cell_of(self.state, which)

    # --- what the state says
    @property
    def cell(self) -> Cell:
        return Cell.from_dict(self.record.cell)

    @property
    def history(self) -> list[dict]:
        return done_steps(self.state)

    @property
    def pending(self) -> dict | None:
        """The step in progress in its plain layout (None between steps); search.record.pending is the typed one."""
        step = self.record.pending
        return step.to_dict() if step else None

    @property
    def shrinking_done(self) -> bool:
        return self.cell.n_edges <= self.cfg.threshold or self.cell.n_edges == 0

    @property
    def finished(self) -> bool:
        return self.record.final is not None

    # --- one shrink step
    def candidates(self) -> list[tuple[int, int]]:
        """The edges this step tries removing (opens the step if needed)."""
        if self.shrinking_done:
            return []
        steps = self.record.steps
        if self.record.pending is None:
            edges = self.cell.edges
            rng = np.random.default_rng(derive_seed(self.cfg.seed, len(steps), SALT_ORDER))
            order = [list(edges[i]) for i in rng.permutation(len(edges))[: self.cfg.max_steps_to_action]]
            steps.append(Step(step=len(steps), done=False, edges_before=len(edges), order=order))
            self.save()
        return [tuple(e) for e in self.record.pending.order]

    def train_candidates(self, should_stop=None) -> bool:
        """Train the step's untried candidates; True when all are done, False if stopped."""
        edges = self.candidates()
        step = self.record.pending
        tried = {tuple(c.edge) for c in step.candidates}
        todo = [e for e in edges if e not in tried]
        if self.cfg.halving:
            return self._halving(step, todo, should_stop) and self._retest(step, should_stop)
        if self.cfg.backend == "ray":    # the groups run at once, each a Ray task (no in-flight checkpoint)
            groups = [(todo, self._group_size(todo))]
        else:
            groups = [(group, len(group)) for group in self._groups(step, todo)]
        for group, size in groups:
            if not self._train_group(step, group, size, should_stop):
                return False
        return self._retest(step, should_stop)

    def _retest(self, step: Step, should_stop) -> bool:
        """With --retest K: when two or more candidates lie within --retest_margin of the best, train
        each of them K more times (other seeds) and give them their mean and sd of score; True when done."""
        if not self.cfg.retest:
            return True
        if step.retests is None:
            step.retests = Retests(leaders=leaders([c.to_dict() for c in step.candidates], self.cfg.retest_margin))
            self.save()
        rt = step.retests
        done = {(tuple(r.edge), r.round) for r in rt.runs}
        todo = [(tuple(e), r) for r in range(1, self.cfg.retest + 1) for e in rt.leaders if (tuple(e), r) not in done]
        for edge, r in todo:
            if not self._retest_one(step, edge, r, len(rt.runs), len(rt.leaders) * self.cfg.retest, should_stop):
                return False
        for c in step.candidates:
            runs = [c.score] + [x.score for x in rt.runs if x.edge == c.edge]
            if len(runs) > 1:
                scores = [-math.inf if x is None else x for x in runs]     # a diverged run pulls the mean to -inf
                c.mean_score, c.sd_score, c.seeds = _mean(scores), float(np.std(scores, ddof=1)), len(runs)
        self.save()
        return True

    def _retest_one(self, step: Step, edge, round_: int, position: int, count: int, should_stop) -> bool:
        cell = self.cell.remove(edge)[0]
        seed = retest_seed(self.cfg, step.step, edge, round_)
        [r] = self.backend.train([cell], [seed], self.corpus, self.embedding, self.cfg, self.device, group=1,
                                 on_event=self._relay(step.step, [edge], [position], count),
                                 should_stop=should_stop, checkpoint=self._inflight)
        if r is None:
            return False
        rec = Retest(edge=list(edge), round=round_, seed=seed, **self._record(r))
        step.retests.runs.append(rec)
        self.save()
        self._log(f"step {step.step} retest {round_} of edge {edge}: ppl {rec.ppl} score {rec.score}")
        self.on_event(CandidateDone(step.step, edge, position, count, rec.to_dict()))
        return True

    def _seed(self, step: int, edge) -> int:
        return candidate_seed(self.cfg, step, edge)

    def _tag(self, step: int, edge) -> str:
        return tag(self.cell.remove(tuple(edge))[0], self._seed(step, edge))

    def _groups(self, step: Step, todo: list) -> list[list]:
        """Candidates trained together: those of a training in flight (inflight.pt) first, then
        --parallel at a time (0: the whole step on a GPU, CPU_GROUP at a time on a CPU, one a Ray task)."""
        saved = set(self._inflight.tags())
        first = [e for e in todo if self._tag(step.step, e) in saved]
        rest = [e for e in todo if e not in first]
        size = self._group_size(rest)
        return ([first] if first else []) + [rest[i:i + size] for i in range(0, len(rest), size)]

    def _group_size(self, todo: list) -> int:
        if self.cfg.parallel:
            return self.cfg.parallel
        if self.device.type == "cuda":
            return max(len(todo), 1)
        return 1 if self.cfg.backend == "ray" else CPU_GROUP     # Ray's tasks are its parallelism

    def _train_group(self, step: Step, edges: list, size: int, should_stop, checkpoint=None, stop_after=None) -> bool:
        """Train `edges`' candidates through the backend, `size` of them to a batched model (with
        `stop_after`, only that many epochs, paused in `checkpoint`)."""
        cfg = self.cfg
        removed = [self.cell.remove(e) for e in edges]
        seeds = [self._seed(step.step, e) for e in edges]
        relay = self._relay(step.step, edges, [step.order.index(list(e)) for e in edges], len(step.order),
                            on_done=lambda edge, result: self._add_candidate(step, edge, result))
        results = self.backend.train([c for c, _ in removed], seeds, self.corpus, self.embedding, cfg, self.device,
                                     group=size, on_event=relay, should_stop=should_stop,
                                     checkpoint=checkpoint or self._inflight, **({"stop_after": stop_after} if stop_after else {}))
        return all(r is not None for r in results)

    def _relay(self, step, edges: list, positions: list[int], count: int, on_done=None):
        """An on_event for a backend's training of `edges`' candidates (events.TrainingStarted,
        EpochDone, TrainingDone, their index a place in `edges`) that tells this search's on_event
        CandidateStarted and CandidateEpoch, and hands each result to on_done(edge, result)."""
        def relay(event) -> None:
            edge = edges[event.index]
            if isinstance(event, TrainingStarted):
                self.on_event(CandidateStarted(step, edge, positions[event.index], count))
            elif isinstance(event, EpochDone):
                self.on_event(CandidateEpoch(step, edge, event.epoch, event.epochs, event.train_loss, event.val_loss))
            elif isinstance(event, TrainingDone) and on_done is not None:
                on_done(edge, event.result)
        return relay

    def _add_candidate(self, step: Step, edge, result) -> None:
        """Record a finished candidate (a train.Result), save, log and tell."""
        cell, pruned = self.cell.remove(tuple(edge))
        rec = Candidate(edge=list(edge), pruned=[list(p) for p in pruned], edges_left=cell.n_edges,
                        **self._record(result))
        step.candidates.append(rec)
        self.save()
        n = len(step.order)
        self._log(f"step {step.step} candidate {len(step.candidates)}/{n} edge {tuple(edge)}: "
                  f"ppl {rec.ppl} score {rec.score} ({rec.seconds:.1f}s, {rec.ended})")
        self.on_event(CandidateDone(step.step, tuple(edge), len(step.candidates) - 1, n, rec.to_dict()))

    # --- successive halving inside a step (--halving E)
    def _rung_file(self, step: Step, edge) -> Checkpoint:
        return Checkpoint(self.save_dir / f"rung-{step.step}-{edge[0]}-{edge[1]}.pt")

    def _halving(self, step: Step, todo: list, should_stop) -> bool:
        """Every candidate trains --halving epochs; the better half (by validation loss then) trains on
        to --epochs, the others stop and are recorded as halved (never as diverged)."""
        if step.rung is None:
            step.rung = Rung(epochs=self.cfg.halving, loss={})
        rung = step.rung
        for edge in todo:
            key = f"{edge[0]}-{edge[1]}"
            if key in rung.loss:
                continue
            ck = self._rung_file(step, edge)
            self._train_group(step, [edge], 1, should_stop, checkpoint=ck, stop_after=self.cfg.halving)
            if should_stop and should_stop():
                return False
            saved = ck.load()
            rung.loss[key] = saved["tracker"][0]["best"] if saved else None     # None: it ended before the rung
            self.save()
        if rung.survivors is None:
            self._halve(step, rung)
        tried = {tuple(c.edge) for c in step.candidates}
        for edge in [tuple(e) for e in rung.survivors if tuple(e) not in tried]:
            if not self._train_group(step, [edge], 1, should_stop, checkpoint=self._rung_file(step, edge)):
                return False
        return True

    def _halve(self, step: Step, rung: Rung) -> None:
        """Keep the better half of the step's candidates at the rung; record the others as halved."""
        waiting = sorted((tuple(e) for e in step.order if rung.loss.get(f"{e[0]}-{e[1]}") is not None),
                         key=lambda e: rung.loss[f"{e[0]}-{e[1]}"])
        keep = max(1, math.ceil(len(step.order) * HALVING_KEEP) - (len(step.order) - len(waiting)))
        rung.survivors = [list(e) for e in waiting[:keep]]
        for edge in waiting[keep:]:
            ck = self._rung_file(step, edge)
            self._add_candidate(step, edge, halved_result(ck.load(), self.cell.remove(edge)[0], self.cfg))
            ck.clear()

    def _record(self, r) -> dict:
        """A training Result as recorded: every non-finite number (a diverged loss) as None."""
        fields = {k: v for k, v in r.to_dict().items() if k != "test_ppl"}    # the search never reads the test text
        return clean({**fields, "score": cfg_score(self.cfg, r.ppl, r.flops)})

    def commit(self) -> dict:
        """Remove for good the drop_k best-scoring edges of the finished step, prune, record it;
        returns the step's record (plain layout)."""
        step = self.record.pending
        if step is None or len(step.candidates) < len(step.order):
            raise RuntimeError("commit() needs a step whose candidates are all trained; call train_candidates() first")
        ranked = sorted(step.candidates, key=lambda c: decision_score(c.to_dict()), reverse=True)
        cell, removed, pruned = self.cell, [], []
        for c in ranked[: self.cfg.drop_k]:
            if tuple(c.edge) in cell.edges:
                cell, dead = cell.remove(tuple(c.edge))
                removed.append(c.edge)
                pruned += [list(p) for p in dead]
        cands = step.candidates
        step = self.record.steps[-1] = replace(
            step, done=True, removed=removed, pruned=pruned, cell=cell.to_dict(), edges_left=cell.n_edges,
            ratio=round(cell.n_edges / self.cfg.full_edges, 2), best_score=ranked[0].score,
            mean_score=_mean(c.score for c in cands), best_ppl=min((c.ppl for c in cands if c.ppl is not None), default=None),
            mean_ppl=_mean(c.ppl for c in cands), mean_flops=_mean(c.flops for c in cands),
            diverged=sum(c.diverged for c in cands))
        self.record.cell = cell.to_dict()
        best = best_of(self.state)
        self.record.best = Best.from_dict(best) if best else None
        self.save()
        self._write_outputs(step)
        self._log(f"step {step.step} removed {removed} pruned {pruned}: {cell.n_edges} edges left, "
                  f"best score {step.best_score}, best ppl {step.best_ppl}")
        self.on_event(StepDone(step.step, step.to_dict()))
        return step.to_dict()

    def step(self, should_stop=None) -> dict | None:
        """One whole shrink step; None if the search has shrunk enough or was stopped."""
        if self.shrinking_done or not self.train_candidates(should_stop):
            return None
        return self.commit()

    def finish(self, should_stop=None) -> dict | None:
        """Train and validate the final cell once; record and return it (None if stopped)."""
        cell = self.cell
        r = train_cell(cell, self.cfg, corpus=self.corpus, embedding=self.embedding, device=self.device,
                       backend=self.backend, on_event=self._relay("final", [None], [0], 1),
                       should_stop=should_stop, checkpoint=self._inflight)
        if r is None:
            return None
        self.record.final = Final(cell=cell.to_dict(), **self._record(r))
        self.save()
        self._log(f"final cell {cell.edges} ops {list(cell.ops)}: ppl {self.record.final.ppl}")
        self.on_event(SearchFinished(self.record.final.to_dict()))
        return self.record.final.to_dict()

    def run(self, should_stop=None) -> dict | None:
        """Shrink to the threshold, then train the final cell. Returns the final record (None if stopped)."""
        while not self.shrinking_done:
            if self.step(should_stop) is None:
                return None
        return self.record.final.to_dict() if self.record.final else self.finish(should_stop)

    # --- files
    def save(self) -> None:
        if self.readonly:
            raise ConfigError(f"{self.save_dir} is open read-only; resume it (Search.resume) to continue it")
        write_state(self.save_dir, self.state)

    def _write_outputs(self, step: Step) -> None:
        save_graph(Cell.from_dict(step.cell), self.save_dir / f"graph-{step.ratio:.2f}")
        save_graph(Cell.from_dict(self.record.best.cell if self.record.best else step.cell),
                   self.save_dir / "graph-best")

    def _log(self, line: str) -> None:
        self.save_dir.mkdir(parents=True, exist_ok=True)
        with open(self.save_dir / "log.txt", "a") as f:
            f.write(line + "\n")


