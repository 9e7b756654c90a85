"""The shrink loop: AutoShrink's search, steppable, resumable and reproducible.

    search = Search(SearchConfig(...), on_event=print_event)   # or Search.resume("search-run")
    edges = search.candidates()     # the edges this step will try removing
    search.train_candidates()       # train every candidate (saved after each one)
    record = search.commit()        # remove the best edge(s) for good, prune, record the step
    search.run()                    # ... or all steps to the end, then the final cell
    search.close()                  # let another process write the folder

`Search` is the algorithm alone (docs/algorithm.md). Its rules (score, starting cell, edge order,
candidate seeds) are core/rules.py; it leans on three helpers, each in its own module:
search_folder (SearchFolder: lock, atomic writes, resume and branch rules; SearchView: the record as
read, which `Search.open_readonly` gives to follow a search another process writes), scheduler
(where and in which groups candidates train, here or as Ray tasks) and decisions (how a step gets the
numbers it decides on: every candidate, --halving, --retest). Everything the search knows is
`search.record` (core/record/schema.py), written atomically to `<save>/search.json` after every candidate;
the training in flight is saved to `<save>/inflight.pt` after every epoch, so a killed run loses at
most one epoch. search.json records the seed rule and the precision as resolved on the device (never
"auto"), and a resume that would change either is refused: one search never mixes them. Progress
goes out through `on_event(event)`: events.CandidateStarted, CandidateEpoch, CandidateDone, StepDone
and SearchFinished. The search knows nothing of widgets.
"""
from __future__ import annotations

from dataclasses import replace

from .core.cell import Cell
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
from .core.record import FORMAT, Candidate, Final, SearchRecord, Step, read_state
from .core.rules import candidate_seed, cfg_score, drop, initial_cell, tried_edges
from .core.runtime import resolve_device
from .decisions import decisions, mean
from .one_cell import train_cell
from .proxy.precision import proxy_precision
from .scheduler import Scheduler
from .search_folder import SearchFolder, SearchView, branch_state, check_resume


class Search(SearchView):
    """AutoShrink's shrink loop over a search's record; the one process that writes its folder."""

    readonly = False

    def __init__(self, cfg: SearchConfig, on_event=None, state: dict | None = None):
        cfg = cfg.check()
        device = resolve_device(cfg.device)
        cfg = cfg.replace(precision=proxy_precision(cfg.precision, device, cfg.nhid))
        folder = SearchFolder(cfg.save)
        if state is None and folder.holds_search():
            raise ConfigError(f"{folder.path}/search.json exists; resume it (--resume) or choose another --save")
        self.on_event, self.device = on_event or ignore, device
        self.scheduler = Scheduler(cfg, device, folder.inflight)
        self.scheduler.embedding  # noqa: B018 (a missing data or --emb_path is reported now, not at the first step)
        folder.take()
        full = initial_cell(cfg).to_dict()
        record = SearchRecord.from_dict(state) if state else SearchRecord(
            format=FORMAT, config=cfg.to_dict(), initial=full, cell=full)
        super().__init__(cfg, folder, record)
        self.decisions = decisions(cfg)

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

    @staticmethod
    def open_readonly(save) -> SearchView:
        """The search in `save` to look at while another process writes it (search_folder.SearchView)."""
        return SearchView.open(save)

    def close(self) -> None:
        """Stop being the folder's writer (another process may then resume it)."""
        self.folder.release()

    # --- one shrink step
    def candidates(self) -> list[tuple[int, int]]:
        """The edges this step tries removing (opens the step if needed)."""
        if self.shrinking_done:
            return []
        steps = self.record.steps
        if self.record.pending is None:
            edges = self.cell.edges
            order = [list(e) for e in tried_edges(self.cfg, len(steps), edges)]
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

    def train_edges(self, step: Step, edges: list, should_stop, **how) -> bool:
        """Train the candidates removing `edges` (scheduler.train, `how` its group, checkpoint and
        stop_after); each one finished is recorded. True when all finished."""
        relay = self.relay(step.step, edges, [step.order.index(list(e)) for e in edges], len(step.order),
                           on_done=lambda edge, result: self.add_candidate(step, edge, result))
        cells, seeds = [self.cell.remove(e)[0] for e in edges], [candidate_seed(self.cfg, step.step, e) for e in edges]
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
        self.on_event(CandidateDone(step.step, tuple(edge), len(step.candidates), n, rec.to_dict()))

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
        cell, removed, pruned = drop(self.cell, [c.edge for c in ranked], self.cfg.drop_k)
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
        sched = self.scheduler
        r = train_cell(cell, self.cfg, corpus=sched.corpus, embedding=sched.embedding, device=self.device,
                       backend=sched.backend, on_event=self.relay("final", [None], [0], 1),
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
        self._state = self.record.to_dict()
        self.folder.write(self._state)
