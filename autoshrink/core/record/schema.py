"""The search record's schema: what `<save>/search.json` holds, as typed dataclasses that read and
write its plain-dict layout (docs/guide/record-format.md), and the rule a step ranks candidates by.

    rec = SearchRecord.from_dict(state)     # rec.steps[0].candidates[0].ppl, rec.best_step().cell
    rec.to_dict()                           # the layout to the key; keys it does not know ride in `extra`

The best cell is the cell left by the step whose chosen candidate scored highest (the first such
step on a tie): what `graph-best` holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional

from ..cell import Cell
from ..errors import ConfigError
from ..rules import decision_key, first_best
from .which import parse_which


def _split(cls, d: dict) -> tuple[dict, dict]:
    """`d` as the keyword arguments of `cls` and the keys it does not know (kept, never lost)."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return {k: v for k, v in d.items() if k in names}, {k: v for k, v in d.items() if k not in names}


class _Plain:
    """A typed record read from and written to its plain-dict layout: keys named in OPTIONAL are
    left out while None (as the layout leaves them out), unknown keys ride along in `extra`."""
    OPTIONAL: tuple = ()

    @classmethod
    def from_dict(cls, d: dict):
        known, extra = _split(cls, d)
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        d = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "extra"}
        d = {k: v for k, v in d.items() if not (k in self.OPTIONAL and v is None)}
        return {**d, **self.extra}


def _plain(value):
    if isinstance(value, _Plain):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(kw_only=True)
class Trained(_Plain):
    """One proxy training of a cell, as recorded (non-finite numbers as None)."""
    ppl: Optional[float]            # exp(best validation loss); None when diverged
    val_loss: Optional[float]       # best validation loss
    flops: int                      # live edges x nhid^2
    score: Optional[float]          # the search's score of ppl and flops; None when diverged
    params: int = 0                 # trainable numbers of its model
    seconds: float = 0.0            # wall time of its training
    epochs: int = 0                 # epochs run before its end
    diverged: bool = False
    ended: str = "epochs"           # "epochs", "patience", "overfit", "nan" or "halved"
    curve: list = field(default_factory=list)   # per epoch: epoch, train_loss, val_loss, lr
    extra: dict = field(default_factory=dict)

    def decision_key(self) -> tuple:
        """What a step ranks it by (core.rules.decision_key)."""
        return decision_key(self.ended, self.score, getattr(self, "mean_score", None))


@dataclass(kw_only=True)
class Candidate(Trained):
    """One edge tried at one step, trained and scored."""
    OPTIONAL = ("mean_score", "sd_score", "seeds")
    edge: list                      # [i, j], the edge removed
    pruned: list                    # edges pruned with it (unreachable after the removal)
    edges_left: int
    mean_score: Optional[float] = None   # --retest: mean score over its seeds (a leader only)
    sd_score: Optional[float] = None     # --retest: their sd
    seeds: Optional[int] = None          # --retest: how many seeds


@dataclass(kw_only=True)
class Retest(Trained):
    """One more training of a close step's leader under another seed (--retest)."""
    edge: list
    round: int                      # 1..K
    seed: int


@dataclass(kw_only=True)
class Retests(_Plain):
    leaders: list                   # the edges within --retest_margin of the best, best first
    runs: list = field(default_factory=list)    # Retest records
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Retests":
        r = super().from_dict(d)
        r.runs = [Retest.from_dict(x) for x in r.runs]
        return r


@dataclass(kw_only=True)
class Rung(_Plain):
    """Successive halving inside a step (--halving E)."""
    OPTIONAL = ("survivors",)
    epochs: int                     # E: every candidate trains this many epochs first
    loss: dict                      # "i-j" -> best validation loss at the rung (None: ended before it)
    survivors: Optional[list] = None    # the edges that train on, once every candidate reached the rung
    extra: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class Step(_Plain):
    """One shrink step; `done` is False while its candidates are still being trained."""
    OPTIONAL = ("retests", "rung", "from_parent")
    OPEN = ("step", "done", "edges_before", "order", "candidates", "retests", "rung")   # what an open step holds
    step: int
    done: bool
    edges_before: int = 0
    order: list = field(default_factory=list)      # the edges tried, in order
    candidates: list = field(default_factory=list)  # Candidate records, in the order they finished
    removed: Optional[list] = None
    pruned: Optional[list] = None
    cell: Optional[dict] = None     # the cell after the step
    edges_left: Optional[int] = None
    ratio: Optional[float] = None
    best_score: Optional[float] = None
    mean_score: Optional[float] = None
    best_ppl: Optional[float] = None
    mean_ppl: Optional[float] = None
    mean_flops: Optional[float] = None
    diverged: Optional[int] = None
    retests: Optional[Retests] = None
    rung: Optional[Rung] = None
    from_parent: Optional[bool] = None  # copied from the parent of a branch
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Step":
        s = super().from_dict(d)
        s.candidates = [Candidate.from_dict(c) for c in s.candidates]
        s.retests = Retests.from_dict(s.retests) if s.retests is not None else None
        s.rung = Rung.from_dict(s.rung) if s.rung is not None else None
        return s

    def to_dict(self) -> dict:
        """The layout; an open step writes only what an open step holds (OPEN), and one that holds
        a result already (a removed edge, a cell, ...) is a mistake, raised, not dropped."""
        d = super().to_dict()
        if self.done:
            return d
        closed = [k for k, v in d.items() if k not in self.OPEN and k not in self.extra and v is not None]
        if closed:
            raise ValueError(f"step {self.step} is open (done False) but holds {', '.join(closed)}; "
                             "set done=True when it has a result")
        return {k: v for k, v in d.items() if k in self.OPEN or k in self.extra}


