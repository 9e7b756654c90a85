"""The shrink loop: AutoShrink's search, steppable, resumable and reproducible.

    search = Search(SearchConfig(...), on_event=print_event)   # or Search.resume("search-run")
    edges = search.candidates()     # the edges this step will try removing
    search.train_candidates()       # train every candidate (saved after each one)
    record = search.commit()        # remove the best edge(s) for good, prune, record the step
    search.run()                    # ... or all steps to the end, then the final cell
    search.close()                  # let another process write the folder

`Search` is the algorithm alone; it leans on three helpers, each in its own module:
search_folder.SearchFolder (the save folder: lock, atomic writes, resume and branch rules, following
it read-only), scheduler.Scheduler (where and in which groups candidates train, here or as Ray
tasks) and decisions (how a step gets the numbers it decides on: every candidate, --halving,
--retest). Everything the search knows is `search.record`, a typed record (core/record.py:
SearchRecord, Step, Candidate, ...) written atomically to `<save>/search.json` after every
candidate; the training in flight is saved to `<save>/inflight.pt` after every epoch, so a killed
run loses at most one epoch. A step's edge order comes from (seed, step); its candidates' weights
from (seed, step) under the paired seed rule (`--seed_rule step`: every candidate starts from the
same weights on the edges it keeps, so the removed edge is the only difference) or from (seed, step,
edge) under `--seed_rule candidate`: a result does not depend on evaluation order or batching.
search.json records the seed rule and the precision as resolved on the device (never "auto"), and
a resume that would change either is refused: one search never mixes them. One process writes a
save folder; `Search.open_readonly` follows a search another process writes (`update()`).
Progress goes out through `on_event(event)`: events.CandidateStarted, CandidateEpoch, CandidateDone,
StepDone and SearchFinished. The search knows nothing of widgets.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .core.cell import Cell, random_ops
from .core.config import SearchConfig
from .core.disk import clean
from .core.errors import ConfigError
from .core.events import (
    CandidateDone,
    CandidateEpoch,
    CandidateStarted,
    EpochDone,
    SearchFinished,
    StepDone,
    TrainingDone,
    TrainingStarted,
    ignore,
)
from .core.record import FORMAT, Candidate, Final, SearchRecord, Step, done_steps, read_state
from .core.runtime import SALT_OPS, SALT_ORDER, derive_seed, resolve_device
from .decisions import decisions, leaders, mean, retest_seed  # noqa: F401  (leaders, retest_seed: importable here)
from .one_cell import train_cell
from .proxy.precision import proxy_precision
from .scheduler import Scheduler
from .search_folder import SAFE_ON_RESUME, SPACE, SearchFolder, branch_state, check_resume  # noqa: F401


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


class Search:
    def __init__(self, cfg: SearchConfig, on_event=None, state: dict | None = None, readonly: bool = False):
        self.cfg = cfg.check()
        self.on_event = on_event or ignore
        self.folder = SearchFolder(cfg.save)
        self.save_dir = self.folder.path
        self.readonly = readonly
        if readonly:
            self.record = SearchRecord.from_dict(state)
            return
        self.device = resolve_device(cfg.device)
        self.cfg = self.cfg.replace(precision=proxy_precision(cfg.precision, self.device, cfg.nhid))
        if state is None and self.folder.holds_search():
            raise ConfigError(f"{self.save_dir}/search.json exists; resume it (--resume) or choose another --save")
        self.scheduler = Scheduler(self.cfg, self.device, self.folder.inflight)
        self.embedding  # noqa: B018 (a missing data folder or --emb_path is reported now, not at the first step)
        self.backend = self.scheduler.backend
        self.folder.take()
        self.record = SearchRecord.from_dict(state) if state else self._new_record()
        self.decisions = decisions(self.cfg)

    @property
    def record(self) -> SearchRecord:
        """The typed record (core/record.py): what the search changes, then saves."""
        return self._record

    @record.setter
    def record(self, record: SearchRecord) -> None:
        self._record, self._state = record, None

    @property
    def state(self) -> dict:
        """The record in its plain layout as last saved or read (what search.json holds), made once
        per save, not per read; `search.record` is the typed one."""
        if self._state is None:
            self._state = self.record.to_dict()
        return self._state

    @property
    def corpus(self):
        return self.scheduler.corpus

    @property
    def embedding(self):
        return self.scheduler.embedding

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
        search.record = search.folder.read()     # as it is now that this process is the folder's writer
        return search

    @classmethod
    def branch(cls, parent, at_step: int, save, on_event=None, **changes) -> "Search":
        """A new search in `save` that starts from the cell after step `at_step` of the search in
        `parent` (search_folder.branch_state: its steps copied, its settings but for `changes`, the
        search space kept). The parent is only read."""
        cfg, state = branch_state(parent, at_step, save, changes)
        search = cls(cfg, on_event=on_event, state=state)
        search.record.config = search.cfg.to_dict()     # as the search resolved it (its precision)
        search.save()
        return search

    @classmethod
    def open_readonly(cls, save) -> "Search":
        """The search in `save` to look at (state, history, cells) while another process writes it;
        `update()` rereads search.json when it changed. It cannot train or save."""
        state = read_state(save)
        search = cls(SearchConfig.from_dict({**state["config"], "save": str(save)}), state=state, readonly=True)
        search.refresh()       # and note when it was read, for update()
        return search

    def refresh(self) -> dict:
        """Reread search.json; returns the state."""
        self.record = self.folder.read()
        return self.state

    def update(self) -> bool:
        """Reread search.json if it changed since it was last read (a read-only search follows its
        writer this way); True when it did."""
        if not self.folder.changed():
            return False
        try:
            self.record = self.folder.read()
        except ConfigError:      # gone or unreadable for now: the last record stays
            return False
        return True

    def close(self) -> None:
        """Stop being the folder's writer (another process may then resume it)."""
        self.folder.release()

    def __enter__(self) -> "Search":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what the record says
    def cell_of(self, which="best") -> Cell:
        """The best cell (default), the final cell, or step N's cell ("step:N")."""
        return self.record.cell_of(which)

    @property
    def cell(self) -> Cell:
        return Cell.from_dict(self.record.cell)

    @property
    def history(self) -> list[dict]:
        """The finished steps in their plain layout, as last saved."""
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
        """Train the step's candidates as its decision strategies say (decisions.py); True when all
        are done, False if stopped."""
        self.candidates()
        step = self.record.pending
        return all(d.train(self, step, should_stop) for d in self.decisions)

    def untried(self, step: Step) -> list[tuple[int, int]]:
        tried = {tuple(c.edge) for c in step.candidates}
        return [tuple(e) for e in step.order if tuple(e) not in tried]

    def _seed(self, step: int, edge) -> int:
        return candidate_seed(self.cfg, step, edge)

    def train_edges(self, step: Step, edges: list, should_stop, **how) -> bool:
        """Train the candidates removing `edges` (scheduler.train, `how` its group, checkpoint and
        stop_after); each one finished is recorded. True when all finished."""
        relay = self.relay(step.step, edges, [step.order.index(list(e)) for e in edges], len(step.order),
                           on_done=lambda edge, result: self.add_candidate(step, edge, result))
        cells, seeds = [self.cell.remove(e)[0] for e in edges], [self._seed(step.step, e) for e in edges]
        results = self.scheduler.train(cells, seeds, on_event=relay, should_stop=should_stop, **how)
        return all(r is not None for r in results)

    def relay(self, step, edges: list, positions: list[int], count: int, on_done=None):
        """An on_event for a training of `edges`' candidates (events.TrainingStarted, EpochDone,
        TrainingDone, their index a place in `edges`) that tells this search's on_event
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

    def add_candidate(self, step: Step, edge, result) -> None:
        """Record a finished candidate (a train.Result), save, log and tell."""
        cell, pruned = self.cell.remove(tuple(edge))
        rec = Candidate(edge=list(edge), pruned=[list(p) for p in pruned], edges_left=cell.n_edges,
                        **self.recorded(result))
        step.candidates.append(rec)
        self.save()
        n = len(step.order)
        self.folder.log(f"step {step.step} candidate {len(step.candidates)}/{n} edge {tuple(edge)}: "
                        f"ppl {rec.ppl} score {rec.score} ({rec.seconds:.1f}s, {rec.ended})")
        self.on_event(CandidateDone(step.step, tuple(edge), len(step.candidates) - 1, n, rec.to_dict()))

    def recorded(self, r) -> dict:
        """A training Result as recorded: every non-finite number (a diverged loss) as None."""
        fields = {k: v for k, v in r.to_dict().items() if k != "test_ppl"}    # the search never reads the test text
        return clean({**fields, "score": cfg_score(self.cfg, r.ppl, r.flops)})

    def commit(self) -> dict:
        """Remove for good the drop_k best-scoring edges of the finished step, prune, record it;
        returns the step's record (plain layout)."""
        step = self.record.pending
        if step is None or len(step.candidates) < len(step.order):
            raise RuntimeError("commit() needs a step whose candidates are all trained; call train_candidates() first")
        ranked = sorted(step.candidates, key=Candidate.decision_key, reverse=True)
        cell, removed, pruned = self.cell, [], []
        for c in ranked[: self.cfg.drop_k]:
            if tuple(c.edge) in cell.edges:
                cell, dead = cell.remove(tuple(c.edge))
                removed.append(c.edge)
                pruned += [list(p) for p in dead]
        cands = step.candidates
        ppls = [c.ppl for c in cands if c.ppl is not None]
        step = self.record.steps[-1] = replace(
            step, done=True, removed=removed, pruned=pruned, cell=cell.to_dict(), edges_left=cell.n_edges,
            ratio=round(cell.n_edges / self.cfg.full_edges, 2), best_score=ranked[0].score,
            mean_score=mean(c.score for c in cands), best_ppl=min(ppls, default=None),
            mean_ppl=mean(c.ppl for c in cands), mean_flops=mean(c.flops for c in cands),
            diverged=sum(c.diverged for c in cands))
        self.record.cell = cell.to_dict()
        self.record.best = self.record.best_step()
        self.save()
        best = self.record.best.cell if self.record.best else step.cell
        self.folder.write_graphs(cell, step.ratio, Cell.from_dict(best))
        self.folder.log(f"step {step.step} removed {removed} pruned {pruned}: {cell.n_edges} edges left, "
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
                       backend=self.backend, on_event=self.relay("final", [None], [0], 1),
                       should_stop=should_stop, checkpoint=self.folder.inflight)
        if r is None:
            return None
        self.record.final = Final(cell=cell.to_dict(), **self.recorded(r))
        self.save()
        self.folder.log(f"final cell {cell.edges} ops {list(cell.ops)}: ppl {self.record.final.ppl}")
        self.on_event(SearchFinished(self.record.final.to_dict()))
        return self.record.final.to_dict()

    def run(self, should_stop=None) -> dict | None:
        """Shrink to the threshold, then train the final cell. Returns the final record (None if stopped)."""
        while not self.shrinking_done:
            if self.step(should_stop) is None:
                return None
        return self.record.final.to_dict() if self.record.final else self.finish(should_stop)

    def save(self) -> None:
        if self.readonly:
            raise ConfigError(f"{self.save_dir} is open read-only; resume it (Search.resume) to continue it")
        self._state = self.record.to_dict()
        self.folder.write(self._state)
