"""The lab's runner: a search's lifecycle behind the panel, with no widgets.

    runner = Runner(config=lambda: cfg, on_change=print)   # config: a callable giving the settings
    runner.step()                 # one shrink step in this thread (the final training once shrunk)
    runner.start_run()            # all remaining steps in a background thread; pause(), stop(), wait()
    runner.open("search-run")     # continue a saved search
    runner.follow("search-run")   # watch a search another process writes, read-only
    runner.export("best")         # the best cell (or "final", "step 3") into <save>/export/

What the search's events told (candidates in training, their epochs so far, the progress bars)
is kept in `runner.progress` for the views; every change is passed on as `on_change(change)`: the
search's events (autoshrink.core.events), then the runner's own PhaseChanged, BusyChanged, SaveChanged
and Refreshed.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..backend import make_backend
from ..core import formats
from ..core.cell import Cell
from ..core.config import SearchConfig
from ..core.data import load_corpus
from ..core.errors import ConfigError
from ..core.events import CandidateDone, CandidateEpoch, CandidateStarted, SearchFinished, StepDone, TrainingDone, TrainingStarted
from ..core.record import cell_of, done_steps, record_path, which_name
from ..core.runtime import resolve_device
from ..one_cell import cell_seed, start_embedding
from ..plot import save_curves
from ..search import SAFE_ON_RESUME, Search, read_state
from .worker import Worker


class LabError(ConfigError):
    """A user error (a bad setting, a missing folder): IPython shows its one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"error: {self}"]


@dataclass
class Progress:
    """What the events of the step in progress told."""
    phase: str = "ready"                              # the first words of the status line
    training: list = field(default_factory=list)      # edges whose candidates train now
    curves: dict = field(default_factory=dict)        # edge (or "final") -> epochs so far
    shown: object = None                              # the edge whose curve the training figure shows
    done: int = 0                                     # candidates of the step done ...
    count: int = 1                                    # ... of this many
    epoch: int = 0                                    # epochs of the shown candidate done ...
    epochs: int = 1                                   # ... of this many


def fresh_folder(save) -> str:
    """`save` if it holds no search yet, else the first of save-2, save-3, ... that holds none."""
    k, name = 1, str(save)
    while record_path(name).exists():
        k += 1
        name = f"{save}-{k}"
    return name


def pick_cell(state: dict, which="best") -> tuple[Cell, str]:
    """The cell `which` names in a search record (record.cell_of: "best", "final", "step N") and
    the file name export gives it (cell-best, cell-final, cell-step3)."""
    try:
        return cell_of(state, which), f"cell-{which_name(which)}"
    except ConfigError as e:
        raise LabError(str(e)) from None


def saved_cell(save, which="best") -> Cell:
    """The cell `which` (see pick_cell) of the search saved in `save`."""
    return pick_cell(read_state(save), which)[0]


# What the runner tells its lab (on_change) besides the search's events.
@dataclass(frozen=True)
class PhaseChanged:
    """runner.phase changed."""


@dataclass(frozen=True)
class BusyChanged:
    """A Step, Run or final training started or ended in the worker (runner.busy, runner.trace)."""


@dataclass(frozen=True)
class SaveChanged:
    save: str                 # the folder the search now writes (a new or branched search)


@dataclass(frozen=True)
class Refreshed:
    """A followed search's record was read again."""


def train_each(cells: dict, cfg: SearchConfig, results: dict, on_start=None, on_event=None, should_stop=None) -> bool:
    """Train the cells not yet in `results`, each alone (K = 1), under one proxy setting and the seed
    rule of one_cell.train_cell, adding name -> train.Result to `results`: one after another here, side
    by side as Ray tasks with --backend ray. `on_event(name, event)` is told each cell's training
    events (events.EpochDone, TrainingDone). False when stopped before the end."""
    names = [name for name in cells if name not in results]
    device = resolve_device(cfg.device)
    corpus = load_corpus(cfg.data)
    embedding = start_embedding(cfg, corpus.words)

    def relay(event) -> None:
        name = names[event.index]
        if isinstance(event, TrainingStarted):
            if on_start is not None:
                on_start(name, cells[name], device)
            return
        if isinstance(event, TrainingDone):
            results[name] = event.result
        if on_event is not None:
            on_event(name, event)

    out = make_backend(cfg).train([cells[n] for n in names], [cell_seed(cfg)] * len(names), corpus, embedding,
                                  cfg, device, on_event=relay, should_stop=should_stop)
    return all(r is not None for r in out)