@dataclass(kw_only=True)
class Best(_Plain):
    """The best step: its chosen candidate's score and the cell it left."""
    step: int
    score: float
    cell: dict
    extra: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class Final(Trained):
    """The final cell, trained once more under the proxy."""
    cell: dict


@dataclass(kw_only=True)
class SearchRecord(_Plain):
    """search.json, typed: what `Search` holds, changes and writes (`to_dict` is the layout)."""
    OPTIONAL = ("parent",)
    format: str
    config: dict
    initial: dict                   # the full cell the search started from
    cell: dict                      # the cell now
    steps: list = field(default_factory=list)   # Step records
    best: Optional[Best] = None
    final: Optional[Final] = None
    parent: Optional[dict] = None   # a branch's parent: {"save": folder relative to this record, "step",
    #                                 "trained_with": the parent's values of the TRAINED_ALIKE settings changed}
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, state: dict) -> "SearchRecord":
        r = super().from_dict(state)
        r.steps = [Step.from_dict(s) for s in r.steps]
        r.best = Best.from_dict(r.best) if r.best else None
        r.final = Final.from_dict(r.final) if r.final else None
        return r

    @classmethod
    def read(cls, save) -> "SearchRecord":
        """The record in `save` (files.read_state: checked, migrated), typed."""
        from .files import read_state
        return cls.from_dict(read_state(save))

    @property
    def pending(self) -> Optional[Step]:
        """The step in progress (the last one, not done), None between steps."""
        return self.steps[-1] if self.steps and not self.steps[-1].done else None

    def done_steps(self) -> list[Step]:
        return [s for s in self.steps if s.done]

    def step_record(self, number: int) -> Optional[Step]:
        """Finished step `number`, None when there is no such step."""
        return next((s for s in self.done_steps() if s.step == number), None)

    def best_step(self) -> Optional[Best]:
        """The step whose chosen candidate scored highest (first on a tie): its step, score and the
        cell it left; None while no finished step has a score. What `graph-best` holds. A branch whose
        parent trained otherwise (parent "trained_with": the parent's values of the settings it
        changed, config.TRAINED_ALIKE) chooses among its own steps only: the copied ones' scores do
        not compare with them."""
        steps = self.comparable_steps()
        k = first_best([s.best_score for s in steps])
        return None if k is None else Best(step=steps[k].step, score=steps[k].best_score, cell=steps[k].cell)

    def comparable_steps(self) -> list:
        """The finished steps whose scores compare: all of them, or a branch's own when its parent
        trained otherwise."""
        if self.parent and self.parent.get("trained_with"):
            return [s for s in self.done_steps() if not s.from_parent]
        return self.done_steps()

    def best_ppl(self) -> Optional[float]:
        """The proxy ppl of the best step's chosen candidate (the discovered cell's), None while there is none."""
        best = self.best_step()
        step = self.step_record(best.step) if best else None
        chosen = [c for c in (step.candidates if step else []) if c.edge in (step.removed or [])]
        return chosen[0].ppl if chosen else None

    def cell_of(self, which="best") -> Cell:
        """The cell `which` (parse_which) of the search: the best step's cell, the final cell, or step N's cell."""
        w = parse_which(which)
        if w == "final":
            if self.final is None:
                raise ConfigError("the search has no final cell yet (not finished); use --which best or step:N")
            return Cell.from_dict(self.final.cell)
        if w == "best":
            best = self.best_step()
            if best is None:
                raise ConfigError("no shrink step of this search has a score yet, so there is no best cell; "
                                  "take a step first or use --which step:N")
            return Cell.from_dict(best.cell)
        step, done = self.step_record(w), self.done_steps()
        if step is None:
            raise ConfigError(f"--which step:{w}: the search has finished steps 0 to {len(done) - 1}; pick one of them"
                              if done else f"--which step:{w}: the search has no finished step yet")
        return Cell.from_dict(step.cell)
