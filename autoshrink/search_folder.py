"""A search's save folder: its writer lock, its record written atomically, its log, graphs and
paused trainings, the resume and branch rules, and following it read-only.

    folder = SearchFolder("search-run")
    folder.take()                     # this process is the folder's writer (record.WriterLock) ...
    folder.write(record.to_dict())    # ... and writes search.json atomically (a reader sees old or new)
    record = folder.read()            # the typed record (core/record.SearchRecord), as it is now
    folder.changed()                  # search.json was written since this process last read it

Every file of a search lives here: search.json (the record, docs/guide/record-format.md),
inflight.pt (the training in flight, saved after every epoch), rung-S-I-J.pt (a candidate paused at
the --halving rung), log.txt and the graph pickles. `check_resume` says which settings a resume may
change (config.py marks them resumable) and `branch_state` builds the record of a branch.
"""
from __future__ import annotations

import atexit
import copy
import os
from pathlib import Path

from .core.cell import Cell, save_graph
from .core.config import TRAINED_ALIKE, SearchConfig, settings
from .core.disk import WriterLock
from .core.errors import ConfigError
from .core.record import FORMAT, SearchRecord, best_of, done_steps, read_state, record_path, write_state
from .core.rules import shrunk
from .proxy.checkpoint import Checkpoint

SPACE = settings("space")                     # settings that define the search space: a branch keeps its parent's
SAFE_ON_RESUME = settings(resumable=True)     # settings a resumed search may change: where candidates train


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


def branch_state(parent, at_step: int, save, changes: dict) -> tuple[SearchConfig, dict]:
    """The settings and the record of a new search in `save` that starts from the cell after step
    `at_step` of the search in `parent`: its steps 0..at_step copied (each marked "from_parent"),
    its settings but for `changes` (not SPACE), the parent named (folder relative to the new
    record, and step). The parent is only read."""
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
    trained_with = {k: state["config"].get(k) for k in TRAINED_ALIKE if state["config"].get(k) != cfg.to_dict()[k]}
    new = {"format": FORMAT, "config": cfg.to_dict(), "initial": state["initial"], "cell": steps[-1]["cell"],
           "steps": steps, "best": None, "final": None,
           "parent": {"save": rel, "step": done[at_step]["step"], **({"trained_with": trained_with} if trained_with
                                                                     else {})}}
    new["best"] = best_of(new)
    return cfg, new


def _stamp(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class SearchFolder:
    """The files of one search; one process writes them (take()), any number read them."""

    def __init__(self, save):
        self.path = Path(save)
        self.lock = WriterLock(self.path)
        self.inflight = Checkpoint(self.path / "inflight.pt")
        self._seen = None          # search.json as this process last read it (mtime, size, inode)

    def holds_search(self) -> bool:
        return record_path(self.path).exists()

    def take(self) -> None:
        """Become the folder's writer (ConfigError naming the writer when another process is)."""
        self.lock.acquire()
        atexit.register(self.lock.release)

    def release(self) -> None:
        """Stop being the folder's writer (another process may then resume it)."""
        self.lock.release()

    def read(self) -> SearchRecord:
        """The record as search.json holds it now (its paths usable from here)."""
        stamp = _stamp(record_path(self.path))
        record = SearchRecord.read(self.path)
        self._seen = stamp
        return record

    def changed(self) -> bool:
        """search.json was replaced since this process last read it (a follower rereads it then)."""
        stamp = _stamp(record_path(self.path))
        return stamp is not None and stamp != self._seen

    def write(self, state: dict) -> None:
        """Write the record (its plain layout) atomically."""
        write_state(self.path, state)

    def rung(self, step: int, edge) -> Checkpoint:
        """Where the candidate removing `edge` at `step` waits at the --halving rung."""
        return Checkpoint(self.path / f"rung-{step}-{edge[0]}-{edge[1]}.pt")

    def write_graphs(self, cell: Cell, ratio: float, best: Cell) -> None:
        """The seed's graph pickles: the cell after a step (graph-<ratio>) and the best cell (graph-best)."""
        save_graph(cell, self.path / f"graph-{ratio:.2f}")
        save_graph(best, self.path / "graph-best")

    def log(self, line: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "log.txt", "a") as f:
            f.write(line + "\n")


class SearchView:
    """A saved search as its record says (record, its plain layout, its cells and steps), read from
    its folder. `SearchView.open(save)` follows a search another process writes: `update()` rereads
    search.json when it changed. It cannot train or save; search.Search, the writer, is one too."""

    readonly = True

    def __init__(self, cfg: SearchConfig, folder: SearchFolder, record: SearchRecord):
        self.cfg, self.folder, self.save_dir = cfg, folder, folder.path
        self.record = record

    @classmethod
    def open(cls, save) -> "SearchView":
        folder = SearchFolder(save)
        record = folder.read()
        return cls(SearchConfig.from_dict({**record.config, "save": str(save)}), folder, record)

    @property
    def record(self) -> SearchRecord:
        """The typed record (core/record/schema.py)."""
        return self._record

    @record.setter
    def record(self, record: SearchRecord) -> None:
        self._record, self._state = record, None

    @property
    def state(self) -> dict:
        """The record in its plain layout (what search.json holds), made once per change, not per read."""
        if self._state is None:
            self._state = self.record.to_dict()
        return self._state

    def update(self) -> bool:
        """Reread search.json if it changed since it was last read; True when it did."""
        if not self.folder.changed():
            return False
        try:
            self.record = self.folder.read()
        except ConfigError:      # gone or unreadable for now: the last record stays
            return False
        return True

    def cell_of(self, which="best") -> Cell:
        """The best cell (default), the final cell, or step N's cell ("step:N")."""
        return self.record.cell_of(which)

    @property
    def cell(self) -> Cell:
        """The cell as shrunk so far."""
        return Cell.from_dict(self.record.cell)

    @property
    def history(self) -> list[dict]:
        """The finished steps in their plain layout."""
        return done_steps(self.state)

    @property
    def pending(self) -> dict | None:
        """The step in progress in its plain layout (None between steps); record.pending is the typed one."""
        step = self.record.pending
        return step.to_dict() if step else None

    @property
    def shrinking_done(self) -> bool:
        return shrunk(self.cfg, self.cell.n_edges)

    @property
    def finished(self) -> bool:
        return self.record.final is not None

    def close(self) -> None:
        """Nothing to let go for a reader; the writer releases the folder."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
