"""The lab's runner: a search's lifecycle behind the panel, with no widgets.

    runner = Runner(config=lambda: cfg, on_change=print)   # config: a callable giving the settings
    runner.step()                 # one shrink step in this thread (the final training once shrunk)
    runner.start_run()            # all remaining steps in a background thread; pause(), stop(), wait()
    runner.open("search-run")     # continue a saved search
    runner.follow("search-run")   # watch a search another process writes, read-only
    runner.export("best")         # the best cell (or "final", "step:3") into <save>/export/

What the search's events told (candidates in training, their epochs so far, the progress bars)
is kept in `runner.progress` for the views; every change is passed on as `on_change(change)`: the
search's events (autoshrink.core.events), then the runner's own PhaseChanged, BusyChanged, SaveChanged
and Refreshed.

Training never waits for a figure: the thread that trains only hands its changes over (a queue)
and goes on; a drawing thread takes them, applies them to `progress` and tells `on_change`, holding
`runner.lock` (which the views hold while they read), so the lab redraws outside the training.
When changes come faster than the lab draws, the drawing thread skips a change that a later one
of the same kind (and candidate) supersedes: the views read `progress`, so the later one draws
both. A change made in another thread (a button, the follower) is told there, under the lock.
`step()`, `run()` and `wait()` return once every change so far is drawn.
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
from ..core.events import (
    CandidateDone,
    CandidateEpoch,
    CandidateStarted,
    SearchFinished,
    StepDone,
    TrainingDone,
    TrainingStarted,
)
from ..core.record import SearchRecord, done_steps, record_path, which_name
from ..core.runtime import resolve_device
from ..one_cell import cell_seed, start_embedding
from ..plot import save_curves
from ..search import Search
from ..search_folder import SAFE_ON_RESUME
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


def pick_cell(record: SearchRecord | dict, which="best") -> tuple[Cell, str]:
    """The cell `which` names in a search record (SearchRecord.cell_of: "best", "final", "step N";
    a plain record is typed first) and the file name export gives it (cell-best, cell-final, cell-step3)."""
    record = record if isinstance(record, SearchRecord) else SearchRecord.from_dict(record)
    try:
        return record.cell_of(which), f"cell-{which_name(which)}"
    except ConfigError as e:
        raise LabError(str(e)) from None


def saved_cell(save, which="best") -> Cell:
    """The cell `which` (see pick_cell) of the search saved in `save`."""
    return pick_cell(read_record(save), which)[0]


# What the runner tells its lab (on_change) besides the search's events.
@dataclass(frozen=True)
class PhaseChanged:
    """runner.progress.phase changed (to `phase`)."""
    phase: str = ""


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


class Runner:
    """One search behind a lab: made at the first step (so creating a runner reads nothing),
    resumed from a save folder, or followed read-only while another process writes it."""

    def __init__(self, config, on_change=None, on_event=None):
        self.config = config                  # callable -> SearchConfig (raises ConfigError)
        self.on_change = on_change            # the lab: redraw after each change
        self.on_event = on_event              # also told every search event, in the training thread
        self.search: Search | None = None     # the search written here, or one open read-only (opened or followed)
        self.following = False
        self.error: BaseException | None = None
        self.trace = ""                       # traceback text of an unexpected error
        self.progress = Progress()
        self.lock = threading.RLock()         # held while a change is applied and drawn
        self.worker = Worker("the lab is busy (Step/Run pressed); press Stop or call lab.wait() first",
                             on_end=self._job_ended)
        self._fresh = False                   # a candidate has started since Pause: the step may stop now
        self._watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._job_thread: threading.Thread | None = None   # the thread that trains (its changes are queued)
        self._queue: list = []                # changes handed over by the training thread, not yet drawn
        self._drawing = False
        self._drawer: threading.Thread | None = None
        self._cv = threading.Condition()
        self._snapshot: tuple = (None, None)  # (a copy of the record, its plain layout once asked for)

    # --- what there is: the search's record as last published (the live one is its writer's alone)
    def publish(self) -> None:
        """Copy the search's record as it is now for the views. Called by the thread that writes the
        record (the training thread, at each event; the follower, after a reread; this one, when
        the search is replaced), so a view never reads a record while it changes."""
        record = self.search.record if self.search is not None else None
        self._snapshot = (None if record is None else SearchRecord.from_dict(record.to_dict()), None)

    @property
    def record(self) -> SearchRecord | None:
        """The typed search record as last published (None before the first step of a new search)."""
        return self._snapshot[0]

    @property
    def state(self) -> dict | None:
        """The published record in its plain layout (None before the first step of a new search)."""
        record, state = self._snapshot
        if record is not None and state is None:
            state = record.to_dict()
            self._snapshot = (record, state) if self._snapshot[0] is record else self._snapshot
        return state

    @property
    def save_dir(self) -> Path | None:
        return self.search.save_dir if self.search is not None else None

    @property
    def history(self) -> list[dict]:
        return done_steps(self.state) if self.record is not None else []

    @property
    def finished(self) -> bool:
        return self.record is not None and self.record.final is not None

    @property
    def busy(self) -> bool:
        return self.worker.busy

    @property
    def pausing(self) -> bool:
        return self.worker.busy and self.worker.pausing

    @property
    def stopping(self) -> bool:
        return self.worker.busy and self.worker.stopping

    # --- telling the lab: queued from the training thread, drawn in the drawing thread
    def _tell(self, change) -> None:
        """Apply `change` to progress and tell the lab: handed over when the training thread tells it,
        else here, under the lock."""
        if threading.current_thread() is self._job_thread:
            self._post(change)
            return
        with self.lock:
            self._apply(change)
            if self.on_change is not None:
                self.on_change(change)

    def _post(self, change) -> None:
        with self._cv:
            self._queue.append(change)
            if self._drawer is None:
                self._drawer = threading.Thread(target=self._draw_loop, daemon=True)
                self._drawer.start()
            self._cv.notify_all()

    def _draw_loop(self) -> None:
        while True:
            with self._cv:
                if not self._queue:
                    self._cv.wait(IDLE_SECONDS)
                if not self._queue:                    # idle: the thread ends, the next change starts one
                    self._drawer = None
                    self._cv.notify_all()
                    return
                batch, self._queue, self._drawing = self._queue, [], True
            try:
                self._draw(batch)
            finally:
                with self._cv:
                    self._drawing = False
                    self._cv.notify_all()

    def _draw(self, batch: list) -> None:
        """Apply each change in order; tell the lab those that no later change of the batch supersedes.
        A change that fails to draw leaves its traceback in `trace` and the drawing goes on."""
        keys = [_key(c) for c in batch]
        for k, change in enumerate(batch):
            with self.lock:
                try:
                    self._apply(change)
                    if self.on_change is not None and keys[k] not in keys[k + 1:]:
                        self.on_change(change)
                except Exception:
                    self.trace = traceback.format_exc()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every change handed over so far is drawn."""
        if threading.current_thread() is self._drawer:
            return
        with self._cv:
            self._cv.wait_for(lambda: not self._queue and not self._drawing, timeout)

    def _apply(self, change) -> None:
        """What a change does to progress (in the drawing thread, or under the lock)."""
        handle = {CandidateStarted: self._started, CandidateEpoch: self._epoch, CandidateDone: self._done,
                  StepDone: self._step_done, SearchFinished: self._finished, PhaseChanged: self._phase,
                  BusyChanged: self._busy_changed}.get(type(change))
        if handle is not None:
            handle(change)

    def set_phase(self, phase: str) -> None:
        self._tell(PhaseChanged(phase))

    def _phase(self, change: PhaseChanged) -> None:
        self.progress.phase = change.phase

    def _busy_changed(self, _: BusyChanged) -> None:
        if not self.worker.busy:
            self.progress.training = []

    def _job_ended(self) -> None:
        self.publish()                    # what the job wrote last (a stopped step's rung, say)
        self._tell(BusyChanged())
        self._job_thread = None

    # --- making, opening and following a search
    def ensure_search(self) -> Search:
        if self.following:
            raise LabError("this lab follows a search another process writes (read-only); "
                           "open it again with SearchLab.open(save) once that run has ended")
        if self.search is not None and not self.search.readonly:
            return self.search
        cfg = self.config()
        if self.search is not None:         # opened read-only: resumed now that the settings allow it
            runtime = {k: getattr(cfg, k) for k in SAFE_ON_RESUME if k != "save"}
            self.search = Search.resume(self.search.save_dir, on_event=self._on_event, **runtime)
        else:
            save = fresh_folder(cfg.save)
            if save != cfg.save:
                self._tell(SaveChanged(save))
            self.search = Search(cfg.replace(save=save), on_event=self._on_event)
        self.publish()
        say_activity(self.search, "idle")
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
        self.search.close()
        self.search = branch
        self.publish()
        say_activity(branch, "idle")
        self._tell(SaveChanged(save))
        self.set_phase(f"branched after step {at_step} of {parent}: Step or Run continues the branch")
        return Path(save)

    def open(self, save) -> None:
        """Take up the search saved in `save`: resumed at once when its settings allow, else shown
        read-only until they are fixed (Step or Run tries again)."""
        self.search = open_search(save)
        self.publish()
        try:
            search = self.ensure_search()
            self.set_phase("opened" + (": finished" if search.finished else ": Step or Run continues it"))
        except ConfigError as e:
            self.set_phase(f"opened read-only ({e}); fix the setting, then Step or Run continues it")

    def follow(self, save, interval: float = 1.0) -> None:
        """Show the search saved in `save` read-only and reread it whenever search.json changes
        (Search.update, asked every `interval` seconds in a thread), e.g. while the command line runs it."""
        self.unfollow()
        self.search = open_search(save)
        self.publish()
        self.following = True
        self.set_phase("following (read-only)")
        self._watch.clear()
        self._watcher = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._watcher.start()

    def _poll(self, interval: float) -> None:
        while not self._watch.wait(interval):
            self.update()

    def update(self) -> bool:
        """Reread the followed search if search.json changed (SearchView.update); True when it did."""
        if not self.following:
            return False
        with self.lock:   # the new record and its redraw together: whoever holds the lock next sees both
            if not self.search.update():
                return False
            self.publish()
            finished = ": the search has finished" if self.search.finished else ""
            self.set_phase("following (read-only)" + finished)
            self._tell(Refreshed())
        return True

    def let_go(self) -> None:
        """Stop being the writer of the search on show (it stays on show, read-only): another process
        may then resume or delete it, and Step or Run here takes it up again. Refused while busy."""
        if self.busy:
            raise LabError("the lab is busy (Step/Run pressed); pause or stop it, then close it")
        self.unfollow()
        if self.search is not None and not self.search.readonly:
            save = self.search.save_dir
            self.search.close()
            self.search = open_search(save)
            self.publish()
            self.set_phase("closed (read-only): Step or Run takes the search up again")

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
        self.search = None
        self.publish()
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
        self._job_thread = threading.current_thread()
        self.error, self.trace = None, ""
        self._tell(BusyChanged())
        try:
            search = self.ensure_search()
            say_activity(search, "training")
            self.set_phase("starting")
            out = job(search)
            if search.finished:
                self.set_phase(_finished_phase(self.record))
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
            say_activity(self.search, "idle")

    def _sync(self, job) -> dict | None:
        try:
            return self.worker.run(lambda: self._work(job, raise_errors=True))
        finally:
            self.flush()

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
        """Wait for the background Step/Run to end, and for the lab to draw what it told."""
        self.worker.wait(timeout)
        if not self.worker.busy:
            self.flush(timeout)

    def export(self, which="best") -> tuple[dict[str, Path], Cell, str]:
        """Write the cell `which` (see pick_cell) into <save>/export/ as <name>.svg, .json, ...;
        returns (kind -> path, the cell, its name)."""
        from ..export import export_cell
        record = self.record
        if record is None:
            raise LabError("nothing to export yet: take a step first")
        if self.following:
            raise LabError("this lab follows a search another process writes (read-only); export with "
                           "`python -m autoshrink export --cell SAVE_DIR --out DIR` or once that run has ended")
        cell, name = pick_cell(record, which)
        return export_cell(cell, self.save_dir / "export", config=record.config, name=name), cell, name

    # --- events from the search (in the thread that trains)
    def _on_event(self, event) -> None:
        if isinstance(event, (CandidateStarted, CandidateEpoch)):
            self._fresh = isinstance(event, CandidateStarted)
        if not isinstance(event, CandidateEpoch):          # an epoch changes no record
            self.publish()
        self._tell(event)
        if self.on_event is not None:
            self.on_event(event)

    def _started(self, e: CandidateStarted) -> None:
        step, edge, position, count = e.step, e.edge, e.position, e.count
        p = self.progress
        key = tuple(edge) if edge is not None else "final"
        if edge is not None:
            p.training.append(key)
        p.curves[key] = []
        if p.shown not in p.training:
            p.shown = key
            p.epoch, p.epochs = 0, self.search.cfg.epochs
        pending = self.record.pending
        p.count, p.done = count, len(pending.candidates) if pending else 0
        if edge is None:
            p.phase = "training the final cell"
        elif len(p.training) == 1:
            p.phase = f"step {step}: training candidate {position + 1} of {count} (edge {edge[0]}→{edge[1]})"
        else:
            p.phase = f"step {step}: training {len(p.training)} candidates together"

    def _epoch(self, e: CandidateEpoch) -> None:
        p = self.progress
        key = tuple(e.edge) if e.edge is not None else "final"
        p.curves.setdefault(key, []).append({"epoch": e.epoch, "train_loss": e.train_loss, "val_loss": e.val_loss})
        if key == p.shown:
            p.epoch, p.epochs = e.epoch + 1, e.epochs

    def _done(self, e: CandidateDone) -> None:
        p = self.progress
        if e.edge is not None and tuple(e.edge) in p.training:
            p.training.remove(tuple(e.edge))
        p.count, p.done = e.count, e.done

    def _step_done(self, e: StepDone) -> None:
        save_curves(self.record, self.save_dir)     # the seed's PNG curves, as the CLI writes them
        p = self.progress
        p.training, p.curves = [], {}
        p.phase = f"step {e.step} done: removed {', '.join(f'{i}→{j}' for i, j in e.record['removed'])}"

    def _finished(self, e: SearchFinished) -> None:
        p = self.progress
        p.epoch, p.done = p.epochs, p.count
        p.phase = _finished_phase(self.record)


