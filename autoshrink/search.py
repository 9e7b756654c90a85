"""The shrink loop: AutoShrink's search, steppable, resumable and reproducible.

    search = Search(SearchConfig(...), on_event=print_event)   # or Search.resume("search-run")
    edges = search.candidates()     # the edges this step will try removing
    search.train_candidates()       # train every candidate (saved after each one)
    record = search.commit()        # remove the best edge(s) for good, prune, record the step
    search.run()                    # ... or all steps to the end, then the final cell
    search.close()                  # let another process write the folder

`Search` is the algorithm (docs/algorithm.md) trained for real: the AutoShrink strategy
(strategies/autoshrink.py, the one that replays from tables too) decides every step through the
strategies' loop (strategies/loop.py), and the search answers its asks by training them and
recording them. Its rules (score, starting cell, edge order, seeds) are core/rules.py; it leans on
three helpers, each in its own module: search_folder (SearchFolder: lock, atomic writes, resume and
branch rules; SearchView: the record as read, which `Search.open_readonly` gives to follow a search
another process writes), scheduler (where and in which groups candidates train, here or as Ray
tasks) and decisions (how an ask is answered: from the record, else trained: a step's candidates,
a --halving rung, a --retest round). Everything the search knows is `search.record`
(core/record/schema.py), written atomically to `<save>/search.json` after every training; the
strategy is rebuilt from it (Search.shrink), so a resumed search trains only what it lacks. The
training in flight is saved to `<save>/inflight.pt` after every epoch, so a killed run loses at
most one epoch. search.json records the seed rule and the precision as resolved on the device (never
"auto"), and a resume that would change either is refused: one search never mixes them. Progress
goes out through `on_event(event)`: events.CandidateStarted, CandidateEpoch, CandidateDone, StepDone
and SearchFinished. The search knows nothing of widgets.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

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
from .core.record import FORMAT, Candidate, Final, Retests, SearchRecord, Step, read_state
from .core.rules import candidate_seed, cfg_score, initial_cell
from .core.runtime import resolve_device
from .decisions import answer, record_halving
from .one_cell import train_cell
from .proxy.precision import proxy_precision
from .scheduler import Scheduler
from .search_folder import SearchFolder, SearchView, branch_state, check_resume
from .strategies.autoshrink import AutoShrink, TrainedDraw
from .strategies.base import Space
from .strategies.loop import run


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

    # --- one shrink step: AutoShrink (strategies/autoshrink.py) asks, this search trains and records
    def shrink(self) -> AutoShrink:
        """The AutoShrink strategy as this search's record holds it: its steps done taken as
        recorded (a branch's too, decided under its parent's settings)."""
        ops = Cell.from_dict(self.record.initial).ops
        strategy = AutoShrink(Space(ops), 10**9, [0], 0, cfg=self.cfg, draw=TrainedDraw(self.cfg))
        for s in self.record.steps:
            if s.done:
                strategy.restore(s.removed, s.pruned, Cell.from_dict(s.cell), s.best_score)
        return strategy

    def candidates(self) -> list[tuple[int, int]]:
        """The edges this step tries removing (opens the step if needed)."""
        if self.shrinking_done:
            return []
        if self.record.pending is None:
            strategy = self.shrink()
            strategy.ask()
            self.open_step(strategy)
        return [tuple(e) for e in self.record.pending.order]

    def open_step(self, strategy: AutoShrink) -> Step:
        """The record's open step, made from the strategy's when there is none yet."""
        if self.record.pending is None:
            order = [list(c["edge"]) for c in strategy.open["candidates"]]
            self.record.steps.append(Step(step=len(self.record.steps), done=False, edges_before=self.cell.n_edges,
                                          order=order))
            self.save()
        return self.record.pending

    def train_candidates(self, should_stop=None) -> bool:
        """Train what the step needs to decide (its candidates; with --halving their rungs, with
        --retest its leaders' retests), as the strategy asks (the first ask opens the step); True when
        all are done, False if stopped."""
        return self.drive(self.shrink(), should_stop, train=True)

    def drive(self, strategy: AutoShrink, should_stop=None, train: bool = True) -> bool:
        """Run the loop (strategies/loop.py) until the strategy has decided the open step: its asks
        answered from the record, else trained (unless not `train`). True when it has decided."""
        done = len(strategy.steps)

        def decided() -> bool:
            return len(strategy.steps) > done

        def evaluate(asks):
            return answer(self, self.open_step(strategy), asks, should_stop, train)
        run(strategy, evaluate, lambda: decided() or bool(should_stop and should_stop()),
            on_told=lambda told, pick: self.note(strategy))
        return decided()

    def note(self, strategy: AutoShrink) -> None:
        """Write into the open step what the strategy decided on the way: the --halving survivors (the
        others end "halved"), the --retest leaders."""
        step = self.record.pending
        s = strategy.open if strategy.open is not None else strategy.steps[-1]
        if step is None or s["step"] != step.step:
            return
        if s["survivors"] is not None and step.rung.survivors is None:
            record_halving(self, step, s["survivors"], s["halved"])
        if s["leaders"] is not None and step.retests is None:
            step.retests = Retests(leaders=[list(e) for e in s["leaders"]])
            self.save()

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
        """Remove for good the drop_k best-scoring edges of the finished step (the strategy decides on
        the step's record as it stands), prune, record it; returns the step's record (plain layout)."""
        strategy = self.shrink()
        if self.record.pending is None or not self.drive(strategy, train=False):
            raise RuntimeError("commit() needs a step whose candidates are all trained; call train_candidates() first")
        decided, step = strategy.steps[-1], self.record.pending
        scores = {tuple(c["edge"]): c["scores"] for c in decided["candidates"]}
        for c in step.candidates:
            runs = scores[tuple(c.edge)]
            if len(runs) > 1:
                c.mean_score, c.sd_score, c.seeds = mean(runs), float(np.std(runs, ddof=1)), len(runs)
        cell, cands = decided["left"], step.candidates
        ppls = [c.ppl for c in cands if c.ppl is not None]
        step = self.record.steps[-1] = replace(
            step, done=True, removed=[list(e) for e in decided["removed"]], pruned=[list(e) for e in decided["pruned"]],
            cell=cell.to_dict(), edges_left=cell.n_edges, ratio=round(cell.n_edges / self.cfg.full_edges, 2),
            best_score=clean(decided["best_score"]), mean_score=mean(c.score for c in cands),
            best_ppl=min(ppls, default=None), mean_ppl=mean(c.ppl for c in cands),
            mean_flops=mean(c.flops for c in cands), diverged=sum(c.diverged for c in cands))
        self.record.cell = cell.to_dict()
        self.record.best = self.record.best_step()
        self.save()
        best = self.record.best.cell if self.record.best else step.cell
        self.folder.write_graphs(cell, step.ratio, Cell.from_dict(best))
        self.folder.log(f"step {step.step} removed {step.removed} pruned {step.pruned}: {cell.n_edges} edges left, "
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


def mean(xs):
    """The mean of the numbers of `xs` that are not None (None if none)."""
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None
