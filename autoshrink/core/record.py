"""The search record: what `<save>/search.json` holds, typed, read, checked, written and queried.

    state = read_state("search-run")            # the plain dict, checked (raises ConfigError)
    rec = SearchRecord.from_dict(state)          # typed: rec.steps[0].candidates[0].ppl, rec.best.step
    cell = cell_of(state, "best")                # "best", "final" or "step:N" (see parse_which)
    cell = load_cell("search-run")               # the same from disk; also a cell JSON, a graph pickle, shrinkrnn
    write_state("search-run", state)             # atomic; every non-finite number becomes null

The layout on disk is the plain dict (docs/guide/record-format.md). `Search` holds the typed
record (`search.record`), changes it and writes `to_dict()`, which gives back the layout to the key
(keys it does not know ride along in `extra`). The lab's views and the plots read the typed
record; the plain-layout functions below answer the same queries for code that holds a search.json
as read (the ground truth, the quality report) by typing it first: one home per query. The best
cell is the cell left by the step whose chosen candidate scored highest (the first such step on a
tie): what `graph-best` holds.

One process writes a save folder at a time (`disk.WriterLock` on `<save>/lock`, taken by Search).
Readers need no lock: search.json is replaced atomically (`disk.write_json_atomic`), so a reader
sees either the old or the new record.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import numpy as np

from .cell import REFERENCE_CELLS, Cell
from .disk import read_json, write_json_atomic
from .errors import ConfigError

FORMAT = "autoshrink-search/1"
STRATEGY_FORMAT = "autoshrink-strategy/1"   # strategy.json of a strategy run (strategy_run.StrategyRun)
STRATEGY_FILE = "strategy.json"
KEYS = ("format", "config", "initial", "cell", "steps", "best", "final")
WHICH = "best, final or step:N"


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
        """What a step ranks it by (record.decision_key)."""
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
        d = super().to_dict()
        return d if self.done else {k: v for k, v in d.items() if k in self.OPEN or k in self.extra}


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
        best = None
        for s in self.comparable_steps():
            if s.best_score is not None and (best is None or s.best_score > best.score):
                best = Best(step=s.step, score=s.best_score, cell=s.cell)
        return best

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


def decision_key(ended: str | None, score, mean_score=None) -> tuple:
    """What a step ranks a candidate by: not halved first, then its mean score over seeds when
    retested (--retest), else its score; a diverged one (score None) last."""
    s = score if mean_score is None else mean_score
    return ended != "halved", -math.inf if s is None else s


# --- the same queries on the plain layout (what search.json holds), each answered by the typed record
def typed(state: dict) -> SearchRecord:
    """A plain record typed for a query; the keys a query needs not (format, config, cells) may be missing."""
    return SearchRecord.from_dict({"format": FORMAT, "config": {}, "initial": {}, "cell": {}, "steps": [], **state})


def done_steps(state: dict) -> list[dict]:
    return [s for s in state["steps"] if s.get("done")]


def best_of(state: dict) -> dict | None:
    """{"step", "score", "cell"} of SearchRecord.best_step, None while there is none."""
    best = typed(state).best_step()
    return best.to_dict() if best else None


def best_ppl(state: dict) -> float | None:
    """SearchRecord.best_ppl of a plain record."""
    return typed(state).best_ppl()


def parse_which(which) -> str | int:
    """"best", "final", or the step number N of "step:N" (also "step N", "stepN", or an int)."""
    if isinstance(which, int) and not isinstance(which, bool):
        return which
    text = str(which).strip().lower()
    if text in ("best", "final"):
        return text
    m = re.fullmatch(r"step[: ]?(\d+)", text)
    if not m:
        raise ConfigError(f"--which {which!r} is not a cell of a search; use {WHICH}")
    return int(m.group(1))


def which_name(which) -> str:
    """The file-name form: "best", "final", "step3"."""
    w = parse_which(which)
    return f"step{w}" if isinstance(w, int) else w


def cell_of(state: dict, which="best") -> Cell:
    """SearchRecord.cell_of of a plain record: the best step's cell, the final cell, or step N's cell."""
    return typed(state).cell_of(which)


# --- reading and writing
def load_cell(path, which="best") -> Cell:
    """A cell from a JSON cell file, a seed graph pickle, or a search's save folder or search.json:
    there its best cell, or `which` ("final", "step:N"; see record.cell_of). The names shrinkrnn and
    darts (where no such file exists) give the published cells."""
    if str(path).lower() in REFERENCE_CELLS and not Path(path).exists():
        return REFERENCE_CELLS[str(path).lower()]
    path = Path(path)
    if path.is_dir():
        holds_run = (path / STRATEGY_FILE).is_file() and not (path / "search.json").is_file()
        path = path / (STRATEGY_FILE if holds_run else "search.json")
    if not path.is_file():
        raise ConfigError(f"cell file {path} not found; give a cell JSON, a search.json or a save folder")
    raw = path.read_bytes()
    if raw[:1] == b"\x80":
        return _from_graph_pickle(path, raw)
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} is not valid JSON ({e.__class__.__name__}); give a cell JSON file") from None
    if is_search_record(d):
        return cell_of(d, which)
    if isinstance(d, dict) and d.get("format") == STRATEGY_FORMAT:
        return strategy_pick(d, path, which)
    if isinstance(d, dict) and "cell" in d and "mask" not in d:
        d = d["cell"]
    try:
        return Cell.from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except (TypeError, ValueError):
        raise ConfigError(f'{path}: "mask" must be N x N numbers 0/1 and "ops" N op names') from None


def _from_graph_pickle(path: Path, raw: bytes) -> Cell:
    try:
        g = pickle.loads(raw)  # the seed's format; only load pickles you made yourself
        return Cell(np.asarray(g.mask).tolist(), list(g.ops_def), getattr(g, "outputs", None))
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{path} is not a readable graph pickle ({e.__class__.__name__})") from None


def record_path(save) -> Path:
    p = Path(save)
    return p / "search.json" if p.is_dir() or p.suffix != ".json" else p


def strategy_pick(d: dict, path, which="best") -> Cell:
    """The pick of a strategy run's record (strategy.json): its best cell, the only one it names."""
    if which != "best":
        raise ConfigError(f"{path} is a strategy run: it names one cell, its pick; drop --which {which}")
    if not d.get("pick_cell"):
        raise ConfigError(f"{path} has no pick yet (no training finished); continue it with `autoshrink search "
                          "--resume`")
    return Cell.from_dict(d["pick_cell"])


