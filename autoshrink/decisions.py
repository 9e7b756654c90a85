"""How a shrink step gets the numbers it decides on: decision strategies, each behind one method.

    decision.train(search, step, should_stop) -> bool   # True when its part of the step is done

A step runs its strategies in turn (search.Search.train_candidates), stopping at the first that
was stopped: `EveryCandidate` (each untried candidate trains to --epochs) or `Halving` (--halving E:
every candidate trains E epochs, the better half trains on), then `Retest` (--retest K: a close
step's leaders train K more times under other seeds). A strategy trains through the search
(`search.train_edges`, `search.scheduler`) and records what it learns in the step (its rung, its
retests), which the search then saves; a paused training it reads through train.paused_result.
"""
from __future__ import annotations

import math

import numpy as np

from .core.events import CandidateDone
from .core.record import Retest as RetestRecord
from .core.record import Retests, Rung, Step
from .core.rules import leaders
from .core.runtime import SALT_RETEST, derive_seed
from .proxy.train import paused_result

HALVING_KEEP = 0.5  # share of a step's candidates that trains on past the --halving rung


def decisions(cfg) -> list:
    """The strategies a search with these settings runs at each step, in order."""
    first = Halving() if cfg.halving else EveryCandidate()
    return [first, Retest()] if cfg.retest else [first]


def retest_seed(cfg, step: int, edge, round_: int) -> int:
    """The weight seed of a leader's extra training `round_` (1, 2, ...): shared by a step's leaders
    under the paired rule, the leader's own otherwise."""
    if cfg.seed_rule == "step":
        return derive_seed(cfg.seed, step, SALT_RETEST, round_)
    return derive_seed(cfg.seed, step, *edge, SALT_RETEST, round_)


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


class EveryCandidate:
    """Each candidate of the step not yet tried trains to --epochs."""

    def train(self, search, step: Step, should_stop) -> bool:
        return search.train_edges(step, search.untried(step), should_stop)


class Halving:
    """Every candidate trains --halving epochs; the better half (by validation loss then) trains on
    to --epochs, the others stop and are recorded as halved (never as diverged)."""

    def train(self, search, step: Step, should_stop) -> bool:
        rung = step.rung = step.rung or Rung(epochs=search.cfg.halving, loss={})
        for edge in search.untried(step):
            key = f"{edge[0]}-{edge[1]}"
            if key in rung.loss:
                continue
            ck = search.folder.rung(step.step, edge)
            search.train_edges(step, [edge], should_stop, group=1, checkpoint=ck, stop_after=search.cfg.halving)
            if should_stop and should_stop():
                return False
            paused = paused_result(ck, search.cell.remove(edge)[0], search.cfg)
            rung.loss[key] = paused.val_loss if paused else None     # None: it ended before the rung
            search.save()
        if rung.survivors is None:
            self.halve(search, step, rung)
        tried = {tuple(c.edge) for c in step.candidates}
        for edge in [tuple(e) for e in rung.survivors if tuple(e) not in tried]:
            ck = search.folder.rung(step.step, edge)
            if not search.train_edges(step, [edge], should_stop, group=1, checkpoint=ck):
                return False
        return True

    @staticmethod
    def halve(search, step: Step, rung: Rung) -> None:
        """Keep the better half of the step's candidates at the rung; record the others as halved."""
        waiting = sorted((tuple(e) for e in step.order if rung.loss.get(f"{e[0]}-{e[1]}") is not None),
                         key=lambda e: rung.loss[f"{e[0]}-{e[1]}"])
        keep = max(1, math.ceil(len(step.order) * HALVING_KEEP) - (len(step.order) - len(waiting)))
        rung.survivors = [list(e) for e in waiting[:keep]]
        for edge in waiting[keep:]:
            ck = search.folder.rung(step.step, edge)
            search.add_candidate(step, edge, paused_result(ck, search.cell.remove(edge)[0], search.cfg, "halved"))
            ck.clear()


class Retest:
    """With --retest K: when two or more candidates lie within --retest_margin of the best, each of
    them trains K more times (other seeds) and gets its mean and sd of score."""

    def train(self, search, step: Step, should_stop) -> bool:
        cfg = search.cfg
        if step.retests is None:
            close = leaders([c.to_dict() for c in step.candidates], cfg.retest_margin)
            step.retests = Retests(leaders=[c["edge"] for c in close])
            search.save()
        rt = step.retests
        done = {(tuple(r.edge), r.round) for r in rt.runs}
        todo = [(tuple(e), r) for r in range(1, cfg.retest + 1) for e in rt.leaders if (tuple(e), r) not in done]
        for edge, r in todo:
            if not self.retrain(search, step, edge, r, len(rt.runs), len(rt.leaders) * cfg.retest, should_stop):
                return False
        for c in step.candidates:
            runs = [c.score] + [x.score for x in rt.runs if x.edge == c.edge]
            if len(runs) > 1:
                scores = [-math.inf if x is None else x for x in runs]     # a diverged run pulls the mean to -inf
                c.mean_score, c.sd_score, c.seeds = mean(scores), float(np.std(scores, ddof=1)), len(runs)
        search.save()
        return True

    @staticmethod
    def retrain(search, step: Step, edge, round_: int, position: int, count: int, should_stop) -> bool:
        seed = retest_seed(search.cfg, step.step, edge, round_)
        [r] = search.scheduler.train([search.cell.remove(edge)[0]], [seed], group=1, should_stop=should_stop,
                                     on_event=search.relay(step.step, [edge], [position], count))
        if r is None:
            return False
        rec = RetestRecord(edge=list(edge), round=round_, seed=seed, **search.recorded(r))
        step.retests.runs.append(rec)
        search.save()
        search.folder.log(f"step {step.step} retest {round_} of edge {edge}: ppl {rec.ppl} score {rec.score}")
        search.on_event(CandidateDone(step.step, edge, position + 1, count, rec.to_dict()))
        return True