def _stamp(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class Runner:
    """One search behind a lab: made at the first step (so creating a runner reads nothing),
    resumed from a save folder, or followed read-only while another process writes it."""

    def __init__(self, config, on_change=None, on_event=None):
        self.config = config                  # callable -> SearchConfig (raises ConfigError)
        self.on_change = on_change            # the lab: redraw after each change
        self.on_event = on_event              # also told every search event, after the lab
        self.search: Search | None = None
        self.opened: tuple[Path, dict] | None = None   # (folder, state) opened, not resumed (yet)
        self.following = False
        self.error: BaseException | None = None
        self.trace = ""                       # traceback text of an unexpected error
        self.progress = Progress()
        self.lock = threading.RLock()
        self.worker = Worker("the lab is busy (Step/Run pressed); press Stop or call lab.wait() first",
                             on_end=lambda: self._tell(BusyChanged()))
        self._fresh = False                   # a candidate has started since Pause: the step may stop now
        self._watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._seen = None

    # --- what there is
    @property
    def state(self) -> dict | None:
        """The search record (None before the first step of a new search)."""
        if self.search is not None:
            return self.search.state
        return self.opened[1] if self.opened else None

    @property
    def save_dir(self) -> Path | None:
        if self.search is not None:
            return self.search.save_dir
        return self.opened[0] if self.opened else None

    @property
    def history(self) -> list[dict]:
        return done_steps(self.state) if self.state else []

    @property
    def finished(self) -> bool:
        return (self.state or {}).get("final") is not None

    @property
    def busy(self) -> bool:
        return self.worker.busy

    @property
    def pausing(self) -> bool:
        return self.worker.busy and self.worker.pausing

    @property
    def stopping(self) -> bool:
        return self.worker.busy and self.worker.stopping

    def _tell(self, change) -> None:
        if self.on_change is not None:
            self.on_change(change)

    def set_phase(self, phase: str) -> None:
        self.progress.phase = phase
        self._tell(PhaseChanged())

    # --- making, opening and following a search
    def ensure_search(self) -> Search:
        if self.following:
            raise LabError("this lab follows a search another process writes (read-only); "
                           "open it again with SearchLab.open(save) once that run has ended")
        if self.search is not None:
            return self.search
        cfg = self.config()
        if self.opened is not None:
            runtime = {k: getattr(cfg, k) for k in SAFE_ON_RESUME if k != "save"}
            self.search = Search.resume(self.opened[0], on_event=self._on_event, **runtime)
        else:
            save = fresh_folder(cfg.save)
            if save != cfg.save:
                self._tell(SaveChanged(save))
            self.search = Search(cfg.replace(save=save), on_event=self._on_event)
        self.opened = None
        return self.search

    def branch(self, at_step: int) -> Path:
        """A new search from the cell after step `at_step` of this one (Search.branch), with the
        panel's settings but the search space; this runner drives the branch from then on (the
        parent is only read, so another process may still be running it). Returns the branch's folder."""
        if self.busy:
            raise LabError("pause the search before branching")
        self.unfollow()                     # a followed search may branch too: its finished steps are only read
        parent = self.save_dir
        if parent is None or not self.history:
            raise LabError("no finished step to branch from yet: Step first")
        cfg = self.config()
        save = fresh_folder(f"{parent}-from{at_step}")
        changes = {k: v for k, v in cfg.to_dict().items() if k != "save"}    # SPACE: refused unless the parent's
        branch = Search.branch(parent, at_step, save, on_event=self._on_event, **changes)
        if self.search is not None:
            self.search.close()
        self.search, self.opened = branch, None
        self._tell(SaveChanged(save))
        self.set_phase(f"branched after step {at_step} of {parent}: Step or Run continues the branch")
        return Path(save)

    def open(self, save) -> None:
        """Take up the search saved in `save`: resumed at once when its settings allow, else shown
        read-only until they are fixed (Step or Run tries again)."""
        self.opened = (Path(save), read_search(save))
        try:
            search = self.ensure_search()
            self.set_phase("opened" + (": finished" if search.finished else ": Step or Run continues it"))
        except ConfigError as e:
            self.set_phase(f"opened read-only ({e}); fix the setting, then Step or Run continues it")

    def follow(self, save, interval: float = 1.0) -> None:
        """Show the search saved in `save` read-only and reread it whenever search.json changes
        (checked every `interval` seconds in a thread), e.g. while the command line runs it."""
        self.unfollow()
        self.opened = (Path(save), read_search(save))
        self._seen = _stamp(record_path(save))
        self.following = True
        self.set_phase("following (read-only)")
        self._watch.clear()
        self._watcher = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._watcher.start()

    def _poll(self, interval: float) -> None:
        while not self._watch.wait(interval):
            self.refresh()

    def refresh(self) -> bool:
        """Reread the followed search if search.json changed; True when it did."""
        if not self.following:
            return False
        folder = self.opened[0]
        stamp = _stamp(record_path(folder))
        if stamp is None or stamp == self._seen:
            return False
        try:
            state = read_state(folder)
        except ConfigError:
            return False
        with self.lock:   # the new record and its redraw together: whoever holds the lock next sees both
            self.opened, self._seen = (folder, state), stamp
            self.progress.phase = "following (read-only)" + (": the search has finished" if state.get("final") else "")
            self._tell(Refreshed())
        return True

    def unfollow(self) -> None:
        """Stop rereading the followed search (it stays on show)."""
        self._watch.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)
        self._watcher, self.following = None, False

    def reset(self) -> None:
        """Forget the search: the next step starts a new one from the settings."""
        if self.busy:
            return
        self.unfollow()
        self.search = self.opened = None
        self.error, self.trace = None, ""
        self.progress = Progress(phase="new search: Step or Run starts it")

    # --- running
    def _should_stop(self) -> bool:
        return self.worker.stopping or (self.worker.pausing and self._fresh)

    def _one_step(self, search: Search) -> dict | None:
        if search.finished:
            return None
        if search.shrinking_done:
            return search.finish(self._should_stop)
        return search.step(self._should_stop)

    def _to_end(self, search: Search) -> dict | None:
        return search.run(self._should_stop)

    def _work(self, job, raise_errors: bool) -> dict | None:
        """Run job(search) (in the worker); say how it ended in the phase. A user error is one line (LabError)."""
        self.error, self.trace = None, ""
        self._tell(BusyChanged())
        try:
            search = self.ensure_search()
            self.set_phase("starting")
            out = job(search)
            if search.finished:
                self.set_phase(_finished_phase(search.state))
            elif out is None and (self.worker.stopping or self.worker.pausing):
                self.set_phase(("stopped" if self.worker.stopping else "paused") + ": Step or Run continues the search")
            return out
        except ConfigError as e:
            self.error = e
            self.set_phase(f"error: {e}")
            if raise_errors:
                raise LabError(str(e)) from None
            return None
        except BaseException as e:
            self.error = e
            if isinstance(e, KeyboardInterrupt):
                self.set_phase("interrupted: Step or Run continues the search")
                raise
            self.trace = traceback.format_exc()
            self.set_phase(f"error: {type(e).__name__}: {e}")
            if raise_errors:
                raise
            return None
        finally:
            self.progress.training = []

    def _sync(self, job) -> dict | None:
        return self.worker.run(lambda: self._work(job, raise_errors=True))

    def _background(self, job) -> None:
        self.worker.start(lambda: self._work(job, raise_errors=False))

    def step(self) -> dict | None:
        """One shrink step (the final training once shrinking is done), in this thread; returns its
        record (the final record after the final training), None if finished or stopped."""
        return self._sync(self._one_step)

    def run(self) -> dict | None:
        """All remaining steps and the final cell, in this thread; returns the final record."""
        return self._sync(self._to_end)

    def start_step(self) -> None:
        self._background(self._one_step)

    def start_run(self) -> None:
        self._background(self._to_end)

    def pause(self) -> None:
        """Stop after the candidate in training."""
        self.worker.pause()
        self.set_phase("pausing after the candidate in training")

    def stop(self) -> None:
        """Stop at the end of the current epoch."""
        self.worker.stop()
        self.set_phase("stopping at the end of this epoch")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background Step/Run to end."""
        self.worker.wait(timeout)

    def export(self, which="best") -> tuple[dict[str, Path], Cell, str]:
        """Write the cell `which` (see pick_cell) into <save>/export/ as <name>.svg, .json, ...;
        returns (kind -> path, the cell, its name)."""
        from ..export import export_cell
        state = self.state
        if state is None:
            raise LabError("nothing to export yet: take a step first")
        if self.following:
            raise LabError("this lab follows a search another process writes (read-only); export with "
                           "`python -m autoshrink export --cell SAVE_DIR --out DIR` or once that run has ended")
        cell, name = pick_cell(state, which)
        return export_cell(cell, self.save_dir / "export", config=state["config"], name=name), cell, name

    # --- events from the search (in whichever thread runs it)
    def _on_event(self, event) -> None:
        handle = {CandidateStarted: self._started, CandidateEpoch: self._epoch, CandidateDone: self._done,
                  StepDone: self._step_done, SearchFinished: self._finished}[type(event)]
        with self.lock:
            handle(event)
            self._tell(event)
        if self.on_event is not None:
            self.on_event(event)

    def _started(self, e: CandidateStarted) -> None:
        step, edge, index, count = e.step, e.edge, e.index, e.count
        p = self.progress
        self._fresh = True
        key = tuple(edge) if edge is not None else "final"
        if edge is not None:
            p.training.append(key)
        p.curves[key] = []
        if p.shown not in p.training:
            p.shown = key
            p.epoch, p.epochs = 0, self.search.cfg.epochs
        pending = self.search.pending
        p.count, p.done = count, len(pending["candidates"]) if pending else 0
        if edge is None:
            p.phase = "training the final cell"
        elif len(p.training) == 1:
            p.phase = f"step {step}: training candidate {index + 1} of {count} (edge {edge[0]}→{edge[1]})"
        else:
            p.phase = f"step {step}: training {len(p.training)} candidates together"

    def _epoch(self, e: CandidateEpoch) -> None:
        p = self.progress
        self._fresh = False
        key = tuple(e.edge) if e.edge is not None else "final"
        p.curves.setdefault(key, []).append({"epoch": e.epoch, "train_loss": e.train_loss, "val_loss": e.val_loss})
        if key == p.shown:
            p.epoch, p.epochs = e.epoch + 1, e.epochs

    def _done(self, e: CandidateDone) -> None:
        p = self.progress
        if e.edge is not None and tuple(e.edge) in p.training:
            p.training.remove(tuple(e.edge))
        p.count, p.done = e.count, e.index + 1

    def _step_done(self, e: StepDone) -> None:
        save_curves(self.search.state, self.search.save_dir)     # the seed's PNG curves, as the CLI writes them
        p = self.progress
        p.training, p.curves = [], {}
        p.phase = f"step {e.step} done: removed {', '.join(f'{i}→{j}' for i, j in e.record['removed'])}"

    def _finished(self, e: SearchFinished) -> None:
        p = self.progress
        p.epoch, p.done = p.epochs, p.count
        p.phase = _finished_phase(self.search.state)


def _finished_phase(state: dict) -> str:
    final, best = state["final"], state.get("best")
    text = f"finished: final cell ppl {formats.ppl(final['ppl'])}, {Cell.from_dict(final['cell']).n_edges} edges"
    if best:
        text += f"; best cell after step {best['step']} (score {formats.score(best['score'])}, " \
                f"{Cell.from_dict(best['cell']).n_edges} edges)"
    return text


def read_search(save) -> dict:
    """The search record saved in `save`; a LabError (one line) when there is none."""
    try:
        return read_state(save)
    except ConfigError as e:
        raise LabError(str(e)) from None