IDLE_SECONDS = 5.0    # a drawing thread with nothing to draw for this long ends


def say_activity(search, activity: str) -> None:
    """Tell the runs list what this lab does with the search it holds ("training" or "idle")."""
    lock = getattr(getattr(search, "folder", None), "lock", None)
    if lock is not None:
        lock.set_activity(activity)


def _key(change) -> tuple:
    """What a later change must share to supersede `change` when the lab falls behind: its kind,
    and for a candidate's event its step and edge."""
    return type(change), getattr(change, "step", None), tuple(getattr(change, "edge", None) or ())


def _finished_phase(record: SearchRecord) -> str:
    final, best = record.final, record.best
    text = f"finished: final cell ppl {formats.ppl(final.ppl)}, {Cell.from_dict(final.cell).n_edges} edges"
    if best:
        text += f"; best cell after step {best.step} (score {formats.score(best.score)}, " \
                f"{Cell.from_dict(best.cell).n_edges} edges)"
    return text


def read_search(save) -> dict:
    """The search record saved in `save`, in its plain layout; a LabError (one line) when there is none."""
    return read_record(save).to_dict()


def read_record(save) -> SearchRecord:
    """The typed search record saved in `save`; a LabError (one line) when there is none."""
    try:
        return SearchRecord.read(save)
    except ConfigError as e:
        raise LabError(str(e)) from None


def open_search(save) -> Search:
    """The search saved in `save`, open read-only (Search.open_readonly); a LabError (one line) when there is none."""
    try:
        return Search.open_readonly(save)
    except ConfigError as e:
        raise LabError(str(e)) from None
