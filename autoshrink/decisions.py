"""How a trained search answers what AutoShrink asks (strategies/autoshrink.py): each ask is trained
through the search's Scheduler and recorded in the open step, or answered from that record when it
holds it already (a resumed search tells a new strategy its own record again).

    told = answer(search, step, asks, should_stop)    # one Told per ask, in order; None if stopped
    told = answer(search, step, asks, train=False)    # from the record only; None if it lacks one

A step's first trainings train together (the Scheduler's groups). With --halving, each candidate
trains alone to the rung and waits there in its own checkpoint (search_folder.rung), from which a
survivor trains on; `record_halving` writes the survivors and ends the others as "halved". A
--retest round trains one leader again under core.rules.retest_seed. Every finished training is in
the record (search.add_candidate, Retest) before the strategy is told of it.
"""
from __future__ import annotations

import math

from .core.events import CandidateDone
from .core.record import Retest as RetestRecord
from .core.record import Rung, Step
from .core.rules import retest_seed
from .proxy.train import paused_result
from .strategies.base import Ask, Told


def answer(search, step: Step, asks: list[Ask], should_stop=None, train: bool = True) -> list[Told] | None:
    """The asks' results: from the record where it holds them, else trained (unless not `train`)."""
    told = [recorded(search, step, a) for a in asks]
    todo = [a for a, t in zip(asks, told) if t is None]
    if todo and (not train or not train_asks(search, step, todo, should_stop)):
        return None
    return [t or recorded(search, step, a) for a, t in zip(asks, told)]


def recorded(search, step: Step, ask: Ask) -> Told | None:
    """What the step's record says of `ask` (None: not trained yet)."""
    edge = list(ask.edge)
    if ask.round:
        runs = [r for r in (step.retests.runs if step.retests else []) if r.edge == edge and r.round == ask.round]
        return Told(ask, _score(runs[0].score)) if runs else None
    cand = next((c for c in step.candidates if c.edge == edge), None)
    if ask.epochs is None:
        return Told(ask, _score(cand.score)) if cand else None
    loss = step.rung.loss.get(f"{edge[0]}-{edge[1]}", math.nan) if step.rung else math.nan
    if loss is None:                         # it ended before the rung: that training is its result
        return Told(ask, _score(cand.score), None) if cand else None
    if math.isnan(loss):
        return None
    if cand is not None:
        return Told(ask, _score(cand.score), loss)
    paused = paused_result(search.folder.rung(step.step, edge), search.cell.remove(ask.edge)[0], search.cfg)
    return Told(ask, _score(search.recorded(paused)["score"]) if paused else -math.inf, loss)


def _score(score) -> float:
    return -math.inf if score is None else score


def train_asks(search, step: Step, asks: list[Ask], should_stop) -> bool:
    """Train `asks` (recording each); True when all finished."""
    if search.cfg.halving or any(a.round for a in asks):
        return all(_train_one(search, step, a, should_stop) for a in asks)
    return search.train_edges(step, [a.edge for a in asks], should_stop)


def _train_one(search, step: Step, ask: Ask, should_stop) -> bool:
    if ask.round:
        return retrain(search, step, ask.edge, ask.round, should_stop)
    if ask.epochs is not None:
        return train_rung(search, step, ask.edge, ask.epochs, should_stop)
    ck = search.folder.rung(step.step, ask.edge)      # a survivor trains on from its rung
    return search.train_edges(step, [ask.edge], should_stop, group=1, checkpoint=ck)


def train_rung(search, step: Step, edge, epochs: int, should_stop) -> bool:
    """Train the candidate without `edge` to epoch `epochs` and keep it waiting there; its validation
    loss at the rung is recorded (None when it ended before: then it is a candidate already)."""
    rung = step.rung = step.rung or Rung(epochs=epochs, loss={})
    ck = search.folder.rung(step.step, edge)
    search.train_edges(step, [edge], should_stop, group=1, checkpoint=ck, stop_after=epochs)
    if should_stop and should_stop():
        return False
    paused = paused_result(ck, search.cell.remove(tuple(edge))[0], search.cfg)
    rung.loss[f"{edge[0]}-{edge[1]}"] = paused.val_loss if paused else None
    search.save()
    return True


def record_halving(search, step: Step, survivors: list, halved: list) -> None:
    """The rung's decision: the survivors, and the others recorded as candidates ended "halved"."""
    step.rung.survivors = [list(e) for e in survivors]
    for edge in halved:
        ck = search.folder.rung(step.step, edge)
        search.add_candidate(step, edge, paused_result(ck, search.cell.remove(tuple(edge))[0], search.cfg, "halved"))
        ck.clear()


def retrain(search, step: Step, edge, round_: int, should_stop) -> bool:
    """A leader's retest `round_`: the candidate without `edge` trained again under another seed."""
    rt, cfg = step.retests, search.cfg
    position, count = len(rt.runs), len(rt.leaders) * cfg.retest
    seed = retest_seed(cfg, step.step, edge, round_)
    [r] = search.scheduler.train([search.cell.remove(tuple(edge))[0]], [seed], group=1, should_stop=should_stop,
                                 on_event=search.relay(step.step, [tuple(edge)], [position], count))
    if r is None:
        return False
    rec = RetestRecord(edge=list(edge), round=round_, seed=seed, **search.recorded(r))
    rt.runs.append(rec)
    search.save()
    search.folder.log(f"step {step.step} retest {round_} of edge {tuple(edge)}: ppl {rec.ppl} score {rec.score}")
    search.on_event(CandidateDone(step.step, tuple(edge), position + 1, count, rec.to_dict()))
    return True