def is_search_record(d) -> bool:
    return isinstance(d, dict) and "steps" in d and "config" in d


def read_state(save) -> dict:
    """The search record in `save`/search.json (or the file `save`), checked enough to resume from;
    its paths (data, emb_path, save) made usable from here (paths_from_record)."""
    path = record_path(save)
    if not path.is_file():
        raise ConfigError(f"no search to resume at {path}; give the --save folder of an earlier search")
    state = read_json(path, "restore it or start a new search with another --save")
    if not isinstance(state, dict) or state.get("format") != FORMAT or any(k not in state for k in KEYS):
        raise ConfigError(f"{path} is not an autoshrink search record ({FORMAT}); give a search's --save folder")
    Cell.from_dict(state["cell"])
    config = paths_from_record(state["config"], path.parent)
    config.setdefault("seed_rule", "candidate")     # records from before the seed rule was a setting
    return {**state, "config": config}


# --- paths a record holds: written relative to the record's folder, read back relative to here
PATHS = ("data", "emb_path", "save")


def paths_to_record(config: dict, folder) -> dict:
    """`config` with its relative paths (given relative to the working folder) made relative to
    `folder`, where the record is written; absolute paths stay as they are."""
    out = dict(config)
    for key in PATHS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            out[key] = os.path.relpath(os.path.abspath(value), os.path.abspath(folder))
    return out


def paths_from_record(config: dict, folder) -> dict:
    """The inverse of paths_to_record: each relative path taken relative to `folder` (the record's),
    given back relative to the working folder. A path that exists as written but not relative to
    the record (a record written before paths were relative to it) is kept."""
    out = dict(config)
    for key in PATHS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            here = os.path.normpath(os.path.join(folder, value))
            out[key] = value if os.path.exists(value) and not os.path.exists(here) else here
    return out


def write_state(save, state: dict) -> None:
    """Write the search record; its paths relative to its own folder (paths_to_record)."""
    path = record_path(save)
    write_json_atomic(path, {**state, "config": paths_to_record(state["config"], path.parent)})
